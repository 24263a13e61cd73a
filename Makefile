# Tether's developer entry points. `make help` lists them.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

GO          ?= go
LOCAL       := $(CURDIR)/.local
LOCALBIN    := $(LOCAL)/bin
CONTROLLER_GEN := $(LOCALBIN)/controller-gen
HELM        := $(LOCALBIN)/helm
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -X github.com/tether-gitops/tether/internal/version.Version=$(VERSION)
GOTEST_FLAGS ?= -count=1 -timeout 40m
FUZZTIME    ?= 30s
# make test fuzzes each target for less, to keep CI within its budget as
# targets are added; make fuzz takes FUZZTIME.
TEST_FUZZTIME ?= 20s

.PHONY: help
help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-14s %s\n", $$1, $$2}'

.PHONY: build
build: ui ## Build bin/tether (with the web UI embedded)
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/tether ./cmd/tether

# The web UI (ui/, TypeScript + Preact, built by Vite) is embedded by the
# Go build from internal/ui/dist; it is rebuilt only when its sources or
# lockfile change.
NPM      ?= npm
UI_SRC   := $(shell find ui/src ui/public -type f 2>/dev/null) ui/index.html ui/package.json ui/package-lock.json ui/vite.config.ts ui/tsconfig.json
UI_DIST  := internal/ui/dist/index.html
UI_DEPS  := ui/node_modules/.package-lock.json

.PHONY: node
node: ## Install Node.js and npm from Debian's packages when missing
	@command -v npm >/dev/null 2>&1 || { echo "installing nodejs and npm"; apt-get update -qq && apt-get install -y -qq nodejs npm; }
	@node -e 'const [a, b] = process.versions.node.split(".").map(Number); if (a < 20 || (a === 20 && b < 19)) { console.error("the UI build needs Node.js 20.19 or newer; this is " + process.version); process.exit(1); }'

$(UI_DEPS): ui/package-lock.json | node
	cd ui && $(NPM) ci --no-audit --no-fund
	@touch $@

$(UI_DIST): $(UI_DEPS) $(UI_SRC)
	cd ui && $(NPM) run build

.PHONY: ui
ui: $(UI_DIST) ## Build the web UI into internal/ui/dist (embedded in the binary)

.PHONY: ui-test
ui-test: $(UI_DEPS) ## Run the UI's component tests (Vitest)
	cd ui && $(NPM) test

.PHONY: tools
tools: $(CONTROLLER_GEN) ## Build the code generators into .local/bin

$(CONTROLLER_GEN): hack/tools/go.mod hack/tools/go.sum
	cd hack/tools && GOFLAGS=-mod=mod $(GO) build -o $(CONTROLLER_GEN) sigs.k8s.io/controller-tools/cmd/controller-gen

.PHONY: helm
helm: $(HELM) ## Build the helm CLI of the Helm SDK in go.mod into .local/bin (the Helm tests run it)

# Rebuilt only when go.mod or go.sum change. The version printed by `helm
# version` is the module's, as Helm's own release builds set it.
$(HELM): go.mod go.sum
	@mkdir -p $(LOCALBIN)
	$(GO) build -ldflags "-X helm.sh/helm/v4/internal/version.version=$$($(GO) list -m -f '{{.Version}}' helm.sh/helm/v4)" -o $(HELM) helm.sh/helm/v4/cmd/helm

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Regenerate deepcopy code and the CRDs in config/crd/bases
	$(CONTROLLER_GEN) object paths=./api/...
	rm -rf config/crd/bases
	$(CONTROLLER_GEN) crd:generateEmbeddedObjectMeta=true paths=./api/... output:crd:dir=./config/crd/bases

.PHONY: chart
chart: ## Regenerate the Helm chart config/helm/tether from config/install/base (a test fails when they differ)
	$(GO) run ./hack/helmchart

.PHONY: testcluster
testcluster: ## Build the test control plane (etcd, kube-*, kwok) into .local/testcluster
	bash hack/testcluster/build.sh

.PHONY: prereqs
prereqs: ## Install what tests need beyond Go (git for the test Git server, Chromium for the UI, Prometheus for the alert rules), when missing
	@command -v git >/dev/null 2>&1 || { echo "installing git"; apt-get update -qq && apt-get install -y -qq git; }
	@command -v chromium >/dev/null 2>&1 || { echo "installing chromium (the UI's browser tests)"; apt-get update -qq && apt-get install -y -qq chromium; }
	@command -v prometheus >/dev/null 2>&1 || { echo "installing prometheus (the alert rules' test)"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus; }

.PHONY: test
test: prereqs tools testcluster helm ui ui-test ## Run unit, integration and end-to-end tests against real components (the UI's in headless Chromium)
	$(GO) vet ./...
	@mkdir -p $(LOCAL)
	FUZZTIME=$(TEST_FUZZTIME) bash hack/fuzz.sh
	$(GO) test $(GOTEST_FLAGS) ./... 2>&1 | tee $(LOCAL)/test.log

.PHONY: fuzz
fuzz: ## Run every fuzz target (parsers of hostile input) for FUZZTIME each (default 30s; make test runs them first)
	FUZZTIME=$(FUZZTIME) bash hack/fuzz.sh

.PHONY: test-short
test-short: ## Run only the tests that need no cluster
	$(GO) test -short -count=1 ./...

.PHONY: bench
bench: prereqs testcluster helm ui ## Run the benchmarks in bench/ against real components and print their tables
	TETHER_BENCH=1 TETHER_BENCH_RESULTS_DIR=$(CURDIR)/bench/results TETHER_BENCH_OUT=$(LOCAL)/bench-gitfetch.md TETHER_BENCH_OUT_KUSTOMIZE=$(LOCAL)/bench-kustomize.md TETHER_BENCH_OUT_APPLICATIONS=$(LOCAL)/bench-applications.md TETHER_BENCH_OUT_APPLICATIONS_SECRET=$(LOCAL)/bench-applications-secret.md TETHER_BENCH_OUT_HELMRELEASES=$(LOCAL)/bench-helmreleases.md TETHER_BENCH_OUT_API=$(LOCAL)/bench-api.md $(GO) test -p 1 -count=1 -v -timeout 90m ./bench/... 2>&1 | tee $(LOCAL)/bench.log | grep -vE '^\s*(I[0-9]{4}|W[0-9]{4})'

.PHONY: cluster-up
cluster-up: testcluster ## Start a local control plane in the background; kubeconfig in .local/kubeconfig
	@mkdir -p $(LOCAL)
	$(GO) build -o $(LOCALBIN)/cluster ./hack/cluster
	@rm -f $(LOCAL)/kubeconfig
	nohup $(LOCALBIN)/cluster up -dir $(LOCAL)/cluster -kubeconfig $(LOCAL)/kubeconfig >$(LOCAL)/cluster.log 2>&1 &
	@for i in $$(seq 1 180); do \
		if [ -s $(LOCAL)/kubeconfig ]; then echo "cluster up: export KUBECONFIG=$(LOCAL)/kubeconfig"; exit 0; fi; \
		if ! pgrep -f "$(LOCALBIN)/cluster up" >/dev/null; then cat $(LOCAL)/cluster.log; exit 1; fi; \
		sleep 1; \
	done; cat $(LOCAL)/cluster.log; exit 1

.PHONY: cluster-down
cluster-down: ## Stop the local control plane started by cluster-up
	@if [ -x $(LOCALBIN)/cluster ]; then $(LOCALBIN)/cluster down -dir $(LOCAL)/cluster -kubeconfig $(LOCAL)/kubeconfig; \
	else echo "cluster down: no cluster is running"; fi

.PHONY: demo
demo: prereqs testcluster ui ## Start a control plane, a Git server and Tether, and deploy the guestbook (DEMO_ONCE=1: exit once Synced and Healthy)
	@mkdir -p $(LOCALBIN)
	$(GO) build -ldflags "$(LDFLAGS)" -o $(LOCALBIN)/tether ./cmd/tether
	$(GO) build -o $(LOCALBIN)/demo ./hack/demo
	$(LOCALBIN)/demo -dir $(LOCAL)/demo -tether $(LOCALBIN)/tether
