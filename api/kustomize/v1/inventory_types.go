package v1

import (
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ResourceInventory lists the objects that a Kustomization has applied, so
// that objects which disappear from the source can be pruned later.
type ResourceInventory struct {
	// Entries holds one reference per applied object.
	Entries []ResourceRef `json:"entries"`
}

// ResourceRef identifies one applied object.
type ResourceRef struct {
	// ID encodes the object's identity as
	// "<namespace>_<name>_<group>_<kind>".
	ID string `json:"id"`

	// Version is the API version the object was applied with.
	Version string `json:"v"`
}

// Snapshot is the v1beta1 record of the objects built from one source
// revision, grouped by namespace. Newer API versions use Inventory instead;
// the field is kept so that v1beta1 status data survives storage.
type Snapshot struct {
	// Checksum of the built manifests.
	// +required
	Checksum string `json:"checksum"`

	// Entries groups the object kinds by namespace.
	// +required
	Entries []SnapshotEntry `json:"entries"`
}

// SnapshotEntry lists the kinds of the objects built into one namespace.
type SnapshotEntry struct {
	// Namespace the objects live in; empty for cluster-scoped objects.
	// +optional
	Namespace string `json:"namespace"`

	// Kinds maps "group/version, Kind=..." strings to kind names.
	// +required
	Kinds map[string]string `json:"kinds"`
}

// HistoryMaxSize is how many reconciliation records History keeps.
const HistoryMaxSize = 5

// History is the list of recent reconciliation records of an object, newest
// first.
type History []HistoryEntry

// Latest returns the newest record, or nil when the history is empty.
func (h History) Latest() *HistoryEntry {
	if len(h) == 0 {
		return nil
	}
	return &h[0]
}

// Record adds the outcome of a reconciliation to the history. A record with
// the same digest and status is updated and moved to the front; otherwise a
// new record is prepended. The history is then cut to HistoryMaxSize.
func (h *History) Record(digest string, at metav1.Time, took metav1.Duration, status string, metadata map[string]string) {
	for i := range *h {
		e := &(*h)[i]
		if e.Digest != digest || e.LastReconciledStatus != status {
			continue
		}
		e.LastReconciled = at
		e.LastReconciledDuration = took
		e.TotalReconciliations++
		e.Metadata = metadata
		sort.SliceStable(*h, func(a, b int) bool {
			return (*h)[a].LastReconciled.After((*h)[b].LastReconciled.Time)
		})
		h.trim()
		return
	}
	*h = append(History{{
		Digest:                 digest,
		FirstReconciled:        at,
		LastReconciled:         at,
		LastReconciledDuration: took,
		LastReconciledStatus:   status,
		TotalReconciliations:   1,
		Metadata:               metadata,
	}}, *h...)
	h.trim()
}

// trim drops the oldest records beyond HistoryMaxSize.
func (h *History) trim() {
	if len(*h) > HistoryMaxSize {
		*h = (*h)[:HistoryMaxSize]
	}
}

// HistoryEntry summarises the reconciliations of one set of manifests,
// identified by its digest, that ended with the same status.
type HistoryEntry struct {
	// Digest of the reconciled manifests, as "<algorithm>:<hex>".
	// +required
	Digest string `json:"digest"`

	// FirstReconciled is when these manifests were first reconciled.
	// +required
	FirstReconciled metav1.Time `json:"firstReconciled"`

	// LastReconciled is when these manifests were last reconciled.
	// +required
	LastReconciled metav1.Time `json:"lastReconciled"`

	// LastReconciledDuration is how long the last reconciliation took.
	// +kubebuilder:validation:Type=string
	// +required
	LastReconciledDuration metav1.Duration `json:"lastReconciledDuration"`

	// LastReconciledStatus is the outcome of the last reconciliation.
	// +required
	LastReconciledStatus string `json:"lastReconciledStatus"`

	// TotalReconciliations counts the reconciliations summarised here.
	// +required
	TotalReconciliations int64 `json:"totalReconciliations"`

	// Metadata holds extra facts about the reconciliation, such as the
	// source revision.
	// +optional
	Metadata map[string]string `json:"metadata,omitempty"`
}
