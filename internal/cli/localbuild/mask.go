package localbuild

import (
	"errors"
	"sort"
	"strings"
)

// secretMask replaces a substituted Secret value wherever it would be
// printed, as the controller masks it in its messages.
const secretMask = "***"

// minMasked is the shortest value masked: shorter ones would mask
// ordinary text all over the output (the controller's rule too).
const minMasked = 3

// masker hides the values that postBuild substitution took from Secrets.
type masker struct {
	values []string // longest first, so a value within another is not half-masked
}

func newMasker(values []string) *masker {
	var kept []string
	seen := map[string]bool{}
	for _, v := range values {
		if len(v) >= minMasked && !seen[v] {
			seen[v] = true
			kept = append(kept, v)
		}
	}
	sort.Slice(kept, func(i, j int) bool { return len(kept[i]) > len(kept[j]) })
	return &masker{values: kept}
}

// text returns s with every secret value masked.
func (m *masker) text(s string) string {
	for _, v := range m.values {
		s = strings.ReplaceAll(s, v, secretMask)
	}
	return s
}

// error returns err with every secret value masked in its message; nil
// stays nil.
func (m *masker) error(err error) error {
	if err == nil || len(m.values) == 0 {
		return err
	}
	if msg := m.text(err.Error()); msg != err.Error() {
		return errors.New(msg)
	}
	return err
}
