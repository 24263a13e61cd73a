package git

import (
	"errors"
	"strings"
	"testing"
)

const (
	hashA = "1111111111111111111111111111111111111111"
	hashB = "2222222222222222222222222222222222222222"
	hashC = "3333333333333333333333333333333333333333"
	hashT = "4444444444444444444444444444444444444444" // an annotated tag object
)

func TestRefPrecedence(t *testing.T) {
	all := Ref{Branch: "b", Tag: "t", SemVer: ">=1", Name: "refs/heads/n", Commit: hashA}
	tests := []struct {
		ref  Ref
		want refKind
		desc string
	}{
		{Ref{}, kindBranch, "branch 'master'"},
		{Ref{Branch: "main"}, kindBranch, "branch 'main'"},
		{Ref{Branch: "main", Tag: "v1"}, kindTag, "tag 'v1'"},
		{Ref{Tag: "v1", SemVer: "1.x"}, kindSemVer, "semver range '1.x'"},
		{Ref{SemVer: "1.x", Name: "refs/pull/1/head"}, kindName, "ref 'refs/pull/1/head'"},
		{all, kindCommit, "commit '" + hashA + "' on branch 'b'"},
		{Ref{Commit: hashA}, kindCommit, "commit '" + hashA + "'"},
	}
	for _, tt := range tests {
		if got := tt.ref.kind(); got != tt.want {
			t.Errorf("%+v: kind %d, want %d", tt.ref, got, tt.want)
		}
		if got := tt.ref.String(); got != tt.desc {
			t.Errorf("%+v: String() = %q, want %q", tt.ref, got, tt.desc)
		}
	}
}

func TestRefValidate(t *testing.T) {
	tests := []struct {
		ref     Ref
		wantErr string
	}{
		{Ref{Commit: hashA}, ""},
		{Ref{Commit: strings.ToUpper("abcdef") + hashA[6:]}, ""},
		{Ref{Commit: "abc123"}, "not a full 40-character"},
		{Ref{Commit: strings.Repeat("g", 40)}, "not a full 40-character"},
		{Ref{SemVer: ">=1.0.0 <2"}, ""},
		{Ref{SemVer: "not a range"}, "semver range"},
		{Ref{Name: "refs/heads/main"}, ""},
		{Ref{Name: "refs/heads/"}, "may not begin or end"},
		{Ref{Branch: "anything"}, ""},
	}
	for _, tt := range tests {
		err := tt.ref.validate()
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%+v: validate() = %v, want error containing %q", tt.ref, err, tt.wantErr)
		}
	}
}

func TestRevision(t *testing.T) {
	tests := []struct {
		refName  string
		absolute bool
		want     string
	}{
		{"refs/heads/main", false, "main@sha1:" + hashA},
		{"refs/heads/feature/x", false, "feature/x@sha1:" + hashA},
		{"refs/tags/v1.2.0", false, "v1.2.0@sha1:" + hashA},
		{"refs/tags/release/v1", false, "release/v1@sha1:" + hashA},
		{"refs/heads/main", true, "refs/heads/main@sha1:" + hashA},
		{"refs/pull/1/head", true, "refs/pull/1/head@sha1:" + hashA},
		{"", false, "sha1:" + hashA},
		{"HEAD", false, "sha1:" + hashA}, // as Flux's Commit.String for a short name
		{"HEAD", true, "HEAD@sha1:" + hashA},
	}
	for _, tt := range tests {
		if got := revision(tt.refName, hashA, tt.absolute); got != tt.want {
			t.Errorf("revision(%q, %v) = %q, want %q", tt.refName, tt.absolute, got, tt.want)
		}
	}
}

// sampleRefs is what ls-remote returns for a small repository.
var sampleRefs = map[string]string{
	"HEAD":                  "ref: refs/heads/master",
	"refs/heads/master":     hashA,
	"refs/heads/feature/x":  hashB,
	"refs/tags/v1.0.0":      hashA,
	"refs/tags/v1.1.0":      hashT, // annotated
	"refs/tags/v1.1.0^{}":   hashB,
	"refs/tags/v2.0.0-rc.1": hashC,
	"refs/tags/latest":      hashC,
	"refs/pull/7/head":      hashC,
}

func TestResolveIn(t *testing.T) {
	tests := []struct {
		ref     Ref
		want    Resolved
		wantErr error
	}{
		{Ref{}, Resolved{hashA, "refs/heads/master", "master@sha1:" + hashA}, nil},
		{Ref{Branch: "feature/x"}, Resolved{hashB, "refs/heads/feature/x", "feature/x@sha1:" + hashB}, nil},
		{Ref{Branch: "nope"}, Resolved{}, ErrRefNotFound},
		{Ref{Tag: "v1.0.0"}, Resolved{hashA, "refs/tags/v1.0.0", "v1.0.0@sha1:" + hashA}, nil},
		{Ref{Tag: "v1.1.0"}, Resolved{hashB, "refs/tags/v1.1.0", "v1.1.0@sha1:" + hashB}, nil}, // peeled
		{Ref{Tag: "v9"}, Resolved{}, ErrRefNotFound},
		{Ref{SemVer: "1.x"}, Resolved{hashB, "refs/tags/v1.1.0", "v1.1.0@sha1:" + hashB}, nil},
		{Ref{SemVer: "<1.1.0"}, Resolved{hashA, "refs/tags/v1.0.0", "v1.0.0@sha1:" + hashA}, nil},
		{Ref{SemVer: ">=2.0.0-0"}, Resolved{hashC, "refs/tags/v2.0.0-rc.1", "v2.0.0-rc.1@sha1:" + hashC}, nil},
		{Ref{SemVer: ">=3"}, Resolved{}, ErrNoMatchingTag},
		{Ref{Name: "refs/pull/7/head"}, Resolved{hashC, "refs/pull/7/head", "refs/pull/7/head@sha1:" + hashC}, nil},
		{Ref{Name: "refs/tags/v1.1.0"}, Resolved{hashB, "refs/tags/v1.1.0", "refs/tags/v1.1.0@sha1:" + hashB}, nil},
		{Ref{Name: "HEAD"}, Resolved{hashA, "refs/heads/master", "HEAD@sha1:" + hashA}, nil},
		{Ref{Name: "refs/heads/nope"}, Resolved{}, ErrRefNotFound},
		{Ref{Commit: hashC}, Resolved{hashC, "", "sha1:" + hashC}, nil},
		{Ref{Commit: strings.ToUpper(hashC[:2]) + hashC[2:], Tag: "ignored"}, Resolved{hashC, "", "sha1:" + hashC}, nil},
		{Ref{Commit: hashC, Branch: "master"}, Resolved{hashC, "refs/heads/master", "master@sha1:" + hashC}, nil},
		{Ref{Commit: hashC, Branch: "nope"}, Resolved{}, ErrRefNotFound},
	}
	for _, tt := range tests {
		got, err := resolveIn(sampleRefs, tt.ref)
		if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
			t.Errorf("%v: error %v, want %v", tt.ref, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("%v: got %+v, want %+v", tt.ref, got, tt.want)
		}
	}
}

// TestResolveRemoteHead: Ref{Name: "HEAD"} follows whatever branch the
// remote's HEAD names, not Flux's default branch; a server that does not
// say which branch HEAD is gives its commit, fetched as HEAD.
func TestResolveRemoteHead(t *testing.T) {
	mainRepo := map[string]string{"HEAD": "ref: refs/heads/main", "refs/heads/main": hashB, "refs/heads/develop": hashC}
	if got, err := resolveIn(mainRepo, Ref{Name: "HEAD"}); err != nil || got != (Resolved{hashB, "refs/heads/main", "HEAD@sha1:" + hashB}) {
		t.Errorf("HEAD -> main: got %+v, %v", got, err)
	}
	if _, err := resolveIn(mainRepo, Ref{}); !errors.Is(err, ErrRefNotFound) {
		t.Errorf("the zero Ref follows Flux's default branch master, which this repository lacks: error %v", err)
	}
	develop := map[string]string{"HEAD": "ref: refs/heads/develop", "refs/heads/main": hashB, "refs/heads/develop": hashC}
	if got, err := resolveIn(develop, Ref{Name: "HEAD"}); err != nil || got.Commit != hashC || got.RefName != "refs/heads/develop" {
		t.Errorf("HEAD -> develop: got %+v, %v", got, err)
	}
	detached := map[string]string{"HEAD": hashA, "refs/heads/main": hashB}
	if got, err := resolveIn(detached, Ref{Name: "HEAD"}); err != nil || got.Commit != hashA || got.RefName != "HEAD" {
		t.Errorf("HEAD without symref: got %+v, %v", got, err)
	}
	if _, err := resolveIn(map[string]string{"HEAD": "ref: refs/heads/gone"}, Ref{Name: "HEAD"}); !errors.Is(err, ErrRefNotFound) {
		t.Errorf("HEAD naming a missing branch: error %v", err)
	}
}

func TestHighestTag(t *testing.T) {
	tags := []string{"v1.0.0", "1.2.0", "v1.10.0", "v1.9.9", "v2.0.0-beta.1", "v2.0.0",
		"latest", "v1.3", "1.2.0+build.2", "1.2.0+build.1", "v3.0.0.0"}
	tests := []struct {
		rangeExpr string
		want      string
		wantErr   error
	}{
		{"*", "v2.0.0", nil},
		{"1.x", "v1.10.0", nil},
		{"~1.2", "1.2.0+build.2", nil}, // equal versions: the greatest name
		{"<1.2.0", "v1.0.0", nil},
		{">=2.0.0-0 <2.0.0", "v2.0.0-beta.1", nil},
		{">=2.0.0 <2.0.0-0", "", ErrNoMatchingTag},
		{"1.3", "", ErrNoMatchingTag}, // "v1.3" is not strict semver, as in Flux
		{">=4", "", ErrNoMatchingTag},
	}
	for _, tt := range tests {
		got, err := highestTag(tags, tt.rangeExpr)
		if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
			t.Errorf("%q: error %v, want %v", tt.rangeExpr, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.rangeExpr, got, tt.want)
		}
	}
	if _, err := highestTag(tags, "what"); err == nil || errors.Is(err, ErrNoMatchingTag) {
		t.Errorf("bad range: error %v, want a parse error", err)
	}
}
