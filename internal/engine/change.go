package engine

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Action is what the engine did, or would do, to one object.
type Action string

// The actions, named as Flux names them in events and logs.
const (
	ActionCreated    Action = "created"
	ActionConfigured Action = "configured"
	ActionUnchanged  Action = "unchanged"
	ActionDeleted    Action = "deleted"
	ActionSkipped    Action = "skipped"
)

// Changed reports whether the action writes to the cluster.
func (a Action) Changed() bool {
	return a == ActionCreated || a == ActionConfigured || a == ActionDeleted
}

// Change is the outcome for one object. It never holds Secret values.
type Change struct {
	// ID is the object's inventory ID, "<namespace>_<name>_<group>_<kind>".
	ID string
	// Version is the API version of the object as applied, e.g. "v1".
	Version string
	// Subject is "<Kind>/<namespace>/<name>" ("<Kind>/<name>" when
	// cluster-scoped), for messages.
	Subject string
	// Action is what happened, or for Diff what applying would do.
	Action Action
	// Source is the file the object came from, when known.
	Source string
	// Live and Desired are set by Diff for configured objects only: the
	// object in the cluster and the result of a dry-run apply, without
	// managed fields. A Secret's data values are replaced with "***" in
	// both, as is any kubectl last-applied-configuration annotation.
	Live, Desired *unstructured.Unstructured
}

// String is "<Subject> <Action>", one line of a Flux change event.
func (c Change) String() string { return c.Subject + " " + string(c.Action) }
