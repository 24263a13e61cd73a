package server

import (
	"net/http/httptest"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
)

// A Flux object's row reads sync and health off its Ready condition, as
// `flux get` does: true at the current generation is Synced and Healthy,
// false is OutOfSync and Degraded with its message, an older generation
// or no condition is still Progressing, and suspension wins.
func TestFluxRow(t *testing.T) {
	ready := func(status metav1.ConditionStatus, gen int64) []metav1.Condition {
		return []metav1.Condition{{Type: "Ready", Status: status, ObservedGeneration: gen, Message: "m"}}
	}
	for _, tc := range []struct {
		name                  string
		conds                 []metav1.Condition
		suspended             bool
		sync, health, message string
	}{
		{"ready", ready(metav1.ConditionTrue, 2), false, "Synced", "Healthy", ""},
		{"failed", ready(metav1.ConditionFalse, 2), false, "OutOfSync", "Degraded", "m"},
		{"an older generation", ready(metav1.ConditionTrue, 1), false, "Unknown", "Progressing", ""},
		{"reconciling", ready(metav1.ConditionUnknown, 2), false, "Unknown", "Progressing", "m"},
		{"never reconciled", nil, false, "Unknown", "Progressing", ""},
		{"suspended", ready(metav1.ConditionTrue, 2), true, "Synced", "Suspended", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "a", Generation: 2}}
			ks.Spec.SourceRef = kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "repo"}
			ks.Spec.Suspend, ks.Status.Conditions = tc.suspended, tc.conds
			row := kustomizationRow(ks)
			if row.Sync != tc.sync || row.Health != tc.health || row.Message != tc.message {
				t.Errorf("sync %q health %q message %q, want %q %q %q", row.Sync, row.Health, row.Message, tc.sync, tc.health, tc.message)
			}
			if row.Repo != "GitRepository/ns/repo" || row.Cluster != "in-cluster" {
				t.Errorf("source %q cluster %q", row.Repo, row.Cluster)
			}
		})
	}
}

// Every filter parameter may repeat (any of its values), all given
// parameters must match, and the search looks at name, namespace,
// source, path and project in any case.
func TestAppsFilter(t *testing.T) {
	row := appRow{Kind: "Application", Namespace: "argocd", Name: "Guestbook", Project: "team", Cluster: "in-cluster",
		Repo: "https://git.example.com/apps.git", Path: "guestbook", Sync: "Synced", Health: "Healthy"}
	for query, want := range map[string]bool{
		"":                                        true,
		"kind=Application&kind=Kustomization":     true,
		"kind=HelmRelease":                        false,
		"sync=Synced&health=Degraded":             false,
		"health=Degraded&health=Healthy":          true,
		"search=GUEST":                            true,
		"search=git.example":                      true,
		"search=nowhere":                          false,
		"project=team&namespace=argocd":           true,
		"cluster=prod":                            false,
		"key=Application/argocd/Guestbook":        true,
		"key=Application/argocd/other&search=gue": false,
	} {
		f := parseAppsFilter(httptest.NewRequest("GET", "/api/v1/apps?"+query, nil))
		if got := f.matches(&row); got != want {
			t.Errorf("%q: %v, want %v", query, got, want)
		}
	}
}
