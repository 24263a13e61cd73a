package diff_test

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/tether-gitops/tether/internal/diff"
)

func mustObject(manifest string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	js, err := yaml.YAMLToJSON([]byte(manifest))
	if err == nil {
		err = u.UnmarshalJSON(js)
	}
	if err != nil {
		panic(err)
	}
	return u
}

// An autoscaler owns spec.replicas and a controller stamps an annotation:
// the Application ignores both, so the Deployment is in sync.
func ExampleNormalizer_Normalize() {
	n, err := diff.New([]diff.Rule{{
		Group:                 "apps",
		Kind:                  "Deployment",
		JSONPointers:          []string{"/metadata/annotations/example.com~1restarted-at"},
		JQPathExpressions:     []string{`.spec.template.spec.containers[] | select(.name == "app") | .resources`},
		ManagedFieldsManagers: []string{"kube-controller-manager"},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	live := mustObject(`
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations: {example.com/restarted-at: "12:00"}
  managedFields:
  - {manager: kube-controller-manager, operation: Update, apiVersion: apps/v1,
     fieldsType: FieldsV1, fieldsV1: {"f:spec": {"f:replicas": {}}}}
spec:
  replicas: 7
  template:
    spec:
      containers:
      - {name: app, image: app:1, resources: {limits: {cpu: "2"}}}
`)
	predicted := mustObject(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  template:
    spec:
      containers:
      - {name: app, image: app:1}
`)
	fmt.Println("before:", diff.Equal(live, predicted))
	if err := n.Normalize(live, predicted); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("after:", diff.Equal(live, predicted))
	// Output:
	// before: false
	// after: true
}

func ExampleNew() {
	_, err := diff.New([]diff.Rule{{Group: "apps", Kind: "Deployment", JSONPointers: []string{"spec/replicas"}}})
	fmt.Println(err)
	// Output:
	// ignoreDifferences[0] (group "apps", kind "Deployment"): jsonPointer "spec/replicas": must start with "/" (RFC 6901), as in "/spec/replicas"
}

func ExampleSyncOptions_Override() {
	app := diff.NewSyncOptions([]string{"ServerSideApply=true", "PrunePropagationPolicy=background"})
	obj := mustObject(`
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  annotations: {argocd.argoproj.io/sync-options: "ServerSideApply=false,Prune=false"}
`)
	opts := app.Override(diff.ParseSyncOptions(obj))
	policy, _ := opts.Value("PrunePropagationPolicy")
	fmt.Println(opts.Has("ServerSideApply=true"), opts.Has("Prune=false"), policy)
	// Output: false true background
}

func ExampleParseCompareOptions() {
	obj := mustObject(`
apiVersion: v1
kind: ConfigMap
metadata:
  name: generated
  annotations: {argocd.argoproj.io/compare-options: IgnoreExtraneous}
`)
	fmt.Println(diff.ParseCompareOptions(obj).IgnoreExtraneous)
	// Output: true
}
