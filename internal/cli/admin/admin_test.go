package admin

import (
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func obj(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestCleanStripsWhatBelongsToOneCluster(t *testing.T) {
	app := obj(t, `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: guestbook
  namespace: argocd
  uid: 1f2e
  resourceVersion: "42"
  generation: 3
  creationTimestamp: "2026-01-01T00:00:00Z"
  managedFields: [{manager: kubectl}]
  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: x, uid: 9a}]
  finalizers: [resources-finalizer.argocd.argoproj.io]
  labels: {team: web}
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"secret":"s3cr3t"}'
    argocd.argoproj.io/refresh: hard
spec:
  project: default
operation:
  sync: {revision: HEAD}
status:
  sync: {status: Synced}
`)
	Clean(app)
	want := obj(t, `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: guestbook
  namespace: argocd
  finalizers: [resources-finalizer.argocd.argoproj.io]
  labels: {team: web}
spec:
  project: default
`)
	if !reflect.DeepEqual(app.Object, want.Object) {
		got, _ := yaml.Marshal(app.Object)
		t.Errorf("cleaned:\n%s", got)
	}

	// Only an Application's operation is a request to drop; another
	// kind's top-level field of that name is its own.
	other := obj(t, "apiVersion: x.dev/v1\nkind: Thing\nmetadata: {name: a, annotations: {keep: me}}\noperation: mine\n")
	Clean(other)
	if other.Object["operation"] != "mine" || other.GetAnnotations()["keep"] != "me" {
		t.Errorf("Clean took what it should keep: %v", other.Object)
	}
}

func TestReferencedNamesEverySecretAndConfigMapOfAFluxObject(t *testing.T) {
	hr := obj(t, `
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: podinfo, namespace: apps}
spec:
  kubeConfig: {secretRef: {name: remote}}
  valuesFrom:
  - {kind: ConfigMap, name: values}
  - {kind: Secret, name: secret-values, valuesKey: v}
  - {kind: Other, name: ignored}
`)
	ks := obj(t, `
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: infra, namespace: flux-system}
spec:
  decryption: {provider: sops, secretRef: {name: sops-age}}
  postBuild: {substituteFrom: [{kind: ConfigMap, name: vars}]}
`)
	repo := obj(t, `
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: podinfo, namespace: flux-system}
spec:
  secretRef: {name: git-auth}
  proxySecretRef: {name: proxy}
  verify: {mode: HEAD, secretRef: {name: pgp}}
`)
	for _, tc := range []struct {
		o    *unstructured.Unstructured
		want []ref
	}{
		{hr, []ref{{"Secret", "apps", "remote"}, {"ConfigMap", "apps", "values"}, {"Secret", "apps", "secret-values"}}},
		{ks, []ref{{"Secret", "flux-system", "sops-age"}, {"ConfigMap", "flux-system", "vars"}}},
		{repo, []ref{{"Secret", "flux-system", "git-auth"}, {"Secret", "flux-system", "proxy"}, {"Secret", "flux-system", "pgp"}}},
	} {
		if got := referenced(tc.o); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: referenced = %v, want %v", tc.o.GetKind(), got, tc.want)
		}
	}
}

func TestDecodeReadsStreamsAndKubectlLists(t *testing.T) {
	stream := `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: b, namespace: argocd, uid: u1}
status: {health: {status: Healthy}}
---
---
apiVersion: v1
kind: List
items:
- apiVersion: argoproj.io/v1alpha1
  kind: AppProject
  metadata: {name: prod, namespace: argocd, resourceVersion: "7"}
- apiVersion: v1
  kind: Secret
  metadata: {name: cluster-a, namespace: argocd, labels: {argocd.argoproj.io/secret-type: cluster}}
metadata: {resourceVersion: ""}
`
	in, err := Decode(strings.NewReader(stream), "backup.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, i := range in {
		if _, ok := i.Obj.Object["status"]; ok || i.Obj.GetUID() != "" || i.Obj.GetResourceVersion() != "" {
			t.Errorf("%s not cleaned: %v", i.Source, i.Obj.Object)
		}
		got = append(got, i.Obj.GetKind()+"/"+i.Obj.GetName()+" from "+i.Source)
	}
	want := []string{
		"Application/b from backup.yaml (document 1)",
		"AppProject/prod from backup.yaml (document 2, item 1)",
		"Secret/cluster-a from backup.yaml (document 2, item 2)",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded %q, want %q", got, want)
	}
}

func TestDecodeNamesTheBadDocument(t *testing.T) {
	for _, tc := range []struct{ name, stream, want string }{
		{"no kind", "apiVersion: v1\nmetadata: {name: a}\n", "backup.yaml (document 1): kind: missing"},
		{"no name", "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", "backup.yaml (document 1): metadata.name: missing (ConfigMap)"},
		{"no apiVersion in a list", "apiVersion: v1\nkind: List\nitems:\n- {kind: Secret, metadata: {name: a}}\n",
			"backup.yaml (document 1, item 1): apiVersion: missing"},
		{"not YAML", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nkind: [\n", "backup.yaml: document 2:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(tc.stream), "backup.yaml")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestSortForRestorePutsSettingsBeforeWhatUsesThem(t *testing.T) {
	var objs []*unstructured.Unstructured
	for _, doc := range []string{
		"apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a, namespace: argocd}",
		"apiVersion: x.dev/v1\nkind: Widget\nmetadata: {name: w}",
		"apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: k, namespace: flux-system}",
		"apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: g, namespace: flux-system}",
		"apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {name: p, namespace: argocd}",
		"apiVersion: v1\nkind: Secret\nmetadata: {name: s2, namespace: b}",
		"apiVersion: v1\nkind: Secret\nmetadata: {name: s1, namespace: a}",
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: flux-system}",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: argocd-cm, namespace: argocd}",
	} {
		objs = append(objs, obj(t, doc))
	}
	sortForRestore(objs, self)
	var got []string
	for _, o := range objs {
		got = append(got, o.GetKind()+"/"+o.GetName())
	}
	want := []string{"Namespace/flux-system", "ConfigMap/argocd-cm", "Secret/s1", "Secret/s2", "AppProject/p",
		"GitRepository/g", "Kustomization/k", "Application/a", "Widget/w"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

// FuzzDecode: an import stream is a file anyone may hand over; decoding
// it must fail with an error, never panic.
func FuzzDecode(f *testing.F) {
	f.Add("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret, metadata: {name: a}}\n")
	f.Add("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, uid: x}\nstatus: 1\n---\n{}\n")
	f.Add(`{"apiVersion":"v1","kind":"List","items":[null, 3]}`)
	f.Add("kind: List\nitems: {a: b}\n")
	f.Fuzz(func(t *testing.T, stream string) {
		in, err := Decode(strings.NewReader(stream), "fuzz")
		if err != nil {
			return
		}
		for _, i := range in {
			if i.Obj.GetKind() == "" || i.Obj.GetName() == "" {
				t.Fatalf("accepted an object without kind or name: %v", i.Obj.Object)
			}
		}
	})
}

func TestGroupKindOf(t *testing.T) {
	for id, want := range map[string]string{
		"argocd_web_argoproj.io_Application":                     "Application.argoproj.io",
		"_argocd__Namespace":                                     "Namespace",
		"flux-system_app_source.toolkit.fluxcd.io_GitRepository": "GitRepository.source.toolkit.fluxcd.io",
		"garbage": "",
	} {
		if got := groupKindOf(id).String(); got != want {
			t.Errorf("groupKindOf(%q) = %q, want %q", id, got, want)
		}
	}
}
