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
