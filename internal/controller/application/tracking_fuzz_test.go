package application

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// FuzzTrackedBy: a tracking annotation is on live objects anyone with
// write access to them can edit. Reading one never panics; an object's
// own annotation, as setTracking writes it, always reads back as its
// app's; and an annotation naming another object is never the object's.
func FuzzTrackedBy(f *testing.F) {
	f.Add("guestbook:apps/Deployment:default/web", "argocd_guestbook", "apps", "Deployment", "default", "web")
	f.Add("a:/ConfigMap:ns/x", "a", "", "ConfigMap", "ns", "x")
	f.Add(":::", "", "", "", "", "")
	f.Add("app:apps/Deployment:other/web", "app", "apps", "Deployment", "", "web")
	f.Fuzz(func(t *testing.T, annotation, app, group, kind, namespace, name string) {
		gk := schema.GroupKind{Group: group, Kind: kind}
		obj := &unstructured.Unstructured{}
		obj.SetNamespace(namespace)
		obj.SetName(name)
		obj.SetAnnotations(map[string]string{argov1.AnnotationKeyTrackingID: annotation})
		_, _ = trackedBy(obj, gk)
		_ = parseAppID(annotation, "argocd")

		// Names Kubernetes accepts hold none of the separators.
		for _, s := range []string{app, group, kind, namespace, name} {
			if strings.ContainsAny(s, ":/") {
				return
			}
		}
		if app == "" || name == "" {
			return
		}
		obj.SetGroupVersionKind(gk.WithVersion("v1"))
		setTracking(obj, app, "dest")
		if got, own := trackedBy(obj, gk); got != app || !own {
			t.Fatalf("setTracking then trackedBy = %q, %v; want %q, true (annotation %q)", got, own, app, obj.GetAnnotations()[argov1.AnnotationKeyTrackingID])
		}
		other := &metav1.ObjectMeta{Namespace: namespace, Name: name + "x", Annotations: obj.GetAnnotations()}
		if _, own := trackedBy(other, gk); own {
			t.Fatalf("an annotation copied to %s/%s counts as its own", namespace, other.Name)
		}
	})
}
