package helm

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/ignore"
	"sigs.k8s.io/yaml"
)

// Chart is a loaded Helm chart.
type Chart = chart.Chart

// LoadArchive loads a chart archive (.tgz).
func LoadArchive(data []byte) (*Chart, error) {
	ch, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: load chart archive: %v", ErrInvalid, err)
	}
	if err := ch.Validate(); err != nil {
		return nil, fmt.Errorf("%w: chart '%s': %v", ErrInvalid, ch.Name(), err)
	}
	return ch, nil
}

// LoadDir loads the chart in the folder dir (slash-separated, relative to
// root) of a checkout or unpacked artifact. Files are read through root,
// so a symbolic link cannot make the chart read anything outside it; the
// chart's .helmignore applies. A file of more than MaxChartSize is
// refused.
func LoadDir(root *os.Root, dir string) (*Chart, error) {
	dir = path.Clean(strings.TrimPrefix(filepath.ToSlash(dir), "./"))
	if !filepath.IsLocal(dir) && dir != "." {
		return nil, fmt.Errorf("%w: chart path '%s' leaves the source", ErrInvalid, dir)
	}
	fsys := root.FS()
	if _, err := fs.Stat(fsys, path.Join(dir, chartutil.ChartfileName)); err != nil {
		return nil, fmt.Errorf("%w: no %s in %s", ErrNotFound, chartutil.ChartfileName, dir)
	}
	rules := ignore.Empty()
	if data, err := fs.ReadFile(fsys, path.Join(dir, ignore.HelmIgnore)); err == nil {
		if rules, err = ignore.Parse(bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, ignore.HelmIgnore, err)
		}
	}
	rules.AddDefaults()
	var files []*archive.BufferedFile
	var total int64
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, dir), "/")
		if rel == "" {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if rules.Ignore(rel, info) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		if total += int64(len(data)); total > DefaultMaxChartSize*10 {
			return fmt.Errorf("chart %s is larger than %d bytes", dir, DefaultMaxChartSize*10)
		}
		files = append(files, &archive.BufferedFile{Name: rel, Data: data, ModTime: info.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: load chart %s: %v", ErrInvalid, dir, err)
	}
	ch, err := loader.LoadFiles(files)
	if err != nil {
		return nil, fmt.Errorf("%w: load chart %s: %v", ErrInvalid, dir, err)
	}
	if err := ch.Validate(); err != nil {
		return nil, fmt.Errorf("%w: chart '%s': %v", ErrInvalid, ch.Name(), err)
	}
	return ch, nil
}

// CheckDependencies fails when a dependency that Chart.yaml names is not in
// charts/ (conditions are not looked at, as Helm's own install does not):
// Tether does not download dependencies of charts built from Git.
func CheckDependencies(ch *Chart) error {
	have := map[string]bool{}
	for _, d := range ch.Dependencies() {
		have[d.Name()] = true
	}
	var missing []string
	for _, d := range ch.Metadata.Dependencies {
		if !have[d.Name] {
			missing = append(missing, d.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: chart '%s' needs dependencies %s that are not in its charts/ folder; vendor them (helm dependency build) or publish the chart to a repository",
			ErrInvalid, ch.Name(), strings.Join(missing, ", "))
	}
	return nil
}

// Package writes ch as a chart archive and returns its bytes.
func Package(ch *Chart) ([]byte, error) {
	dir, err := os.MkdirTemp("", "tether-chart-")
	if err != nil {
		return nil, fmt.Errorf("package chart '%s': %w", ch.Name(), err)
	}
	defer os.RemoveAll(dir)
	file, err := chartutil.Save(ch, dir)
	if err != nil {
		return nil, fmt.Errorf("package chart '%s': %w", ch.Name(), err)
	}
	return os.ReadFile(file)
}

// ValuesFile is a values file by name with its contents.
type ValuesFile struct {
	Name string
	Data []byte
}

// ChartFile returns the file name (relative to the chart's root) from ch,
// or nil when it has none. values.yaml is a chart's raw values.
func ChartFile(ch *Chart, name string) []byte {
	name = path.Clean(strings.TrimPrefix(filepath.ToSlash(name), "./"))
	for _, f := range ch.Raw {
		if f.Name == name {
			return f.Data
		}
	}
	for _, f := range ch.Files {
		if f.Name == name {
			return f.Data
		}
	}
	return nil
}

// MergeValuesFiles replaces the chart's default values with files merged
// in order (later files win, maps merged deeply), as Flux does for a
// HelmChart's valuesFiles, and writes them as values.yaml so the packaged
// chart carries them.
func MergeValuesFiles(ch *Chart, files []ValuesFile) error {
	if len(files) == 0 {
		return nil
	}
	merged := map[string]any{}
	for _, f := range files {
		var vals map[string]any
		if err := yaml.Unmarshal(f.Data, &vals); err != nil {
			return fmt.Errorf("%w: values file '%s': %v", ErrInvalid, f.Name, err)
		}
		merged = MergeMaps(merged, vals)
	}
	data, err := yaml.Marshal(merged)
	if err != nil {
		return fmt.Errorf("values files: %w", err)
	}
	ch.Values = merged
	replaced := false
	for _, f := range ch.Raw {
		if f.Name == chartutil.ValuesfileName {
			f.Data, replaced = data, true
		}
	}
	if !replaced {
		ch.Raw = append(ch.Raw, &common.File{Name: chartutil.ValuesfileName, Data: data})
	}
	return nil
}
