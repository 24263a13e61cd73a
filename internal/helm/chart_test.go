package helm

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// copyDir copies the folder src to a new temporary folder and returns it.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// loadDir loads the chart in the folder dir through a root at dir.
func loadDir(t *testing.T, dir string) (*Chart, error) {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = root.Close() })
	return LoadDir(root, ".")
}

// writeFiles writes files (path relative to dir: content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoadDir(t *testing.T) {
	// A checkout: charts in sub-folders, a file outside any chart, a link
	// inside the checkout and one out of it.
	outside := filepath.Join(t.TempDir(), "secret.yaml")
	writeFiles(t, filepath.Dir(outside), map[string]string{"secret.yaml": "kind: Secret\n"})
	src := t.TempDir()
	if err := os.CopyFS(filepath.Join(src, "charts", "podinfo"), os.DirFS(podinfoDir)); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(src, "charts", "withcrd"), os.DirFS(withcrdDir)); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, src, map[string]string{
		"shared/cm.yaml":                 "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n",
		"noversion/Chart.yaml":           "apiVersion: v2\nname: noversion\n",
		"notyaml/Chart.yaml":             "apiVersion: [v2\n",
		"ignoring/Chart.yaml":            "apiVersion: v2\nname: ignoring\nversion: 0.1.0\n",
		"ignoring/.helmignore":           "*.txt\ntemplates/skip-*.yaml\n",
		"ignoring/notes.txt":             "not part of the chart",
		"ignoring/templates/cm.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept\n",
		"ignoring/templates/skip-1.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: skipped\n",
		"linkin/Chart.yaml":              "apiVersion: v2\nname: linkin\nversion: 0.1.0\n",
		"linkout/Chart.yaml":             "apiVersion: v2\nname: linkout\nversion: 0.1.0\n",
	})
	for _, dir := range []string{"linkin", "linkout"} {
		if err := os.MkdirAll(filepath.Join(src, dir, "templates"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join("..", "..", "shared", "cm.yaml"), filepath.Join(src, "linkin", "templates", "cm.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(src, "linkout", "templates", "secret.yaml")); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(src)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = root.Close() })

	tests := []struct {
		name          string
		dir           string
		wantName      string
		wantVersion   string
		wantTemplates []string // template names that must be there
		noTemplates   []string // and must not
		noFiles       []string // other files that must not be there
		wantErr       error
	}{
		{name: "chart in a sub-folder", dir: "charts/podinfo", wantName: "podinfo", wantVersion: "6.0.0", wantTemplates: []string{"templates/deployment.yaml", "templates/tests/test-connection.yaml"}},
		{name: "dot-slash path", dir: "./charts/withcrd", wantName: "withcrd", wantVersion: "1.0.0", wantTemplates: []string{"templates/widget.yaml"}},
		{name: "trailing slash", dir: "charts/withcrd/", wantName: "withcrd", wantVersion: "1.0.0"},
		{name: "helmignore applies", dir: "ignoring", wantName: "ignoring", wantVersion: "0.1.0", wantTemplates: []string{"templates/cm.yaml"}, noTemplates: []string{"templates/skip-1.yaml"}, noFiles: []string{"notes.txt"}},
		{name: "link inside the source is followed", dir: "linkin", wantName: "linkin", wantVersion: "0.1.0", wantTemplates: []string{"templates/cm.yaml"}},
		{name: "link out of the source is refused", dir: "linkout", wantErr: ErrInvalid},
		{name: "path out of the source", dir: "../podinfo", wantErr: ErrInvalid},
		{name: "path out of the source through a sub-folder", dir: "charts/../../podinfo", wantErr: ErrInvalid},
		{name: "absolute path", dir: "/charts/podinfo", wantErr: ErrInvalid},
		{name: "no Chart.yaml", dir: "shared", wantErr: ErrNotFound},
		{name: "missing folder", dir: "nope", wantErr: ErrNotFound},
		{name: "Chart.yaml without a version", dir: "noversion", wantErr: ErrInvalid},
		{name: "Chart.yaml that is not YAML", dir: "notyaml", wantErr: ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := LoadDir(root, tt.dir)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("LoadDir(%s) = %v, want %v", tt.dir, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "kind: Secret") {
					t.Errorf("error %q shows the content of a file outside the source", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadDir(%s): %v", tt.dir, err)
			}
			if ch.Name() != tt.wantName || ch.Metadata.Version != tt.wantVersion {
				t.Errorf("chart %s %s, want %s %s", ch.Name(), ch.Metadata.Version, tt.wantName, tt.wantVersion)
			}
			templates := map[string]bool{}
			for _, f := range ch.Templates {
				templates[f.Name] = true
			}
			for _, name := range tt.wantTemplates {
				if !templates[name] {
					t.Errorf("template %s missing (have %v)", name, templates)
				}
			}
			for _, name := range tt.noTemplates {
				if templates[name] {
					t.Errorf("template %s should have been ignored", name)
				}
			}
			for _, name := range tt.noFiles {
				if ChartFile(ch, name) != nil {
					t.Errorf("file %s should have been ignored", name)
				}
			}
		})
	}
}

func TestLoadArchive(t *testing.T) {
	ch, err := loadDir(t, podinfoDir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := Package(ch)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		data    []byte
		wantErr error
	}{
		{name: "packaged chart", data: data},
		{name: "empty", data: nil, wantErr: ErrInvalid},
		{name: "not an archive", data: []byte("apiVersion: v2\nname: x\n"), wantErr: ErrInvalid},
		{name: "truncated archive", data: data[:len(data)/2], wantErr: ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadArchive(tt.data)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("LoadArchive = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadArchive: %v", err)
			}
			if got.Name() != "podinfo" || got.Metadata.Version != "6.0.0" || len(got.Templates) != len(ch.Templates) {
				t.Errorf("loaded %s %s with %d templates, want podinfo 6.0.0 with %d", got.Name(), got.Metadata.Version, len(got.Templates), len(ch.Templates))
			}
		})
	}
}

func TestChartFile(t *testing.T) {
	dir := copyDir(t, podinfoDir)
	writeFiles(t, dir, map[string]string{
		"values-prod.yaml": "replicaCount: 3\n",
		"ci/values.yaml":   "replicaCount: 2\n",
	})
	ch, err := loadDir(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		want string // a substring of the file; "" means none
	}{
		{name: "values.yaml", want: "replicaCount: 1"},
		{name: "./values.yaml", want: "replicaCount: 1"},
		{name: "values-prod.yaml", want: "replicaCount: 3"},
		{name: "./values-prod.yaml", want: "replicaCount: 3"},
		{name: "ci/values.yaml", want: "replicaCount: 2"},
		{name: "ci/../values-prod.yaml", want: "replicaCount: 3"},
		{name: "Chart.yaml", want: "name: podinfo"},
		{name: "templates/deployment.yaml", want: "kind: Deployment"},
		{name: "missing.yaml", want: ""},
		{name: "ci", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ChartFile(ch, tt.name)
			if tt.want == "" {
				if got != nil {
					t.Errorf("ChartFile(%q) = %q, want nil", tt.name, got)
				}
				return
			}
			if !strings.Contains(string(got), tt.want) {
				t.Errorf("ChartFile(%q) = %q, want it to contain %q", tt.name, got, tt.want)
			}
		})
	}
}

func TestMergeValuesFilesPackageRoundtrip(t *testing.T) {
	dir := copyDir(t, podinfoDir)
	writeFiles(t, dir, map[string]string{
		"values-prod.yaml": "replicaCount: 3\nimage:\n  tag: v1\nextra: [a, b]\n",
		"bad.yaml":         "replicaCount: [3\n",
	})
	defaults := map[string]any{
		"replicaCount": 1.0,
		"image":        map[string]any{"repository": "ghcr.io/stefanprodan/podinfo", "tag": "", "pullPolicy": "IfNotPresent"},
		"service":      map[string]any{"type": "ClusterIP", "port": 9898.0},
		"ui":           map[string]any{"message": ""},
	}
	tests := []struct {
		name    string
		files   []string
		want    map[string]any
		wantErr string
	}{
		{name: "no files keeps the defaults", files: nil, want: defaults},
		{
			name:  "defaults then overrides",
			files: []string{"values.yaml", "values-prod.yaml"},
			want: MergeMaps(defaults, map[string]any{
				"replicaCount": 3.0,
				"image":        map[string]any{"tag": "v1"},
				"extra":        []any{"a", "b"},
			}),
		},
		{
			name:  "later files win",
			files: []string{"values-prod.yaml", "values.yaml"},
			want:  MergeMaps(defaults, map[string]any{"extra": []any{"a", "b"}}),
		},
		{
			name:  "files replace the defaults",
			files: []string{"values-prod.yaml"},
			want:  map[string]any{"replicaCount": 3.0, "image": map[string]any{"tag": "v1"}, "extra": []any{"a", "b"}},
		},
		{name: "invalid YAML names the file", files: []string{"values.yaml", "bad.yaml"}, wantErr: "bad.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := loadDir(t, dir)
			if err != nil {
				t.Fatal(err)
			}
			var files []ValuesFile
			for _, name := range tt.files {
				data := ChartFile(ch, name)
				if data == nil {
					t.Fatalf("no %s in the chart", name)
				}
				files = append(files, ValuesFile{Name: name, Data: data})
			}
			err = MergeValuesFiles(ch, files)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("MergeValuesFiles = %v, want ErrInvalid naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("MergeValuesFiles: %v", err)
			}
			if !reflect.DeepEqual(ch.Values, tt.want) {
				t.Errorf("chart values %v, want %v", ch.Values, tt.want)
			}
			data, err := Package(ch)
			if err != nil {
				t.Fatalf("Package: %v", err)
			}
			got, err := LoadArchive(data)
			if err != nil {
				t.Fatalf("LoadArchive: %v", err)
			}
			if !reflect.DeepEqual(got.Values, tt.want) {
				t.Errorf("packaged chart values %v, want %v", got.Values, tt.want)
			}
			var packaged map[string]any
			if err := yaml.Unmarshal(ChartFile(got, "values.yaml"), &packaged); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(packaged, tt.want) {
				t.Errorf("packaged values.yaml %v, want %v", packaged, tt.want)
			}
		})
	}
}

// TestMergeValuesFilesWithoutValuesYAML: a chart without values.yaml gets
// one in its archive.
func TestMergeValuesFilesWithoutValuesYAML(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"Chart.yaml":               "apiVersion: v2\nname: novalues\nversion: 0.1.0\n",
		"templates/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: {{ .Values.a | quote }}\n",
		"prod.yaml":                "a: prod\n",
	})
	ch, err := loadDir(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := MergeValuesFiles(ch, []ValuesFile{{Name: "prod.yaml", Data: ChartFile(ch, "prod.yaml")}}); err != nil {
		t.Fatal(err)
	}
	data, err := Package(ch)
	if err != nil {
		t.Fatal(err)
	}
	got, err := LoadArchive(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Values["a"] != "prod" || !strings.Contains(string(ChartFile(got, "values.yaml")), "a: prod") {
		t.Errorf("packaged values %v, values.yaml %q", got.Values, ChartFile(got, "values.yaml"))
	}
}

func TestCheckDependencies(t *testing.T) {
	const sub = "apiVersion: v2\nname: sub\nversion: 1.0.0\n"
	const other = "apiVersion: v2\nname: other\nversion: 2.0.0\n"
	chartYAML := func(deps string) string {
		return "apiVersion: v2\nname: parent\nversion: 1.0.0\n" + deps
	}
	tests := []struct {
		name    string
		files   map[string]string
		wantErr []string // names the error must hold; nil: no error
		bug     string
	}{
		{name: "no dependencies", files: map[string]string{"Chart.yaml": chartYAML("")}},
		{
			name: "dependency vendored as a folder",
			files: map[string]string{
				"Chart.yaml":            chartYAML("dependencies:\n  - name: sub\n    version: 1.0.0\n    repository: https://charts.example.com\n"),
				"charts/sub/Chart.yaml": sub,
			},
		},
		{
			name: "aliased dependency vendored",
			files: map[string]string{
				"Chart.yaml":            chartYAML("dependencies:\n  - name: sub\n    alias: sub2\n    version: 1.0.0\n    repository: https://charts.example.com\n"),
				"charts/sub/Chart.yaml": sub,
			},
		},
		{
			name:    "dependency missing from charts/",
			files:   map[string]string{"Chart.yaml": chartYAML("dependencies:\n  - name: sub\n    version: 1.0.0\n    repository: https://charts.example.com\n")},
			wantErr: []string{"parent", "sub"},
		},
		{
			name: "one of two dependencies missing",
			files: map[string]string{
				"Chart.yaml": chartYAML("dependencies:\n  - name: sub\n    version: 1.0.0\n    repository: https://charts.example.com\n" +
					"  - name: other\n    version: 2.0.0\n    repository: oci://ghcr.io/example\n"),
				"charts/sub/Chart.yaml": sub,
			},
			wantErr: []string{"other"},
		},
		{
			name: "both dependencies missing",
			files: map[string]string{
				"Chart.yaml": chartYAML("dependencies:\n  - name: sub\n    version: 1.0.0\n    repository: https://charts.example.com\n" +
					"  - name: other\n    version: 2.0.0\n    repository: oci://ghcr.io/example\n"),
			},
			wantErr: []string{"sub", "other"},
		},
		{
			name: "a different chart in charts/ does not count",
			files: map[string]string{
				"Chart.yaml":              chartYAML("dependencies:\n  - name: sub\n    version: 1.0.0\n    repository: https://charts.example.com\n"),
				"charts/other/Chart.yaml": other,
			},
			wantErr: []string{"sub"},
		},
		{
			name: "a missing dependency is refused even when its condition turns it off",
			files: map[string]string{
				"Chart.yaml":  chartYAML("dependencies:\n  - name: sub\n    version: 1.0.0\n    repository: https://charts.example.com\n    condition: sub.enabled\n"),
				"values.yaml": "sub:\n  enabled: false\n",
			},
			// Helm refuses it too: conditions are not looked at.
			wantErr: []string{"sub"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.bug != "" {
				t.Skip(tt.bug)
			}
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			ch, err := loadDir(t, dir)
			if err != nil {
				t.Fatal(err)
			}
			err = CheckDependencies(ch)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("CheckDependencies: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("CheckDependencies = %v, want ErrInvalid", err)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %q", err, want)
				}
			}
		})
	}
}

// TestCheckDependenciesVendoredArchive: a dependency vendored as an
// archive (what `helm dependency build` writes) counts.
func TestCheckDependenciesVendoredArchive(t *testing.T) {
	subDir := t.TempDir()
	writeFiles(t, subDir, map[string]string{"Chart.yaml": "apiVersion: v2\nname: sub\nversion: 1.0.0\n"})
	subChart, err := loadDir(t, subDir)
	if err != nil {
		t.Fatal(err)
	}
	archive, err := Package(subChart)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"Chart.yaml":           "apiVersion: v2\nname: parent\nversion: 1.0.0\ndependencies:\n  - name: sub\n    version: 1.0.0\n    repository: https://charts.example.com\n",
		"charts/sub-1.0.0.tgz": string(archive),
	})
	ch, err := loadDir(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckDependencies(ch); err != nil {
		t.Errorf("CheckDependencies: %v", err)
	}
}
