package application

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/diff"
)

func TestRetryDelay(t *testing.T) {
	two := int64(2)
	seed := &argov1.RetryStrategy{Limit: 5, Backoff: &argov1.Backoff{Duration: "5s", Factor: &two, MaxDuration: "3m"}}
	want := []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 3 * time.Minute, 3 * time.Minute}
	for n, w := range want {
		if got := retryDelay(seed, int64(n)); got != w {
			t.Errorf("retry %d: delay %s, want %s", n, got, w)
		}
	}
	if got := retryDelay(nil, 0); got != 5*time.Second {
		t.Errorf("default first delay %s, want 5s", got)
	}
	if got := retryDelay(&argov1.RetryStrategy{Backoff: &argov1.Backoff{Duration: "7"}}, 1); got != 14*time.Second {
		t.Errorf("duration in plain seconds: %s, want 14s", got)
	}
	if got := retryLimit(&argov1.RetryStrategy{Limit: -1}); got < 1<<40 {
		t.Errorf("negative limit means retry forever, got %d", got)
	}
}

func TestPrunePropagation(t *testing.T) {
	for _, tc := range []struct {
		options []string
		want    metav1.DeletionPropagation
	}{
		{nil, metav1.DeletePropagationForeground}, // Argo CD's default
		{[]string{"PrunePropagationPolicy=background"}, metav1.DeletePropagationBackground},
		{[]string{"CreateNamespace=true", "PrunePropagationPolicy=orphan"}, metav1.DeletePropagationOrphan},
		{[]string{"PrunePropagationPolicy=foreground"}, metav1.DeletePropagationForeground},
	} {
		if got := prunePropagation(diff.NewSyncOptions(tc.options)); got != tc.want {
			t.Errorf("%v: propagation %s, want %s", tc.options, got, tc.want)
		}
	}
}

func TestTrackingID(t *testing.T) {
	id := trackingID("guestbook", schemaGK("apps", "Deployment"), "guestbook", "guestbook-ui")
	if id != "guestbook:apps/Deployment:guestbook/guestbook-ui" {
		t.Fatalf("tracking id %q", id)
	}
	obj := &metav1.ObjectMeta{Namespace: "guestbook", Name: "guestbook-ui", Annotations: map[string]string{argov1.AnnotationKeyTrackingID: id}}
	if app, self := trackedBy(obj, schemaGK("apps", "Deployment")); app != "guestbook" || !self {
		t.Errorf("trackedBy = %q, %v", app, self)
	}
	copied := &metav1.ObjectMeta{Namespace: "guestbook", Name: "copy", Annotations: obj.Annotations}
	if _, self := trackedBy(copied, schemaGK("apps", "Deployment")); self {
		t.Error("a copied object whose annotation names another object must not count as tracked")
	}
	ns := &metav1.ObjectMeta{Name: "ops", Annotations: map[string]string{argov1.AnnotationKeyTrackingID: "guestbook:/Namespace:guestbook/ops"}}
	if app, self := trackedBy(ns, schemaGK("", "Namespace")); app != "guestbook" || !self {
		t.Errorf("a cluster-scoped object with Argo's destination namespace in its id: %q, %v", app, self)
	}
	if got := parseAppID(appID(nsName("team-a", "web"), "argocd"), "argocd"); got != nsName("team-a", "web") {
		t.Errorf("app id round trip: %v", got)
	}
	if got := appID(nsName("argocd", "web"), "argocd"); got != "web" {
		t.Errorf("app in the control-plane namespace: %q", got)
	}
}

func schemaGK(group, kind string) schema.GroupKind { return schema.GroupKind{Group: group, Kind: kind} }

func nsName(ns, name string) types.NamespacedName {
	return types.NamespacedName{Namespace: ns, Name: name}
}
