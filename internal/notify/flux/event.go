package flux

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	"github.com/tether-gitops/tether/api/meta"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
)

// Severities of Flux events: a Normal Kubernetes event is info, a Warning
// is error.
const (
	// SeverityInfo marks an informational event, usually a change.
	SeverityInfo = "info"
	// SeverityError marks a failure.
	SeverityError = "error"
)

// Metadata keys of Flux events.
const (
	// MetaRevision holds the source revision of the event's object, such
	// as "main@sha1:<commit>" or a chart version.
	MetaRevision = "revision"
	// MetaSummary holds an Alert's spec.summary.
	MetaSummary = "summary"
	// EventAnnotationPrefix starts the annotations of an object that Flux
	// copies into its events' metadata (without the prefix; RFC 0008).
	EventAnnotationPrefix = "event.toolkit.fluxcd.io/"
)

// MaxMessage is the longest event message Flux's event API accepts.
const MaxMessage = 39000

// Event is a Flux event as notification-controller receives it and as the
// generic providers post it.
type Event struct {
	// InvolvedObject is the object the event is about.
	InvolvedObject corev1.ObjectReference `json:"involvedObject"`
	// Severity is SeverityInfo or SeverityError.
	Severity string `json:"severity"`
	// Timestamp is when the event was recorded.
	Timestamp metav1.Time `json:"timestamp"`
	// Message describes the event.
	Message string `json:"message"`
	// Reason is a machine-readable word for it, such as BuildFailed.
	Reason string `json:"reason"`
	// Metadata holds the revision and the keys Alerts add.
	Metadata map[string]string `json:"metadata,omitempty"`
	// ReportingController names the controller, such as
	// "kustomize-controller".
	ReportingController string `json:"reportingController"`
	// ReportingInstance names the process that recorded it.
	ReportingInstance string `json:"reportingInstance,omitempty"`

	// Subject is what the router needs to know of the object beyond the
	// event; never sent.
	Subject Subject `json:"-"`
}

// Subject is the state of an event's object when the event was recorded.
type Subject struct {
	// Labels are the object's labels, for eventSources' matchLabels.
	Labels map[string]string
	// Annotations are the object's event.toolkit.fluxcd.io/ annotations,
	// without the prefix.
	Annotations map[string]string
	// ReadyReason is the reason of the object's Ready condition when it is
	// True, else empty.
	ReadyReason string
}

// instance names this process in events' reportingInstance.
var instance, _ = os.Hostname()

// NewEvent makes the Flux event of a Kubernetes event recorded by
// controller about obj, or reports false when obj is not a Flux object
// (not in scheme, no namespace) or the event type is neither Normal nor
// Warning.
func NewEvent(scheme *runtime.Scheme, obj runtime.Object, eventtype, reason, message, controller string, now time.Time) (Event, bool) {
	severity := SeverityInfo
	switch eventtype {
	case corev1.EventTypeNormal:
	case corev1.EventTypeWarning:
		severity = SeverityError
	default:
		return Event{}, false
	}
	acc, err := apimeta.Accessor(obj)
	if err != nil || acc.GetNamespace() == "" {
		return Event{}, false
	}
	gvk, err := apiutil.GVKForObject(obj, scheme)
	if err != nil || !strings.HasSuffix(gvk.Group, ".toolkit.fluxcd.io") {
		return Event{}, false
	}
	if len(message) > MaxMessage {
		message = strings.ToValidUTF8(message[:MaxMessage], "")
	}
	ev := Event{
		InvolvedObject: corev1.ObjectReference{
			APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind,
			Namespace: acc.GetNamespace(), Name: acc.GetName(), UID: acc.GetUID(),
			ResourceVersion: acc.GetResourceVersion(),
		},
		Severity:            severity,
		Timestamp:           metav1.NewTime(now.Truncate(time.Second)),
		Message:             message,
		Reason:              reason,
		ReportingController: strings.TrimPrefix(controller, "tether-"),
		ReportingInstance:   instance,
		Subject:             Subject{Labels: copyMap(acc.GetLabels()), Annotations: eventAnnotations(acc.GetAnnotations())},
	}
	if rev := revisionOf(obj); rev != "" {
		ev.Metadata = map[string]string{MetaRevision: rev}
	}
	if c, ok := obj.(interface{ GetConditions() []metav1.Condition }); ok {
		if ready := apimeta.FindStatusCondition(c.GetConditions(), meta.ReadyCondition); ready != nil && ready.Status == metav1.ConditionTrue {
			ev.Subject.ReadyReason = ready.Reason
		}
	}
	return ev, true
}

// revisionOf is the revision Flux's controllers put in the metadata of an
// object's events: the last attempted one of a Kustomization or
// HelmRelease, the artifact's of a source.
func revisionOf(obj runtime.Object) string {
	switch o := obj.(type) {
	case *kustomizev1.Kustomization:
		return o.Status.LastAttemptedRevision
	case *helmv2.HelmRelease:
		return o.Status.LastAttemptedRevision
	case *sourcev1.GitRepository:
		return artifactRevision(o.Status.Artifact)
	case *sourcev1.HelmRepository:
		return artifactRevision(o.Status.Artifact)
	case *sourcev1.HelmChart:
		return artifactRevision(o.Status.Artifact)
	case *sourcev1.OCIRepository:
		return artifactRevision(o.Status.Artifact)
	}
	return ""
}

func artifactRevision(a *meta.Artifact) string {
	if a == nil {
		return ""
	}
	return a.Revision
}

func eventAnnotations(annotations map[string]string) map[string]string {
	var out map[string]string
	for k, v := range annotations {
		if key, ok := strings.CutPrefix(k, EventAnnotationPrefix); ok && key != "" {
			if out == nil {
				out = map[string]string{}
			}
			out[key] = v
		}
	}
	return out
}

func copyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Key identifies an event for suppressing repeats, as Flux's
// notification-controller does: object, message and revision.
func (e *Event) Key() string {
	h := sha256.New()
	for _, part := range []string{"event", e.InvolvedObject.Kind, e.InvolvedObject.Namespace, e.InvolvedObject.Name,
		e.Severity, e.Reason, e.Message, e.Metadata[MetaRevision]} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// objectName is Flux's "kind/name.namespace" title of an event's object.
func (e *Event) objectName() string {
	return fmt.Sprintf("%s/%s.%s", strings.ToLower(e.InvolvedObject.Kind), e.InvolvedObject.Name, e.InvolvedObject.Namespace)
}

// ErrNoCommit is returned for a revision that names no Git commit.
var ErrNoCommit = errors.New("the revision names no Git commit")

// CommitSHA returns the commit of a Flux revision: "main@sha1:<sha>",
// "sha1:<sha>", "refs/tags/v1@sha256:<sha>", the legacy "main/<sha>" or a
// bare hash. The hash must be 40 (SHA-1) or 64 (SHA-256) hex digits.
func CommitSHA(revision string) (string, error) {
	rev := revision
	if i := strings.LastIndex(rev, "@"); i >= 0 {
		rev = rev[i+1:]
	}
	switch {
	case strings.HasPrefix(rev, "sha1:"):
		rev = strings.TrimPrefix(rev, "sha1:")
	case strings.HasPrefix(rev, "sha256:"):
		rev = strings.TrimPrefix(rev, "sha256:")
	default:
		if i := strings.LastIndex(rev, "/"); i >= 0 {
			rev = rev[i+1:]
		}
	}
	if (len(rev) != 40 && len(rev) != 64) || !isHex(rev) {
		return "", fmt.Errorf("%w: %q", ErrNoCommit, truncate(revision, 100))
	}
	return strings.ToLower(rev), nil
}

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
