package migrate

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConvertErrors(t *testing.T) {
	kustomization := func(source string) string {
		return "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: web, namespace: flux-system}\nspec: {interval: 5m, path: ./, prune: true" + source + "}\n"
	}
	tests := []struct {
		name  string
		input string
		to    string
		want  []string // all in the error
	}{
		{"invalid YAML", "apiVersion: v1\nkind: [", "", []string{"test.yaml, document 1", "invalid YAML"}},
		{"not an object", "- a\n- b\n", "", []string{"test.yaml, document 1", "not a Kubernetes object"}},
		{"missing kind", "apiVersion: v1\nmetadata: {name: x}\n", "", []string{"document 1", "kind is missing"}},
		{"missing name", "---\n---\napiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {}\n", "", []string{"document 2", "metadata.name is missing"}},
		{"unknown kind", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n", "", []string{"document 1", `kind "Deployment"`, "not migrated"}},
		{"wrong field type", app("  source: {repoURL: r}\n  syncPolicy: {automated: {prune: yes please}}\n"), "", []string{"Application argocd/app", "prune"}},
		{"no source", app("  destination: {namespace: x}\n"), "", []string{"Application argocd/app", "spec.source is missing"}},
		{"bad image", app(gitAppHead + "  source: {repoURL: r, kustomize: {images: ['=:1']}}\n"), "", []string{"spec.source.kustomize.images[0]", "no name"}},
		{"bad values", app(gitAppHead + "  source: {repoURL: r, chart: c, helm: {values: '- a'}}\n"), "", []string{"spec.source.helm.values", "not a YAML map"}},
		{"bad backoff", app(gitAppHead + "  source: {repoURL: r}\n  syncPolicy: {automated: {}, retry: {backoff: {duration: soon}}}\n"), "", []string{"spec.syncPolicy.retry.backoff.duration"}},
		{"missing sourceRef name", kustomization(""), "", []string{"Kustomization flux-system/web", "spec.sourceRef.name is missing"}},
		{"sourceRef not in input", kustomization(", sourceRef: {kind: GitRepository, name: repo}"), "", []string{"spec.sourceRef", "GitRepository flux-system/repo is not in the input", "another -f"}},
		{"HelmRelease without chart", "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: h, namespace: ns}\nspec: {interval: 5m}\n", "", []string{"HelmRelease ns/h", "spec.chart.spec.sourceRef is missing"}},
		{"Application with --to argocd", app(gitAppHead + "  source: {repoURL: r}\n"), ToArgoCD, []string{"already an Argo CD Application"}},
		{"Flux object with --to flux", gitRepo, ToFlux, []string{"GitRepository flux-system/repo is already a Flux object"}},
		{"bad direction", gitRepo, "helm", []string{`--to "helm"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Defaults()
			o.To = tt.to
			_, err := Convert([]Input{{Name: "test.yaml", Data: []byte(tt.input)}}, o)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	manual := filepath.Join(dir, "manual.yaml")
	if err := os.WriteFile(manual, []byte(app("  source: {repoURL: https://example.com/r.git, path: a}\n  destination: {namespace: a}\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	clean := app(gitAppHead + "  source: {repoURL: https://example.com/r.git, path: b}\n")
	clean = strings.Replace(clean, "name: app", "name: clean", 1)

	t.Run("files and stdin, warnings on stderr", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if err := Run([]string{manual, "-"}, Defaults(), strings.NewReader(clean), &stdout, &stderr); err != nil {
			t.Fatal(err)
		}
		if got := strings.Count(stdout.String(), "\nkind: "); got != 4 {
			t.Errorf("%d objects written, want 4:\n%s", got, stdout.String())
		}
		want := "warning: Application argocd/app: spec.syncPolicy.automated is off, and Flux has no manual sync mode"
		if !strings.HasPrefix(stderr.String(), want) || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("stderr %q, want one line starting %q", stderr.String(), want)
		}
	})
	t.Run("strict fails and prints nothing", func(t *testing.T) {
		o := Defaults()
		o.Strict = true
		var stdout, stderr bytes.Buffer
		err := Run([]string{manual}, o, nil, &stdout, &stderr)
		if !errors.Is(err, ErrUnmapped) || stdout.Len() != 0 || !strings.Contains(stderr.String(), "spec.syncPolicy.automated") {
			t.Errorf("err %v, stdout %q, stderr %q", err, stdout.String(), stderr.String())
		}
	})
	t.Run("strict passes a clean Application", func(t *testing.T) {
		o := Defaults()
		o.Strict = true
		var stdout, stderr bytes.Buffer
		if err := Run([]string{"-"}, o, strings.NewReader(clean), &stdout, &stderr); err != nil || stderr.Len() != 0 {
			t.Errorf("err %v, stderr %q", err, stderr.String())
		}
	})
	t.Run("missing file", func(t *testing.T) {
		err := Run([]string{filepath.Join(dir, "none.yaml")}, Defaults(), nil, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "none.yaml") {
			t.Errorf("err %v", err)
		}
	})
	t.Run("command flags", func(t *testing.T) {
		cmd := NewCmd()
		var stdout, stderr bytes.Buffer
		cmd.SetOut(&stdout)
		cmd.SetErr(&stderr)
		cmd.SetIn(strings.NewReader(clean))
		cmd.SetArgs([]string{"-f", "-", "--flux-namespace", "gitops", "--interval", "10m", "--source-interval", "1m"})
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		for _, w := range []string{"namespace: gitops", "interval: 10m0s", "interval: 1m0s"} {
			if !strings.Contains(stdout.String(), w) {
				t.Errorf("output lacks %q:\n%s", w, stdout.String())
			}
		}
	})
}

func TestGitRefRoundTrip(t *testing.T) {
	for _, rev := range []string{"HEAD", "main", "feature/x", "v1.2.3", "1.0", "refs/tags/release", "refs/heads/v2",
		"refs/pull/1/head", ">=1.0.0", "1.x", "0123456789abcdef0123456789abcdef01234567"} {
		got, _ := targetRevision(gitRef(rev))
		if got != rev {
			t.Errorf("%q -> %+v -> %q", rev, gitRef(rev), got)
		}
	}
}
