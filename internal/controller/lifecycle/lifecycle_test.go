package lifecycle

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
)

func TestHandleRequest(t *testing.T) {
	obj := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{}}
	if HandleRequest(obj, &obj.Status.LastHandledReconcileAt) {
		t.Fatal("no annotation, yet a request")
	}
	obj.Annotations = map[string]string{"reconcile.fluxcd.io/requestedAt": "2026-11-25T06:00:00Z"}
	if !HandleRequest(obj, &obj.Status.LastHandledReconcileAt) || obj.Status.LastHandledReconcileAt != "2026-11-25T06:00:00Z" {
		t.Fatalf("new request not handled: %q", obj.Status.LastHandledReconcileAt)
	}
	if HandleRequest(obj, &obj.Status.LastHandledReconcileAt) {
		t.Fatal("the same request was handled twice")
	}
}
