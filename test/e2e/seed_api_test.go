package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/yaml"

	"github.com/tether-gitops/tether/internal/testenv"
)

const seedDir = "testdata/seed-examples"

// TestSeedCopyMatchesShared keeps testdata/seed-examples equal to the
// project's shared seed examples, when those sit beside the repository.
func TestSeedCopyMatchesShared(t *testing.T) {
	shared := "../../../shared/seed-examples"
	entries, err := os.ReadDir(shared)
	if err != nil {
		t.Skipf("no shared seed examples beside the repository: %v", err)
	}
	for _, e := range entries {
		want, _ := os.ReadFile(filepath.Join(shared, e.Name()))
		got, err := os.ReadFile(filepath.Join(seedDir, e.Name()))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s: copy it into %s", filepath.Join(seedDir, e.Name()), shared, seedDir)
		}
	}
}

// TestSeedExamplesAreAcceptedAsWritten applies every Kubernetes document of
// the seed examples with server-side apply and checks that reading each one
// back returns every field the user wrote.
func TestSeedExamplesAreAcceptedAsWritten(t *testing.T) {
	applier := newApplier(t)
	files, err := filepath.Glob(filepath.Join(seedDir, "*.yaml"))
	if err != nil || len(files) < 13 {
		t.Fatalf("found %d seed YAML files (%v), want 13", len(files), err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			objs := seedObjects(t, file)
			for _, obj := range objs {
				checkAppliedAsWritten(t, applier, obj)
			}
		})
	}
}

// seedObjects returns the Kubernetes objects of a seed file. The Prometheus
// rules file is a plain rules document, so it is wrapped in a
// PrometheusRule as a user of the Prometheus Operator would.
func seedObjects(t *testing.T, file string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(filepath.Base(file), "13-") {
		var rules map[string]any
		if err := yaml.Unmarshal(data, &rules); err != nil {
			t.Fatal(err)
		}
		return []*unstructured.Unstructured{{Object: map[string]any{
			"apiVersion": "monitoring.coreos.com/v1",
			"kind":       "PrometheusRule",
			"metadata":   map[string]any{"name": "gitops-rules", "namespace": "argocd"},
			"spec":       rules,
		}}}
	}
	objs, err := testenv.ReadObjects(data)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if len(objs) == 0 {
		t.Fatalf("%s: no documents", file)
	}
	return objs
}

func checkAppliedAsWritten(t *testing.T, applier *testenv.Applier, obj *unstructured.Unstructured) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	what := obj.GetKind() + " " + obj.GetNamespace() + "/" + obj.GetName()
	if _, err := applier.Apply(ctx, obj); err != nil {
		t.Fatalf("apply %s: %v", what, err)
	}
	ri, err := applier.Resource(obj)
	if err != nil {
		t.Fatal(err)
	}
	live, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
	if err != nil {
		t.Fatalf("read back %s: %v", what, err)
	}
	want := obj.Object
	if obj.GetKind() == "Secret" {
		want = secretAsStored(want)
	}
	for _, d := range droppedFields(want, live.Object, "") {
		t.Errorf("%s: %s", what, d)
	}
}

// TestOldVersionFieldsSurviveInEveryVersion writes v1beta1-only fields and
// reads the object back through the storage version and the old one.
func TestOldVersionFieldsSurviveInEveryVersion(t *testing.T) {
	applier := newApplier(t)
	old := mustObject(t, `
apiVersion: kustomize.toolkit.fluxcd.io/v1beta1
kind: Kustomization
metadata: {name: old-fields, namespace: flux-system}
spec:
  interval: 5m
  path: ./deploy
  prune: true
  validation: client
  sourceRef: {kind: GitRepository, name: podinfo}
  patchesStrategicMerge:
    - apiVersion: apps/v1
      kind: Deployment
      metadata: {name: podinfo}
      spec: {replicas: 3}
`)
	checkAppliedAsWritten(t, applier, old)
	ctx := context.Background()
	for _, version := range []string{"v1", "v1beta2", "v1beta1"} {
		probe := old.DeepCopy()
		probe.SetAPIVersion("kustomize.toolkit.fluxcd.io/" + version)
		ri, err := applier.Resource(probe)
		if err != nil {
			t.Fatal(err)
		}
		live, err := ri.Get(ctx, "old-fields", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get as %s: %v", version, err)
		}
		want := old.DeepCopy()
		want.SetAPIVersion(probe.GetAPIVersion())
		for _, d := range droppedFields(want.Object, live.Object, "") {
			t.Errorf("read as %s: %s", version, d)
		}
	}
}

// TestInvalidDocumentsAreRejectedNamingTheField checks that the API server
// refuses wrong types and unknown enum values with the field's path, and
// that nothing is stored.
func TestInvalidDocumentsAreRejectedNamingTheField(t *testing.T) {
	applier := newApplier(t)
	tests := []struct {
		name, doc, field string
	}{
		{"duration given as a number", `
apiVersion: kustomize.toolkit.fluxcd.io/v1beta1
kind: Kustomization
metadata: {name: bad-interval, namespace: flux-system}
spec: {interval: 10, path: ./, prune: true, sourceRef: {kind: GitRepository, name: podinfo}}
`, "spec.interval"},
		// CVE-2022-39272: an interval no controller can decode must be
		// refused up front, not stop the whole kind from reconciling.
		{"CVE-2022-39272 undecodable interval", `
apiVersion: kustomize.toolkit.fluxcd.io/v1beta1
kind: Kustomization
metadata: {name: bad-interval-text, namespace: flux-system}
spec: {interval: every five minutes, path: ./, prune: true, sourceRef: {kind: GitRepository, name: podinfo}}
`, "spec.interval"},
		{"CVE-2022-39272 undecodable timeout on an old GitRepository", `
apiVersion: source.toolkit.fluxcd.io/v1beta1
kind: GitRepository
metadata: {name: bad-timeout-text, namespace: flux-system}
spec: {interval: 1m, timeout: soon, url: https://example.com/r.git}
`, "spec.timeout"},
		{"boolean given as a string", `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: bad-prune, namespace: argocd}
spec:
  project: default
  source: {repoURL: https://example.com/r.git, path: a}
  destination: {server: https://kubernetes.default.svc, namespace: default}
  syncPolicy: {automated: {prune: "yes"}}
`, "spec.syncPolicy.automated.prune"},
		{"integer given as a word", `
apiVersion: helm.toolkit.fluxcd.io/v2beta1
kind: HelmRelease
metadata: {name: bad-retries, namespace: default}
spec:
  interval: 5m
  chart: {spec: {chart: podinfo, sourceRef: {kind: HelmRepository, name: podinfo}}}
  install: {remediation: {retries: three}}
`, "spec.install.remediation.retries"},
		{"string given as a list", `
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: bad-branch, namespace: flux-system}
spec: {interval: 1m, url: https://example.com/r.git, ref: {branch: [main]}}
`, "spec.ref.branch"},
		{"unknown enum: deletion policy", `
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: bad-policy, namespace: flux-system}
spec: {interval: 5m, prune: true, deletionPolicy: Sometimes, sourceRef: {kind: GitRepository, name: podinfo}}
`, "spec.deletionPolicy"},
		{"unknown enum: source kind", `
apiVersion: kustomize.toolkit.fluxcd.io/v1beta1
kind: Kustomization
metadata: {name: bad-source-kind, namespace: flux-system}
spec: {interval: 5m, prune: true, sourceRef: {kind: SvnRepository, name: podinfo}}
`, "spec.sourceRef.kind"},
		{"unknown enum: helm repository type", `
apiVersion: source.toolkit.fluxcd.io/v1beta2
kind: HelmRepository
metadata: {name: bad-type, namespace: flux-system}
spec: {interval: 5m, url: https://charts.example.com, type: ftp}
`, "spec.type"},
		{"unknown enum: image policy is not one", `
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: {name: bad-provider, namespace: flux-system}
spec: {type: carrier-pigeon}
`, "spec.type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := mustObject(t, tt.doc)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			ri, err := applier.Resource(obj)
			if err != nil {
				t.Fatal(err)
			}
			// kubectl create / client-side apply: 422 Invalid naming the field.
			_, err = ri.Create(ctx, obj, metav1.CreateOptions{})
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tt.field) {
				t.Errorf("create: want 422 Invalid naming %s, got %v", tt.field, err)
			}
			// Server-side apply: the API server rejects type errors while
			// building the typed patch (it answers 500 for those, an
			// upstream quirk) and enum errors with 422; both name the field.
			_, err = applier.Apply(ctx, obj)
			if err == nil || !strings.Contains(err.Error(), tt.field) {
				t.Errorf("server-side apply: want an error naming %s, got %v", tt.field, err)
			}
			if _, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("rejected object was stored anyway (get: %v)", err)
			}
		})
	}
}

// TestShortNamesAndPrinterColumns checks what `kubectl get` users rely on.
func TestShortNamesAndPrinterColumns(t *testing.T) {
	e := cluster(t)
	dc, err := discovery.NewDiscoveryClientForConfig(e.Config)
	if err != nil {
		t.Fatal(err)
	}
	shortNames := map[string]map[string][]string{
		"argoproj.io/v1alpha1":                   {"applications": {"app", "apps"}, "appprojects": {"appproj", "appprojs"}},
		"source.toolkit.fluxcd.io/v1":            {"gitrepositories": {"gitrepo"}, "helmrepositories": {"helmrepo"}, "helmcharts": {"hc"}, "ocirepositories": {"ocirepo"}},
		"source.toolkit.fluxcd.io/v1beta1":       {"gitrepositories": {"gitrepo"}},
		"kustomize.toolkit.fluxcd.io/v1":         {"kustomizations": {"ks"}},
		"kustomize.toolkit.fluxcd.io/v1beta1":    {"kustomizations": {"ks"}},
		"helm.toolkit.fluxcd.io/v2":              {"helmreleases": {"hr"}},
		"helm.toolkit.fluxcd.io/v2beta1":         {"helmreleases": {"hr"}},
		"image.toolkit.fluxcd.io/v1beta1":        {"imagerepositories": nil, "imagepolicies": nil, "imageupdateautomations": nil},
		"notification.toolkit.fluxcd.io/v1beta3": {"providers": nil, "alerts": nil},
		"notification.toolkit.fluxcd.io/v1":      {"receivers": nil},
		"bitnami.com/v1alpha1":                   {"sealedsecrets": nil},
	}
	for gv, resources := range shortNames {
		list, err := dc.ServerResourcesForGroupVersion(gv)
		if err != nil {
			t.Errorf("%s not served: %v", gv, err)
			continue
		}
		served := map[string][]string{}
		for _, r := range list.APIResources {
			served[r.Name] = r.ShortNames
		}
		for res, want := range resources {
			got, ok := served[res]
			if !ok {
				t.Errorf("%s/%s not served", gv, res)
			}
			for _, w := range want {
				if !strings.Contains(","+strings.Join(got, ",")+",", ","+w+",") {
					t.Errorf("%s/%s short names %v lack %q", gv, res, got, w)
				}
			}
		}
	}

	columns := map[string][]string{
		"/apis/argoproj.io/v1alpha1/applications":                  {"Sync Status", "Health Status"},
		"/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations":      {"Ready", "Status"},
		"/apis/kustomize.toolkit.fluxcd.io/v1beta1/kustomizations": {"Ready", "Status"},
		"/apis/source.toolkit.fluxcd.io/v1beta1/gitrepositories":   {"URL", "Ready", "Status"},
		"/apis/helm.toolkit.fluxcd.io/v2/helmreleases":             {"Ready", "Status"},
	}
	for path, want := range columns {
		var table metav1.Table
		raw, err := dc.RESTClient().Get().AbsPath(path).
			SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").
			DoRaw(context.Background())
		if err == nil {
			err = json.Unmarshal(raw, &table)
		}
		if err != nil {
			t.Errorf("table of %s: %v", path, err)
			continue
		}
		var names []string
		for _, c := range table.ColumnDefinitions {
			names = append(names, c.Name)
		}
		for _, w := range want {
			if !strings.Contains(strings.Join(names, "|"), w) {
				t.Errorf("%s columns %v lack %q", path, names, w)
			}
		}
	}
}

func mustObject(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	objs, err := testenv.ReadObjects([]byte(doc))
	if err != nil || len(objs) != 1 {
		t.Fatalf("parse test document: %v (%d objects)", err, len(objs))
	}
	return objs[0]
}
