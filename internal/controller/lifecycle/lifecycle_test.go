package lifecycle

import (
	"strings"
	"testing"
	"unicode/utf8"

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

func TestTruncateNote(t *testing.T) {
	long := strings.Repeat("é", 700) // 1,400 bytes
	got := truncateNote(long)
	if len(got) > MaxEventNote || !strings.HasSuffix(got, "...") || !utf8.ValidString(got) {
		t.Errorf("len %d, valid %v", len(got), utf8.ValidString(got))
	}
	if s := "short"; truncateNote(s) != s {
		t.Errorf("a short note changed")
	}
}
