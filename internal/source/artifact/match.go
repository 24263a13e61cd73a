package artifact

import (
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
)

// Matcher decides whether a path is excluded by patterns in .sourceignore
// syntax, before anything is on disk: a Bucket source filters object names
// with it while listing, so that ignored objects are never downloaded.
type Matcher struct {
	m gitignore.Matcher
}

// NewMatcher parses each text in .sourceignore syntax, all at the root;
// a later text ranks above an earlier one (pass a root .sourceignore
// first, then spec.ignore). Unlike Pack it adds no default exclusions.
func NewMatcher(texts ...string) (*Matcher, error) {
	var set patternSet
	for i, text := range texts {
		if err := set.add(strings.NewReader(text), nil); err != nil {
			return nil, fmt.Errorf("read ignore patterns %d: %w", i+1, err)
		}
	}
	return &Matcher{m: gitignore.NewMatcher(set.patterns)}, nil
}

// Excluded reports whether the slash-separated path, relative to the
// root, is excluded.
func (m *Matcher) Excluded(path string, isDir bool) bool {
	return m.m.Match(strings.Split(path, "/"), isDir)
}
