package helm

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
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

// LoadDir loads the chart in dir, a folder of an unpacked artifact (whose
// links were checked to stay inside it when it was unpacked).
func LoadDir(dir string) (*Chart, error) {
	if _, err := os.Stat(filepath.Join(dir, chartutil.ChartfileName)); err != nil {
		return nil, fmt.Errorf("%w: no %s in %s", ErrNotFound, chartutil.ChartfileName, dir)
	}
	ch, err := loader.LoadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: load chart: %v", ErrInvalid, err)
	}
	if err := ch.Validate(); err != nil {
		return nil, fmt.Errorf("%w: chart '%s': %v", ErrInvalid, ch.Name(), err)
	}
	return ch, nil
}

// CheckDependencies fails when a dependency that Chart.yaml names (and
// whose condition does not turn it off by default) is not in charts/:
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
