package flux

import (
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	"github.com/tether-gitops/tether/api/meta"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/internal/scheme"
)

const sha = "0123456789abcdef0123456789abcdef01234567"

func testScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s, err := scheme.New()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewEvent(t *testing.T) {
	s := testScheme(t)
	now := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "apps", UID: "u1",
		Labels:      map[string]string{"team": "a"},
		Annotations: map[string]string{EventAnnotationPrefix + "env": "prod", "other": "x"}}}
	ks.Status.LastAttemptedRevision = "main@sha1:" + sha
	ready := ks.DeepCopy()
	ready.Status.Conditions = []metav1.Condition{{Type: meta.ReadyCondition, Status: metav1.ConditionTrue, Reason: "ReconciliationSucceeded"}}
	hr := &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: "apps"}}
	hr.Status.LastAttemptedRevision = "6.5.0"
	repo := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Name: "repo", Namespace: "flux-system"}}
	repo.Status.Artifact = &meta.Artifact{Revision: "main@sha1:" + sha}
	for _, tc := range []struct {
		name      string
		obj       runtime.Object
		eventtype string
		ok        bool
		want      Event
	}{
		{"a Warning about a Kustomization is an error with its attempted revision", ks, corev1.EventTypeWarning, true, Event{
			InvolvedObject: corev1.ObjectReference{APIVersion: "kustomize.toolkit.fluxcd.io/v1", Kind: "Kustomization", Namespace: "apps", Name: "app", UID: "u1"},
			Severity:       SeverityError, Metadata: map[string]string{MetaRevision: "main@sha1:" + sha},
			Subject: Subject{Labels: map[string]string{"team": "a"}, Annotations: map[string]string{"env": "prod"}}}},
		{"a Normal event is info and carries the Ready reason", ready, corev1.EventTypeNormal, true, Event{
			InvolvedObject: corev1.ObjectReference{APIVersion: "kustomize.toolkit.fluxcd.io/v1", Kind: "Kustomization", Namespace: "apps", Name: "app", UID: "u1"},
			Severity:       SeverityInfo, Metadata: map[string]string{MetaRevision: "main@sha1:" + sha},
			Subject: Subject{Labels: map[string]string{"team": "a"}, Annotations: map[string]string{"env": "prod"}, ReadyReason: "ReconciliationSucceeded"}}},
		{"a HelmRelease's revision is its chart version", hr, corev1.EventTypeNormal, true, Event{
			InvolvedObject: corev1.ObjectReference{APIVersion: "helm.toolkit.fluxcd.io/v2", Kind: "HelmRelease", Namespace: "apps", Name: "podinfo"},
			Severity:       SeverityInfo, Metadata: map[string]string{MetaRevision: "6.5.0"}}},
		{"a source's revision is its artifact's", repo, corev1.EventTypeWarning, true, Event{
			InvolvedObject: corev1.ObjectReference{APIVersion: "source.toolkit.fluxcd.io/v1", Kind: "GitRepository", Namespace: "flux-system", Name: "repo"},
			Severity:       SeverityError, Metadata: map[string]string{MetaRevision: "main@sha1:" + sha}}},
		{"not a Flux kind", &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "apps"}}, corev1.EventTypeWarning, false, Event{}},
		{"neither Normal nor Warning", ks, "Trace", false, Event{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := NewEvent(s, tc.obj, tc.eventtype, "BuildFailed", "it failed", "tether-kustomize-controller", now)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			tc.want.Reason, tc.want.Message, tc.want.ReportingController = "BuildFailed", "it failed", "kustomize-controller"
			tc.want.Timestamp = metav1.NewTime(now.Truncate(time.Second))
			tc.want.ReportingInstance = got.ReportingInstance
			if diff := diffEvents(got, tc.want); diff != "" {
				t.Error(diff)
			}
		})
	}
}

func diffEvents(got, want Event) string {
	var b strings.Builder
	if got.InvolvedObject != want.InvolvedObject {
		b.WriteString("involvedObject " + got.InvolvedObject.String() + ", want " + want.InvolvedObject.String() + "\n")
	}
	for _, f := range [][3]string{{"severity", got.Severity, want.Severity}, {"reason", got.Reason, want.Reason},
		{"message", got.Message, want.Message}, {"controller", got.ReportingController, want.ReportingController},
		{"ready", got.Subject.ReadyReason, want.Subject.ReadyReason}} {
		if f[1] != f[2] {
			b.WriteString(f[0] + " " + f[1] + ", want " + f[2] + "\n")
		}
	}
	if !got.Timestamp.Equal(&want.Timestamp) {
		b.WriteString("timestamp " + got.Timestamp.String() + "\n")
	}
	for _, m := range [][2]map[string]string{{got.Metadata, want.Metadata}, {got.Subject.Labels, want.Subject.Labels}, {got.Subject.Annotations, want.Subject.Annotations}} {
		if len(m[0]) != len(m[1]) {
			b.WriteString("map differs\n")
		}
		for k, v := range m[1] {
			if m[0][k] != v {
				b.WriteString("key " + k + " = " + m[0][k] + ", want " + v + "\n")
			}
		}
	}
	return b.String()
}

func TestNewEventBoundsTheMessage(t *testing.T) {
	ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "apps"}}
	ev, ok := NewEvent(testScheme(t), ks, corev1.EventTypeWarning, "X", strings.Repeat("é", MaxMessage), "c", time.Now())
	if !ok || len(ev.Message) > MaxMessage || !strings.HasPrefix(ev.Message, "éé") {
		t.Errorf("message of %d bytes, want at most %d", len(ev.Message), MaxMessage)
	}
}

func TestCommitSHA(t *testing.T) {
	sha256 := strings.Repeat("ab", 32)
	for _, tc := range []struct{ revision, want string }{
		{"main@sha1:" + sha, sha},
		{"sha1:" + sha, sha},
		{"refs/tags/v1.0@sha1:" + sha, sha},
		{"feature/x@sha1:" + strings.ToUpper(sha), sha},
		{"main@sha256:" + sha256, sha256},
		{"main/" + sha, sha},
		{sha, sha},
		{"6.5.0", ""},
		{"main@sha1:abc", ""},
		{"", ""},
		{"main@sha256:" + strings.Repeat("zz", 32), ""},
	} {
		got, err := CommitSHA(tc.revision)
		if got != tc.want || (tc.want == "") != errors.Is(err, ErrNoCommit) {
			t.Errorf("CommitSHA(%q) = %q, %v; want %q", tc.revision, got, err, tc.want)
		}
	}
}

func TestKeyTellsEventsApart(t *testing.T) {
	base := Event{InvolvedObject: corev1.ObjectReference{Kind: "Kustomization", Namespace: "a", Name: "b"},
		Severity: SeverityError, Reason: "BuildFailed", Message: "m", Metadata: map[string]string{MetaRevision: "r1"}}
	same := base
	same.Timestamp = metav1.Now()
	if base.Key() != same.Key() {
		t.Error("the timestamp changed the key")
	}
	for name, change := range map[string]func(*Event){
		"message":  func(e *Event) { e.Message = "other" },
		"revision": func(e *Event) { e.Metadata = map[string]string{MetaRevision: "r2"} },
		"object":   func(e *Event) { e.InvolvedObject.Name = "c" },
		"severity": func(e *Event) { e.Severity = SeverityInfo },
	} {
		other := base
		change(&other)
		if other.Key() == base.Key() {
			t.Errorf("a different %s gives the same key", name)
		}
	}
}

func FuzzCommitSHA(f *testing.F) {
	for _, s := range []string{"main@sha1:" + sha, "main/" + sha, "6.5.0", "@@", "sha256:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, revision string) {
		got, err := CommitSHA(revision)
		if err != nil {
			return
		}
		if (len(got) != 40 && len(got) != 64) || !isHex(got) || got != strings.ToLower(got) || !strings.Contains(strings.ToLower(revision), got) {
			t.Errorf("CommitSHA(%q) = %q", revision, got)
		}
	})
}
