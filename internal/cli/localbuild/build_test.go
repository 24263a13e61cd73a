package localbuild

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/tether-gitops/tether/internal/cli/connect"
)

func TestRunDryRunRendersAsTheController(t *testing.T) {
	var out bytes.Buffer
	err := Run(context.Background(), &Options{
		Name: "app", Namespace: "flux-system", Path: "testdata/app",
		KustomizationFile: "testdata/kustomizations.yaml", DryRun: true, Out: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"name: pre-settings", "namespace: apps", // targetNamespace, namePrefix
		"env: staging",                          // postBuild.substitute
		"region: eu-west-1",                     // a default; substituteFrom skipped in a dry run
		"image: nginx:1.27",                     // images
		"kustomize.toolkit.fluxcd.io/name: app", // the controller's owner labels
		"kustomize.toolkit.fluxcd.io/namespace: flux-system",
		"password: ++++++++", // Secret values masked
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "plain-text-password-42") || strings.Contains(got, "stringData") {
		t.Errorf("output shows the Secret's value:\n%s", got)
	}
	if docs := strings.Count(got, "\n---\n"); docs != 2 {
		t.Errorf("%d separators, want 2 (3 objects):\n%s", docs, got)
	}
	for i, doc := range strings.Split(got, "\n---\n") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil || m["kind"] == nil {
			t.Errorf("document %d is not an object (%v):\n%s", i, err, doc)
		}
	}
}

func TestRunErrorsNameTheCause(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file.yaml")
	if err := os.WriteFile(file, []byte("a: b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts Options
		want []string
	}{
		{"missing folder", Options{Name: "app", Path: "testdata/nowhere", KustomizationFile: "testdata/kustomizations.yaml", DryRun: true},
			[]string{"--path testdata/nowhere: no such folder"}},
		{"a file as folder", Options{Name: "app", Path: file, KustomizationFile: "testdata/kustomizations.yaml", DryRun: true},
			[]string{file, "not a folder"}},
		{"dry run without file", Options{Name: "app", Path: "testdata/app", DryRun: true},
			[]string{"--dry-run needs --kustomization-file"}},
		{"invalid YAML", Options{Name: "app", Path: "testdata/broken", KustomizationFile: "testdata/kustomizations.yaml", DryRun: true},
			[]string{"build of testdata/broken failed: bad.yaml: yaml: line 7"}},
		{"no such Kustomization in the file", Options{Name: "nope", Path: "testdata/app", KustomizationFile: "testdata/kustomizations.yaml", DryRun: true},
			[]string{"testdata/kustomizations.yaml", "no Kustomization flux-system/nope"}},
		{"missing Kustomization file", Options{Name: "app", Path: "testdata/app", KustomizationFile: "testdata/absent.yaml", DryRun: true},
			[]string{"--kustomization-file", "testdata/absent.yaml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Namespace, tc.opts.Out = "flux-system", &bytes.Buffer{}
			err := Run(context.Background(), &tc.opts)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestFindKustomization(t *testing.T) {
	multi, err := os.ReadFile("testdata/kustomizations.yaml")
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := os.ReadFile("testdata/v1beta2.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ks, err := findKustomization(multi, "app", "flux-system")
	if err != nil {
		t.Fatal(err)
	}
	if ks.Spec.TargetNamespace != "apps" || ks.Spec.PostBuild.Substitute["cluster_env"] != "staging" {
		t.Errorf("found the wrong document: %+v", ks.Spec)
	}
	if _, err := findKustomization(multi, "app", "elsewhere"); err == nil {
		t.Error("a Kustomization of another namespace was taken")
	}
	// No namespace in the file: it takes -n's; an older API version's
	// fields are read too.
	ks, err = findKustomization(legacy, "legacy", "team-a")
	if err != nil {
		t.Fatal(err)
	}
	if ks.Namespace != "team-a" || len(ks.Spec.PatchesStrategicMerge) != 1 {
		t.Errorf("namespace %q, patchesStrategicMerge %d", ks.Namespace, len(ks.Spec.PatchesStrategicMerge))
	}
	if _, err := findKustomization([]byte("kind: [\n"), "x", "y"); err == nil || !strings.Contains(err.Error(), "document 1") {
		t.Errorf("error %v does not name the document", err)
	}
}

func TestOverlayAboveTheFolderBuildsFromTheWorkTree(t *testing.T) {
	repo := t.TempDir()
	files := map[string]string{
		"base/cm.yaml":                     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: base}\ndata: {from: base}\n",
		"base/kustomization.yaml":          "resources: [cm.yaml]\n",
		"overlays/prod/kustomization.yaml": "resources: [../../base]\nnameSuffix: -prod\n",
		"bin/huge":                         "not read while the folder suffices",
	}
	for name, data := range files {
		p := filepath.Join(repo, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ks := filepath.Join(t.TempDir(), "ks.yaml")
	if err := os.WriteFile(ks, []byte("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: prod}\nspec: {path: ./overlays/prod}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := func(out *bytes.Buffer) *Options {
		return &Options{Name: "prod", Namespace: "flux-system", Path: filepath.Join(repo, "overlays", "prod"),
			KustomizationFile: ks, DryRun: true, Out: out}
	}
	// Outside a Git work tree the folder is the whole source.
	err := Run(context.Background(), opts(&bytes.Buffer{}))
	if err == nil || !strings.Contains(err.Error(), "leaves the source root") {
		t.Fatalf("err = %v, want the base refused", err)
	}
	if err := os.Mkdir(filepath.Join(repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Run(context.Background(), opts(&out)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "name: base-prod") {
		t.Errorf("output:\n%s", out.String())
	}
	if root, rel, ok := workTree(filepath.Join(repo, "overlays", "prod")); !ok || root != repo || rel != "overlays/prod" {
		t.Errorf("workTree = %q, %q, %v", root, rel, ok)
	}
}

func TestCommandsParseFluxFlags(t *testing.T) {
	for _, name := range []string{"kustomization", "ks", "kustomizations"} {
		cmd := NewBuildCmd(connect.NewOptions())
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetArgs([]string{name, "legacy", "-n", "team-a", "--path", "testdata/app",
			"--kustomization-file", "testdata/v1beta2.yaml", "--dry-run"})
		if err := cmd.Execute(); err != nil {
			t.Fatalf("build %s: %v", name, err)
		}
		if !strings.Contains(out.String(), "extra: patched") || !strings.Contains(out.String(), "namespace: team-a") {
			t.Errorf("build %s printed:\n%s", name, out.String())
		}
	}
	diff := NewDiffCmd(connect.NewOptions())
	ks, _, err := diff.Find([]string{"ks"})
	if err != nil || ks.Name() != "kustomization" {
		t.Fatalf("diff ks: %v", err)
	}
	if f := diff.PersistentFlags().Lookup("namespace"); f == nil || f.DefValue != DefaultNamespace || f.Shorthand != "n" {
		t.Errorf("-n/--namespace: %+v", f)
	}
	if diff.PersistentFlags().Lookup("kubeconfig") == nil {
		t.Error("no connection flags")
	}
}
