package render

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const kustomizationOf = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n%s"

// A symlink inside the source keeps working (argo-cd#8379, the regression
// of the first fix for the symlink advisories).
func TestSymlinkInsideRootWorks_argocd8379(t *testing.T) {
	root := writeTree(t, map[string]string{
		"shared/cm.yaml":                fmt.Sprintf(configMap, "shared"),
		"shared/more.yaml":              fmt.Sprintf(configMap, "more"),
		"realbase/kustomization.yaml":   fmt.Sprintf(kustomizationOf, "resources: [more.yaml]\n"),
		"realbase/more.yaml":            fmt.Sprintf(configMap, "base"),
		"kustomized/kustomization.yaml": fmt.Sprintf(kustomizationOf, "resources: [cm.yaml, base]\n"),
	})
	symlink(t, "../shared/cm.yaml", filepath.Join(root, "app/cm.yaml"))
	symlink(t, "../shared", filepath.Join(root, "app/linked"))
	symlink(t, "../missing.yaml", filepath.Join(root, "app/dangling.yaml")) // dangling inside: ignored
	symlink(t, ".", filepath.Join(root, "app/loop"))                        // a cycle is not followed
	symlink(t, "../shared/cm.yaml", filepath.Join(root, "kustomized/cm.yaml"))
	symlink(t, "../realbase", filepath.Join(root, "kustomized/base"))

	tests := []struct {
		opts Options
		want []string
	}{
		{Options{Path: "app", Mode: ModeDirectory, Recurse: true}, []string{
			"app/cm.yaml ConfigMap /shared",
			"app/linked/cm.yaml ConfigMap /shared",
			"app/linked/more.yaml ConfigMap /more",
		}},
		{Options{Path: "kustomized", Mode: ModeKustomize}, []string{
			"kustomized/cm.yaml ConfigMap /shared",
			"kustomized/base/more.yaml ConfigMap /base",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.opts.Mode.String(), func(t *testing.T) {
			objs, err := renderOnce(t, root, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := summary(objs); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// Symlinks that leave the source are refused by name, in every mode, even
// when no manifest uses them (CVE-2022-24877 for kustomize; CVE-2022-31036,
// GHSA-6gcg-hp2x-q54h for directory apps).
func TestSymlinkEscapeRefused_CVE_2022_24877_CVE_2022_31036(t *testing.T) {
	tests := []struct {
		name, link, target string
	}{
		{"file to an absolute path", "app/passwd.yaml", "/etc/passwd"},
		{"file through ..", "app/escape.yaml", "../../outside/secret.yaml"},
		{"folder", "app/out", "../../outside"},
		{"dangling outside", "app/gone.yaml", "/nonexistent/secret.yaml"},
		{"elsewhere in the source", "docs/link", "/etc"},
	}
	for _, tt := range tests {
		for _, mode := range []Mode{ModeDirectory, ModeAuto, ModeKustomize} {
			t.Run(tt.name+"/"+mode.String(), func(t *testing.T) {
				if mode == ModeDirectory && tt.link == "docs/link" {
					t.Skip("a directory render reads only its own folder")
				}
				files := map[string]string{
					"outside/secret.yaml": fmt.Sprintf(configMap, "stolen"),
					"src/app/cm.yaml":     fmt.Sprintf(configMap, "app"),
				}
				if mode == ModeKustomize {
					files["src/app/kustomization.yaml"] = fmt.Sprintf(kustomizationOf, "resources: [cm.yaml]\n")
				}
				parent := writeTree(t, files)
				root := filepath.Join(parent, "src")
				symlink(t, tt.target, filepath.Join(root, tt.link))
				_, err := renderOnce(t, root, Options{Path: "app", Mode: mode, Recurse: mode == ModeDirectory})
				if !errors.Is(err, ErrOutsideRoot) {
					t.Fatalf("error = %v, want ErrOutsideRoot", err)
				}
				if !strings.Contains(err.Error(), tt.link) {
					t.Errorf("error %q does not name %s", err, tt.link)
				}
				if strings.Contains(err.Error(), "stolen") {
					t.Errorf("error %q leaks the target's content", err)
				}
			})
		}
	}
}

// A kustomization may not read the controller's file system
// (CVE-2022-24877): every path it names stays inside the source.
func TestKustomizationOutsideRootRefused_CVE_2022_24877(t *testing.T) {
	tests := []struct {
		name, body, entry string
	}{
		{"resource", "resources:\n  - ../../etc/passwd\n", "../../etc/passwd"},
		{"deep resource", "resources:\n  - ../../../../../../../../etc/passwd\n", "../../../../../../../../etc/passwd"},
		{"absolute resource", "resources:\n  - /etc/passwd\n", "/etc/passwd"},
		{"configMapGenerator file", "configMapGenerator:\n  - name: x\n    files:\n      - passwd=../../etc/passwd\n", "../../etc/passwd"},
		{"secretGenerator env", "secretGenerator:\n  - name: x\n    envs:\n      - ../../../root/.env\n", "../../../root/.env"},
		{"patch path", "resources: [cm.yaml]\npatches:\n  - path: ../../etc/passwd\n", "../../etc/passwd"},
		{"component", "components:\n  - ../../../somewhere\n", "../../../somewhere"},
		{"openapi", "openapi:\n  path: ../../etc/schema.json\n", "../../etc/schema.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeTree(t, map[string]string{
				"app/kustomization.yaml": fmt.Sprintf(kustomizationOf, tt.body),
				"app/cm.yaml":            fmt.Sprintf(configMap, "app"),
			})
			_, err := renderOnce(t, root, Options{Path: "app"})
			if !errors.Is(err, ErrOutsideRoot) {
				t.Fatalf("error = %v, want ErrOutsideRoot", err)
			}
			if !strings.Contains(err.Error(), "app/kustomization.yaml") || !strings.Contains(err.Error(), tt.entry) {
				t.Errorf("error %q does not name the file and the entry", err)
			}
		})
	}
}

// The last line of defence: a path the pre-check does not know (here a
// transformer config's patch path) still cannot leave the in-memory source.
func TestKustomizeFileSystemConfined_CVE_2022_24877(t *testing.T) {
	root := writeTree(t, map[string]string{
		"app/kustomization.yaml": fmt.Sprintf(kustomizationOf, "resources: [cm.yaml]\ntransformers: [patcher.yaml]\n"),
		"app/cm.yaml":            fmt.Sprintf(configMap, "app"),
		"app/patcher.yaml":       "apiVersion: builtin\nkind: PatchTransformer\nmetadata:\n  name: p\npath: ../../../../etc/passwd\ntarget:\n  kind: ConfigMap\n",
	})
	_, err := renderOnce(t, root, Options{Path: "app"})
	if err == nil || !strings.Contains(err.Error(), "leaves the source root") {
		t.Fatalf("error = %v, want a refusal to leave the source root", err)
	}
}

func TestPathOutsideRootRefused(t *testing.T) {
	root := writeTree(t, map[string]string{"cm.yaml": fmt.Sprintf(configMap, "a")})
	for _, p := range []string{"..", "../x", "a/../../b"} {
		for _, mode := range []Mode{ModeDirectory, ModeAuto} {
			_, err := renderOnce(t, root, Options{Path: p, Mode: mode})
			if !errors.Is(err, ErrOutsideRoot) {
				t.Errorf("Path %q (%s): error = %v, want ErrOutsideRoot", p, mode, err)
			}
		}
	}
	// A leading slash is read from the root, as Flux does.
	if _, err := renderOnce(t, root, Options{Path: "/"}); err != nil {
		t.Errorf("Path /: %v", err)
	}
}

// Remote bases and files are refused before kustomize could run git or
// fetch anything, at any depth.
func TestRemoteBaseRefused(t *testing.T) {
	tests := []struct{ name, body string }{
		{"https base", "resources:\n  - https://github.com/kubernetes-sigs/kustomize//examples/multibases?ref=v5.0.0\n"},
		{"github shorthand", "resources:\n  - github.com/argoproj/argocd-example-apps/guestbook\n"},
		{"scp-style", "resources:\n  - git@github.com:org/repo.git//deploy\n"},
		{"go-getter prefix", "bases:\n  - git::https://example.com/org/repo.git\n"},
		{"remote file", "resources:\n  - https://raw.githubusercontent.com/org/repo/main/deploy.yaml\n"},
		{"remote generator file", "configMapGenerator:\n  - name: x\n    files:\n      - https://example.com/config.txt\n"},
		{"in a nested base", "resources:\n  - ../base\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeTree(t, map[string]string{
				"app/kustomization.yaml":  fmt.Sprintf(kustomizationOf, tt.body),
				"base/kustomization.yaml": fmt.Sprintf(kustomizationOf, "resources:\n  - ssh://git@example.com/org/repo.git\n"),
			})
			_, err := renderOnce(t, root, Options{Path: "app"})
			if !errors.Is(err, ErrRemoteBase) {
				t.Fatalf("error = %v, want ErrRemoteBase", err)
			}
			if !strings.Contains(err.Error(), "kustomization.yaml") {
				t.Errorf("error %q does not name the kustomization", err)
			}
		})
	}
}

// With AllowRemoteBases a Git base is cloned (here from a local repository)
// and its files are read from the clone, and only from there.
func TestRemoteBaseAllowed(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	repo := writeTree(t, map[string]string{
		"base/kustomization.yaml": fmt.Sprintf(kustomizationOf, "resources: [cm.yaml]\n"),
		"base/cm.yaml":            fmt.Sprintf(configMap, "remote"),
	})
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"add", "."},
		{"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "base"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	url := "file://" + repo + "//base?ref=main"
	root := writeTree(t, map[string]string{
		"app/kustomization.yaml": fmt.Sprintf(kustomizationOf, "resources:\n  - "+url+"\n"),
	})
	if _, err := renderOnce(t, root, Options{Path: "app"}); !errors.Is(err, ErrRemoteBase) {
		t.Fatalf("without AllowRemoteBases: error = %v, want ErrRemoteBase", err)
	}
	objs, err := renderOnce(t, root, Options{Path: "app", AllowRemoteBases: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"file://" + repo + "//base/cm.yaml?ref=main ConfigMap /remote"}
	if got := summary(objs); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
