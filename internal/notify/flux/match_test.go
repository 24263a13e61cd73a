package flux

import (
	"maps"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	notificationv1 "github.com/tether-gitops/tether/api/notification/v1"
	"github.com/tether-gitops/tether/internal/tenancy"
)

func alertOf(ns, severity string, sources ...notificationv1.CrossNamespaceObjectReference) *notificationv1.Alert {
	return &notificationv1.Alert{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "a"},
		Spec: notificationv1.AlertSpec{EventSeverity: severity, EventSources: sources}}
}

func src(kind, name, ns string, labels map[string]string) notificationv1.CrossNamespaceObjectReference {
	return notificationv1.CrossNamespaceObjectReference{Kind: kind, Name: name, Namespace: ns, MatchLabels: labels}
}

func eventOf(kind, ns, name, severity string, labels map[string]string) *Event {
	return &Event{InvolvedObject: corev1.ObjectReference{Kind: kind, Namespace: ns, Name: name}, Severity: severity,
		Subject: Subject{Labels: labels}}
}

func TestSelects(t *testing.T) {
	ks := eventOf("Kustomization", "apps", "app-frontend", SeverityError, map[string]string{"team": "a", "tier": "web"})
	info := eventOf("Kustomization", "apps", "app-frontend", SeverityInfo, nil)
	for _, tc := range []struct {
		name  string
		alert *notificationv1.Alert
		ev    *Event
		want  bool
	}{
		{"every Kustomization of the Alert's namespace", alertOf("apps", "error", src("Kustomization", "*", "", nil)), ks, true},
		{"another kind", alertOf("apps", "error", src("HelmRelease", "*", "", nil)), ks, false},
		{"exact name", alertOf("apps", "info", src("Kustomization", "app-frontend", "", nil)), ks, true},
		{"another name", alertOf("apps", "info", src("Kustomization", "app", "", nil)), ks, false},
		{"name glob", alertOf("apps", "info", src("Kustomization", "app-*", "", nil)), ks, true},
		{"name glob that does not match", alertOf("apps", "info", src("Kustomization", "db-*", "", nil)), ks, false},
		{"another namespace by default", alertOf("other", "info", src("Kustomization", "*", "", nil)), ks, false},
		{"another namespace named explicitly", alertOf("other", "info", src("Kustomization", "*", "apps", nil)), ks, true},
		{"labels that match", alertOf("apps", "info", src("Kustomization", "*", "", map[string]string{"team": "a"})), ks, true},
		{"labels that do not match", alertOf("apps", "info", src("Kustomization", "*", "", map[string]string{"team": "b"})), ks, false},
		{"labels the object lacks", alertOf("apps", "info", src("Kustomization", "*", "", map[string]string{"team": "a"})), info, false},
		{"severity error skips info events", alertOf("apps", "error", src("Kustomization", "*", "", nil)), info, false},
		{"severity info takes errors too", alertOf("apps", "info", src("Kustomization", "*", "", nil)), ks, true},
		{"no severity means info", alertOf("apps", "", src("Kustomization", "*", "", nil)), info, true},
		{"one source of several", alertOf("apps", "info", src("GitRepository", "*", "", nil), src("Kustomization", "*", "", nil)), ks, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := selects(tc.alert, tc.ev); got != tc.want {
				t.Errorf("selects = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMessageAllowed(t *testing.T) {
	for _, tc := range []struct {
		name               string
		include, exclude   []string
		msg                string
		allowed            bool
		invalidExpressions int
	}{
		{"no lists", nil, nil, "anything", true, 0},
		{"included", []string{"^health check failed"}, nil, "health check failed after 5s", true, 0},
		{"not included", []string{"^health check failed"}, nil, "build failed", false, 0},
		{"one of several included", []string{"nope", "build"}, nil, "build failed", true, 0},
		{"excluded", nil, []string{"timeout"}, "apply: timeout waiting", false, 0},
		{"included and excluded", []string{"failed"}, []string{"dry-run"}, "dry-run failed", false, 0},
		{"an invalid exclusion is reported and matches nothing", nil, []string{"("}, "x", true, 1},
		{"an invalid inclusion is reported and matches nothing", []string{"(", "x"}, nil, "x", true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			alert := alertOf("apps", "info")
			alert.Spec.InclusionList, alert.Spec.ExclusionList = tc.include, tc.exclude
			allowed, invalid := messageAllowed(alert, tc.msg)
			if allowed != tc.allowed || len(invalid) != tc.invalidExpressions {
				t.Errorf("allowed %v, invalid %q; want %v and %d", allowed, invalid, tc.allowed, tc.invalidExpressions)
			}
		})
	}
}

func TestNotificationMetadata(t *testing.T) {
	ev := &Event{Metadata: map[string]string{MetaRevision: "main@sha1:abc"},
		Subject: Subject{Annotations: map[string]string{"env": "annotation", "owner": "team-a", MetaRevision: "annotation"}}}
	for _, tc := range []struct {
		name    string
		summary string
		meta    map[string]string
		want    map[string]string
	}{
		{"the controller's and the object's keys", "", nil,
			map[string]string{MetaRevision: "main@sha1:abc", "env": "annotation", "owner": "team-a"}},
		{"the Alert's over the object's, the controller's over all", "", map[string]string{"env": "alert", MetaRevision: "alert"},
			map[string]string{MetaRevision: "main@sha1:abc", "env": "alert", "owner": "team-a"}},
		{"the summary over eventMetadata's", "from summary", map[string]string{MetaSummary: "from metadata", "cluster": "prod"},
			map[string]string{MetaRevision: "main@sha1:abc", "env": "annotation", "owner": "team-a", MetaSummary: "from summary", "cluster": "prod"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			alert := alertOf("apps", "info")
			alert.Spec.Summary, alert.Spec.EventMetadata = tc.summary, tc.meta
			if got := notificationMetadata(alert, ev); !maps.Equal(got, tc.want) {
				t.Errorf("metadata %v, want %v", got, tc.want)
			}
		})
	}
	if got := notificationMetadata(alertOf("apps", "info"), &Event{}); got != nil {
		t.Errorf("an event without metadata got %v", got)
	}
}

func TestEventNamespaces(t *testing.T) {
	alert := alertOf("flux-system", "info", src("Kustomization", "*", "", nil), src("HelmRelease", "*", "apps", nil),
		src("GitRepository", "*", "flux-system", nil), src("Kustomization", "x", "apps", nil))
	if got := eventNamespaces(alert); !slices.Equal(got, []string{"flux-system", "apps"}) {
		t.Errorf("namespaces %v", got)
	}
}

func TestAdmit(t *testing.T) {
	ev := eventOf("Kustomization", "apps", "web", SeverityError, nil)
	ev.Message = "build failed"
	lockdown := tenancy.Policy{NoCrossNamespaceRefs: true}
	for _, tc := range []struct {
		name     string
		alert    func(*notificationv1.Alert)
		policy   tenancy.Policy
		want     bool
		findings []string // reasons
	}{
		{name: "selected", want: true},
		{name: "suspended", alert: func(a *notificationv1.Alert) { a.Spec.Suspend = true }},
		{name: "another source", alert: func(a *notificationv1.Alert) { a.Spec.EventSources[0].Kind = "HelmRelease" }},
		{name: "excluded", alert: func(a *notificationv1.Alert) { a.Spec.ExclusionList = []string{"build"} }},
		{name: "an invalid expression is reported", alert: func(a *notificationv1.Alert) { a.Spec.ExclusionList = []string{"[", "nope"} },
			want: true, findings: []string{notificationv1.InvalidConfigReason}},
		{name: "another namespace's Alert naming this one", alert: func(a *notificationv1.Alert) {
			a.Namespace, a.Spec.EventSources[0].Namespace = "platform", "apps"
		}, want: true},
		{name: "another namespace's Alert under --no-cross-namespace-refs", alert: func(a *notificationv1.Alert) {
			a.Namespace, a.Spec.EventSources[0].Namespace = "platform", "apps"
		}, policy: lockdown, findings: []string{tenancy.AccessDeniedReason}},
		{name: "its own namespace under --no-cross-namespace-refs", policy: lockdown, want: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			alert := alertOf("apps", "error", src("Kustomization", "*", "", nil))
			if tc.alert != nil {
				tc.alert(alert)
			}
			got, findings := admit(alert, ev, tc.policy)
			var reasons []string
			for _, f := range findings {
				reasons = append(reasons, f.reason)
			}
			if got != tc.want || !slices.Equal(reasons, tc.findings) {
				t.Errorf("admit = %v, findings %v; want %v, %v", got, findings, tc.want, tc.findings)
			}
		})
	}
}
