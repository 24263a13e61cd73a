package artifact

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
)

// IgnoreFile is the name of the per-directory ignore file, in .gitignore
// syntax, that Flux reads from every directory of a source tree.
const IgnoreFile = ".sourceignore"

// maxIgnoreFileSize bounds how much of one ignore file is read; real ones
// are a few hundred bytes.
const maxIgnoreFileSize = 1 << 20

// The exclusions Flux's source-controller applies (fluxcd/pkg sourceignore).
// vcsExclusions always apply. defaultExclusions apply only when neither an
// ignore file nor spec.ignore supplies any pattern: user patterns replace
// them, as upstream does.
var (
	vcsExclusions = []string{".git/", ".gitignore", ".gitmodules", ".gitattributes"}

	defaultExclusions = []string{
		// images and archives
		"*.jpg", "*.jpeg", "*.gif", "*.png", "*.wmv", "*.flv", "*.tar.gz", "*.zip",
		// CI configuration
		".github/", ".circleci/", ".travis.yml", ".gitlab-ci.yml", "appveyor.yml",
		".drone.yml", "cloudbuild.yaml", "codeship-services.yml", "codeship-steps.yml",
		// tool configuration
		"**/.goreleaser.yml", "**/.sops.yaml", "**/.flux.yaml",
	}
)

// ignoreRules decides which paths of a tree are left out of an artifact.
type ignoreRules struct {
	matcher gitignore.Matcher
	// negations holds the domain of every "!" pattern, so the walk knows
	// which excluded directories may still hold re-included files.
	negations [][]string
}

// patternSet collects patterns in priority order (later wins).
type patternSet struct {
	patterns  []gitignore.Pattern
	negations [][]string
}

// add parses text in .sourceignore syntax: one pattern a line, "#" starts
// a comment line, blank lines are skipped. Patterns are scoped to domain.
func (s *patternSet) add(text io.Reader, domain []string) error {
	sc := bufio.NewScanner(text)
	sc.Buffer(make([]byte, 0, 4096), maxIgnoreFileSize)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		s.patterns = append(s.patterns, gitignore.ParsePattern(line, domain))
		if strings.HasPrefix(line, "!") {
			s.negations = append(s.negations, append([]string(nil), domain...))
		}
	}
	return sc.Err()
}

// loadIgnoreRules reads every .sourceignore in the tree (parents before
// children, siblings by name, .git directories skipped), then specIgnore,
// and puts them above the exclusions Flux always applies.
func loadIgnoreRules(ctx context.Context, t *tree, specIgnore string) (*ignoreRules, error) {
	var user patternSet
	if err := loadIgnoreFiles(ctx, t, nil, &user); err != nil {
		return nil, err
	}
	if err := user.add(strings.NewReader(specIgnore), nil); err != nil {
		return nil, fmt.Errorf("read spec.ignore: %w", err)
	}

	base := vcsExclusions
	if len(user.patterns) == 0 {
		base = append(append([]string(nil), vcsExclusions...), defaultExclusions...)
	}
	var all []gitignore.Pattern
	for _, p := range base {
		all = append(all, gitignore.ParsePattern(p, nil))
	}
	all = append(all, user.patterns...)
	return &ignoreRules{matcher: gitignore.NewMatcher(all), negations: user.negations}, nil
}

func loadIgnoreFiles(ctx context.Context, t *tree, dir []string, set *patternSet) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	nodes, err := t.readDir(dir)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if n.name != IgnoreFile || !n.mode.IsRegular() {
			continue
		}
		data, err := n.read(maxIgnoreFileSize)
		if err != nil {
			return err
		}
		if err := set.add(bytes.NewReader(data), dir); err != nil {
			return fmt.Errorf("read %s: %w", joinPath(append(dir, n.name)), err)
		}
	}
	for _, n := range nodes {
		if n.mode.IsDir() && n.name != ".git" {
			if err := loadIgnoreFiles(ctx, t, appendPath(dir, n.name), set); err != nil {
				return err
			}
		}
	}
	return nil
}

// excluded reports whether the path (relative to the artifact root) is left
// out of the artifact.
func (r *ignoreRules) excluded(p []string, isDir bool) bool {
	return r.matcher.Match(p, isDir)
}

// mayReinclude reports whether a "!" pattern could bring back something
// below the excluded directory dir, so the walk has to look inside it.
// Upstream matches every file on its own; skipping a directory is only a
// shortcut when no negation can apply there.
func (r *ignoreRules) mayReinclude(dir []string) bool {
	for _, domain := range r.negations {
		if hasPrefix(dir, domain) || hasPrefix(domain, dir) {
			return true
		}
	}
	return false
}
