package kustomization

import (
	"errors"
	"strings"
	"testing"

	"github.com/tether-gitops/tether/api/meta"
)

func TestMaskedHidesSecretValuesAndKeepsTheReason(t *testing.T) {
	err := fail(meta.BuildFailedReason, errors.New("yaml: unknown anchor 'Sup3rS3cret' referenced"))
	got := masked(err, []string{"*Sup3rS3cret", "Sup3rS3cret", "ab"})
	if strings.Contains(got.Error(), "Sup3rS3cret") {
		t.Errorf("masked error still holds the secret: %v", got)
	}
	if f := asFailure(got); f.reason != meta.BuildFailedReason {
		t.Errorf("reason = %s, want %s", f.reason, meta.BuildFailedReason)
	}
	if masked(nil, []string{"x"}) != nil {
		t.Error("masked(nil) is not nil")
	}
}

func TestMasked(t *testing.T) {
	secrets := []string{"Sup3rS3cret", "ab"}
	clean := fail(meta.HealthCheckFailedReason, errors.New("timeout waiting for Deployment/apps/web"))
	tests := []struct {
		name       string
		err        error
		want       string
		wantReason string
		same       bool
	}{
		{"nothing to mask: the error as it is", clean, clean.Error(), meta.HealthCheckFailedReason, true},
		{"a failure: its reason kept", fail(meta.BuildFailedReason, errors.New("bad Sup3rS3cret ab")), "bad *** ab", meta.BuildFailedReason, false},
		{"a plain error: ReconciliationFailed", errors.New("apply: Sup3rS3cret"), "apply: ***", meta.ReconciliationFailedReason, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := masked(tc.err, secrets)
			if got.Error() != tc.want {
				t.Errorf("message %q, want %q", got, tc.want)
			}
			if r := asFailure(got).reason; r != tc.wantReason {
				t.Errorf("reason %s, want %s", r, tc.wantReason)
			}
			if (got == tc.err) != tc.same {
				t.Errorf("same error returned: %v, want %v", got == tc.err, tc.same)
			}
			if !tc.same && errors.Unwrap(asFailure(got).err) != nil {
				t.Errorf("the masked error still wraps the original")
			}
		})
	}
}
