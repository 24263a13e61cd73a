package migrate

import (
	"os"
	"testing"
)

func TestApplicationToFlux(t *testing.T) {
	gitSource := func(rev string) string {
		return gitAppHead + "  source:\n    repoURL: https://example.com/repo.git\n    path: deploy\n    targetRevision: '" + rev + "'\n"
	}
	tests := []struct {
		name     string
		spec     string
		want     map[string]string
		warnings []string
	}{{
		name: "HEAD follows the default branch",
		spec: gitSource("HEAD"),
		want: map[string]string{
			"GitRepository/app spec.url": "https://example.com/repo.git", "GitRepository/app spec.ref": "<none>",
			"GitRepository/app spec.interval": "3m0s", "GitRepository/app metadata.namespace": "flux-system",
			"Kustomization/app spec.path": "./deploy", "Kustomization/app spec.prune": "true",
			"Kustomization/app spec.targetNamespace": "web", "Kustomization/app spec.interval": "5m0s",
			"Kustomization/app spec.sourceRef": "kind: GitRepository\nname: app", "Kustomization/app spec.suspend": "<none>",
		},
	}, {
		name: "branch", spec: gitSource("main"),
		want: map[string]string{"GitRepository/app spec.ref": "branch: main"},
	}, {
		name: "tag", spec: gitSource("v1.2.3"),
		want: map[string]string{"GitRepository/app spec.ref": "tag: v1.2.3"},
	}, {
		name: "refs/tags name", spec: gitSource("refs/tags/release"),
		want: map[string]string{"GitRepository/app spec.ref": "tag: release"},
	}, {
		name: "semver range", spec: gitSource(">=1.0.0 <2.0.0"),
		want: map[string]string{"GitRepository/app spec.ref.semver": ">=1.0.0 <2.0.0"},
	}, {
		name: "commit", spec: gitSource("0123456789abcdef0123456789abcdef01234567"),
		want: map[string]string{"GitRepository/app spec.ref": "commit: 0123456789abcdef0123456789abcdef01234567"},
	}, {
		name: "short commit", spec: gitSource("0123abc"),
		want:     map[string]string{"GitRepository/app spec.ref": "branch: 0123abc"},
		warnings: []string{"spec.source.targetRevision looks like a short commit SHA"},
	}, {
		name: "remote cluster by server",
		spec: `  source: {repoURL: https://example.com/repo.git, path: .}
  destination: {server: "https://cluster.example.com:6443", namespace: web}
  syncPolicy: {automated: {prune: true, selfHeal: true}}
`,
		want: map[string]string{"Kustomization/app spec.kubeConfig": "secretRef:\n  key: value\n  name: cluster-example-com-6443-kubeconfig",
			"Kustomization/app spec.path": "./"},
		warnings: []string{"Application argocd/app: spec.destination.server is a remote cluster: written as spec.kubeConfig.secretRef cluster-example-com-6443-kubeconfig"},
	}, {
		name: "remote cluster by name",
		spec: `  source: {repoURL: https://example.com/repo.git, path: .}
  destination: {name: prod, namespace: web}
  syncPolicy: {automated: {prune: true, selfHeal: true}}
`,
		want:     map[string]string{"Kustomization/app spec.kubeConfig.secretRef.name": "prod-kubeconfig"},
		warnings: []string{"spec.destination.name is a remote cluster"},
	}, {
		name: "manual sync becomes suspended",
		spec: `  source: {repoURL: https://example.com/repo.git, path: .}
  destination: {server: https://kubernetes.default.svc, namespace: web}
`,
		want:     map[string]string{"Kustomization/app spec.suspend": "true", "Kustomization/app spec.prune": "false"},
		warnings: []string{"spec.syncPolicy.automated is off, and Flux has no manual sync mode"},
	}, {
		name: "automated without selfHeal",
		spec: `  source: {repoURL: https://example.com/repo.git, path: .}
  destination: {server: https://kubernetes.default.svc, namespace: web}
  syncPolicy: {automated: {prune: false}}
`,
		want:     map[string]string{"Kustomization/app spec.prune": "false", "Kustomization/app spec.suspend": "<none>"},
		warnings: []string{"spec.syncPolicy.automated.selfHeal is off"},
	}, {
		name: "kustomize options",
		spec: gitAppHead + `  source:
    repoURL: https://example.com/repo.git
    path: overlays/prod
    kustomize:
      namePrefix: pre-
      nameSuffix: -suf
      namespace: forced
      images: ["nginx:1.25", "old/app=new/app:2@sha256:abc", "registry:5000/x"]
      commonLabels: {team: web}
      labelWithoutSelector: true
      commonAnnotations: {note: hi}
      components: [../../components/a]
      ignoreMissingComponents: true
      patches:
      - patch: '[{"op": "replace", "path": "/spec/replicas", "value": 2}]'
        target: {kind: Deployment, name: web, labelSelector: "app=web"}
`,
		want: map[string]string{
			"Kustomization/app spec.namePrefix": "pre-", "Kustomization/app spec.nameSuffix": "-suf",
			"Kustomization/app spec.targetNamespace": "forced",
			"Kustomization/app spec.images[0]":       "name: nginx\nnewTag: \"1.25\"",
			"Kustomization/app spec.images[1]":       "digest: sha256:abc\nname: old/app\nnewName: new/app\nnewTag: \"2\"",
			"Kustomization/app spec.images[2]":       "name: registry:5000/x",
			"Kustomization/app spec.commonMetadata":  "annotations:\n  note: hi\nlabels:\n  team: web",
			"Kustomization/app spec.components":      "- ../../components/a", "Kustomization/app spec.ignoreMissingComponents": "true",
			"Kustomization/app spec.patches[0].target": "kind: Deployment\nlabelSelector: app=web\nname: web",
		},
	}, {
		name: "kustomize fields without equivalent",
		spec: gitAppHead + `  source:
    repoURL: https://example.com/repo.git
    path: app
    kustomize:
      commonLabels: {team: web}
      replicas: [{name: web, count: 3}]
      patches: [{path: patch.yaml}]
      version: v5.0.0
`,
		want: map[string]string{"Kustomization/app spec.patches": "<none>"},
		warnings: []string{
			"spec.source.kustomize.commonLabels become commonMetadata.labels",
			"spec.source.kustomize.replicas has no Flux equivalent",
			"spec.source.kustomize.patches[0].path has no Flux equivalent",
			"spec.source.kustomize.version has no Flux equivalent",
		},
	}, {
		name: "sync options, namespace creation and retries",
		spec: `  source: {repoURL: https://example.com/repo.git, path: app}
  destination: {server: https://kubernetes.default.svc, namespace: web}
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true, ServerSideApply=true, PruneLast=true, Replace=true, FailOnSharedResource=true]
    managedNamespaceMetadata: {labels: {team: web}}
    retry: {limit: 5, backoff: {duration: "30", factor: 2}}
`,
		want: map[string]string{"Namespace/web metadata.labels": "team: web", "Kustomization/app spec.retryInterval": "30s"},
		warnings: []string{
			"Application argocd/app: spec.syncPolicy.syncOptions[Replace=true] has no Flux equivalent",
			"spec.syncPolicy.syncOptions[FailOnSharedResource=true] has no Flux equivalent",
			"spec.syncPolicy.retry.limit has no Flux equivalent",
			"spec.syncPolicy.retry.backoff.factor has no Flux equivalent",
		},
	}, {
		name: "project, ignoreDifferences, info and finalizer",
		spec: `  project: team-a
  source: {repoURL: https://example.com/repo.git, path: app, directory: {recurse: true, exclude: "*.json"}}
  destination: {server: https://kubernetes.default.svc, namespace: web}
  syncPolicy: {automated: {prune: true, selfHeal: true}}
  ignoreDifferences: [{group: apps, kind: Deployment, jsonPointers: [/spec/replicas]}]
  info: [{name: docs, value: https://example.com}]
`,
		warnings: []string{
			`spec.project "team-a" has no Flux equivalent`,
			"spec.ignoreDifferences has no Flux equivalent",
			"spec.info has no Flux equivalent",
			"spec.source.directory.exclude has no Flux equivalent",
		},
	}, {
		name:     "plugin",
		spec:     gitAppHead + "  source: {repoURL: https://example.com/repo.git, path: app, plugin: {name: cdk8s}}\n",
		warnings: []string{"spec.source.plugin has no Flux equivalent"},
	}, {
		name: "chart from a Helm repository",
		spec: `  source:
    repoURL: https://charts.example.com
    chart: web
    targetRevision: 1.2.*
    helm:
      releaseName: web-release
      values: |
        replicas: 2
        image: {tag: old}
      parameters: [{name: image.tag, value: "new"}, {name: list, value: "a,b"}, {name: port, value: "80", forceString: true}]
      skipCrds: true
      passCredentials: true
  destination: {server: https://kubernetes.default.svc, namespace: web}
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true]
    retry: {limit: 3}
`,
		want: map[string]string{
			"HelmRepository/app spec.url": "https://charts.example.com", "HelmRepository/app spec.type": "<none>",
			"HelmRepository/app spec.passCredentials": "true",
			"HelmRelease/app spec.chart.spec":         "chart: web\nsourceRef:\n  kind: HelmRepository\n  name: app\nversion: 1.2.*",
			"HelmRelease/app spec.values":             "image:\n  tag: new\nlist: a,b\nport: \"80\"\nreplicas: 2",
			"HelmRelease/app spec.releaseName":        "web-release", "HelmRelease/app spec.targetNamespace": "web",
			"HelmRelease/app spec.install":      "crds: Skip\ncreateNamespace: true\nremediation:\n  retries: 3",
			"HelmRelease/app spec.upgrade.crds": "Skip", "HelmRelease/app spec.driftDetection.mode": "enabled",
		},
	}, {
		name: "chart from an OCI registry",
		spec: gitAppHead + "  source: {repoURL: oci://ghcr.io/org/charts, chart: web, targetRevision: 1.0.0}\n",
		want: map[string]string{"HelmRepository/app spec.type": "oci", "HelmRepository/app spec.url": "oci://ghcr.io/org/charts",
			"HelmRelease/app spec.releaseName": "app", "HelmRelease/app spec.upgrade.crds": "CreateReplace"},
	}, {
		name: "OCI artifact of manifests",
		spec: gitAppHead + "  source: {repoURL: oci://ghcr.io/org/manifests, path: ., targetRevision: v1}\n",
		want: map[string]string{"OCIRepository/app spec.ref.tag": "v1", "Kustomization/app spec.sourceRef.kind": "OCIRepository"},
	}, {
		name: "chart in a Git path",
		spec: gitAppHead + `  source:
    repoURL: https://example.com/repo.git
    path: charts/web
    targetRevision: main
    helm:
      valueFiles: [values-prod.yaml, $values/env/prod.yaml]
      valuesObject: {replicas: 3}
      values: "replicas: 1"
      ignoreMissingValueFiles: true
`,
		want: map[string]string{
			"GitRepository/app spec.ref.branch": "main",
			"HelmRelease/app spec.chart.spec":   "chart: ./charts/web\nignoreMissingValuesFiles: true\nreconcileStrategy: Revision\nsourceRef:\n  kind: GitRepository\n  name: app\nvaluesFiles:\n- charts/web/values.yaml\n- charts/web/values-prod.yaml",
			"HelmRelease/app spec.values":       "replicas: 3",
		},
		warnings: []string{
			`spec.source.helm.valueFiles[1] "$values/env/prod.yaml" is outside the chart`,
			"spec.source.helm.values is ignored because valuesObject is set",
		},
	}, {
		name: "Helm without prune",
		spec: `  source: {repoURL: https://charts.example.com, chart: web, targetRevision: 1.0.0, helm: {fileParameters: [{name: a, path: b}]}}
  destination: {server: https://kubernetes.default.svc, namespace: web}
  syncPolicy: {automated: {selfHeal: false}}
`,
		want: map[string]string{"HelmRelease/app spec.driftDetection": "<none>"},
		warnings: []string{
			"spec.syncPolicy.automated.prune is off, but a Helm upgrade deletes",
			"spec.source.helm.fileParameters has no Flux equivalent",
		},
	}, {
		name: "several sources",
		spec: gitAppHead + `  sources:
  - {repoURL: https://charts.example.com, chart: web, targetRevision: 1.0.0, helm: {valueFiles: [$values/prod.yaml]}}
  - {repoURL: https://example.com/values.git, ref: values}
  - {repoURL: https://example.com/extra.git, path: extra, name: Extra}
`,
		want: map[string]string{"HelmRelease/app-0 spec.chart.spec.chart": "web", "Kustomization/app-extra spec.path": "./extra",
			"GitRepository/app-extra spec.url": "https://example.com/extra.git"},
		warnings: []string{
			`spec.sources[0].helm.valueFiles[0] "$values/prod.yaml" is outside the chart`,
			`spec.sources[1].ref "values" only provides $values value files`,
			"spec.sources become separate Flux objects",
		},
	}, {
		name: "source hydrator",
		spec: gitAppHead + `  sourceHydrator:
    drySource: {repoURL: https://example.com/repo.git, targetRevision: main, path: dry}
    syncSource: {targetBranch: env/prod, path: prod}
`,
		want:     map[string]string{"Kustomization/app spec.path": "./dry", "GitRepository/app spec.ref.branch": "main"},
		warnings: []string{"spec.sourceHydrator has no Flux equivalent: the Flux objects render the dry source directly"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := convert(t, app(tt.spec), Defaults())
			checkFields(t, rendered(t, res), tt.want)
			checkWarnings(t, res, tt.warnings)
		})
	}
}

func TestApplicationToFluxSeed(t *testing.T) {
	data, err := os.ReadFile("../../../test/e2e/testdata/seed-examples/01-argo-application-guestbook.yaml")
	if err != nil {
		t.Skip(err)
	}
	o := Defaults()
	o.Strict = true
	o.FluxNamespace = "gitops"
	res := convert(t, string(data), o)
	checkFields(t, rendered(t, res), map[string]string{
		"GitRepository/guestbook metadata.namespace":   "gitops",
		"Kustomization/guestbook spec.path":            "./guestbook",
		"Kustomization/guestbook spec.targetNamespace": "guestbook",
		"Kustomization/guestbook spec.prune":           "true",
	})
	if len(res.Objects) != 2 {
		t.Errorf("%d objects, want a GitRepository and a Kustomization", len(res.Objects))
	}
}
