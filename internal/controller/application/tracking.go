package application

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// appID is how tracking annotations name an Application: its name when it
// lives in the control-plane namespace, "<namespace>_<name>" otherwise
// (Argo CD's rule for apps in any namespace).
func appID(app types.NamespacedName, controlNamespace string) string {
	if app.Namespace == controlNamespace {
		return app.Name
	}
	return app.Namespace + "_" + app.Name
}

// parseAppID reverses appID.
func parseAppID(id, controlNamespace string) types.NamespacedName {
	if ns, name, ok := strings.Cut(id, "_"); ok {
		return types.NamespacedName{Namespace: ns, Name: name}
	}
	return types.NamespacedName{Namespace: controlNamespace, Name: id}
}

// trackingID is Argo CD's annotation value for obj owned by app:
// "<app>:<group>/<kind>:<namespace>/<name>".
func trackingID(app string, gk schema.GroupKind, namespace, name string) string {
	return app + ":" + gk.Group + "/" + gk.Kind + ":" + namespace + "/" + name
}

// setTracking marks obj as app's. A cluster-scoped object carries the
// app's destination namespace in its id, as Argo CD writes it.
func setTracking(obj *unstructured.Unstructured, app, destNamespace string) {
	a := obj.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	ns := obj.GetNamespace()
	if ns == "" {
		ns = destNamespace
	}
	a[argov1.AnnotationKeyTrackingID] = trackingID(app, obj.GroupVersionKind().GroupKind(), ns, obj.GetName())
	obj.SetAnnotations(a)
}

// trackedBy returns the app id in obj's tracking annotation, and whether
// the annotation also names obj itself (a copied object whose annotation
// names another object is nobody's: Argo CD's rule). For a cluster-scoped
// object any namespace in the id is accepted (Argo CD writes the app's
// destination namespace there).
func trackedBy(obj metav1.Object, gk schema.GroupKind) (string, bool) {
	v := obj.GetAnnotations()[argov1.AnnotationKeyTrackingID]
	app, rest, ok := strings.Cut(v, ":")
	if !ok || app == "" {
		return "", false
	}
	kind, nsName, ok := strings.Cut(rest, ":")
	if !ok || kind != gk.Group+"/"+gk.Kind {
		return app, false
	}
	ns, name, ok := strings.Cut(nsName, "/")
	return app, ok && name == obj.GetName() && (ns == obj.GetNamespace() || obj.GetNamespace() == "")
}
