package kustomization

import (
	"errors"
	"time"

	"github.com/tether-gitops/tether/api/meta"
)

// failure is a reconcile error with the Flux reason it maps to.
type failure struct {
	reason  string
	stalled bool
	healthy string        // set: also mark Healthy=False
	requeue time.Duration // 0: the retry interval
	err     error
}

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

func fail(reason string, err error) *failure { return &failure{reason: reason, err: err} }

// asFailure returns err as a failure, with reason ReconciliationFailed when
// it carries none.
func asFailure(err error) *failure {
	var f *failure
	if errors.As(err, &f) {
		return f
	}
	return &failure{reason: meta.ReconciliationFailedReason, err: err}
}
