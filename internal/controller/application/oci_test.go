package application

import (
	"testing"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/source/oci"
)

func TestOCIRefOf(t *testing.T) {
	d := "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		rev  string
		want oci.Ref
	}{
		{"", oci.Ref{}},
		{"HEAD", oci.Ref{}},
		{"1.16.1", oci.Ref{Tag: "1.16.1"}},
		{"v1.16.1", oci.Ref{Tag: "v1.16.1"}},
		{"latest", oci.Ref{Tag: "latest"}},
		{"main-abc123", oci.Ref{Tag: "main-abc123"}},
		{d, oci.Ref{Digest: d}},
		{"1.x", oci.Ref{SemVer: "1.x"}},
		{">=1.0.0 <2.0.0", oci.Ref{SemVer: ">=1.0.0 <2.0.0"}},
		{"~1.2", oci.Ref{SemVer: "~1.2"}},
		{"*", oci.Ref{SemVer: "*"}},
	}
	for _, tt := range tests {
		if got := ociRefOf(tt.rev); got != tt.want {
			t.Errorf("ociRefOf(%q) = %+v, want %+v", tt.rev, got, tt.want)
		}
	}
}

func TestIsOCISource(t *testing.T) {
	tests := []struct {
		src  argov1.ApplicationSource
		want bool
	}{
		{argov1.ApplicationSource{RepoURL: "oci://ghcr.io/org/app", Path: "."}, true},
		{argov1.ApplicationSource{RepoURL: "oci://ghcr.io/org/charts", Chart: "podinfo"}, false},
		{argov1.ApplicationSource{RepoURL: "https://github.com/org/app.git"}, false},
		{argov1.ApplicationSource{RepoURL: "ghcr.io/org/charts", Chart: "podinfo"}, false},
	}
	for _, tt := range tests {
		if got := isOCISource(tt.src); got != tt.want {
			t.Errorf("isOCISource(%+v) = %v", tt.src, got)
		}
	}
	if got := shortDigest("sha256:0123456789abcdef0123"); got != "sha256:0123456789ab" {
		t.Errorf("shortDigest = %s", got)
	}
}
