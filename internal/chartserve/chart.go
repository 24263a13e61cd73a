package chartserve

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"

	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
)

// Archive is a packaged chart, as `helm package` writes it.
type Archive struct {
	// Name and Version are the chart's name and version.
	Name, Version string
	// Filename is "<name>-<version>.tgz".
	Filename string
	// Data is the gzipped tar archive.
	Data []byte
	// Digest is the hex SHA-256 of Data, as index.yaml lists it.
	Digest string
	// Metadata is a copy of the archive's Chart.yaml.
	Metadata chart.Metadata
}

// Load loads the chart folder chartDir with the Helm SDK and, when version
// is not empty, sets its version to it (appVersion stays as it is).
func Load(chartDir, version string) (*chart.Chart, error) {
	ch, err := loader.LoadDir(chartDir)
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", chartDir, err)
	}
	if version != "" {
		ch.Metadata.Version = version
	}
	return ch, nil
}

// SetValues replaces the chart's values.yaml, both the file that Package
// archives and the chart's parsed Values.
func SetValues(ch *chart.Chart, valuesYAML []byte) error {
	values, err := common.ReadValues(valuesYAML)
	if err != nil {
		return fmt.Errorf("values of chart %s: %w", ch.Name(), err)
	}
	ch.Values = values.AsMap()
	for _, f := range ch.Raw {
		if f.Name == chartutil.ValuesfileName {
			f.Data = valuesYAML
			return nil
		}
	}
	return fmt.Errorf("chart %s has no %s to replace", ch.Name(), chartutil.ValuesfileName)
}

// Package archives ch as `helm package` does (the Helm SDK's Save).
func Package(ch *chart.Chart) (Archive, error) {
	tmp, err := os.MkdirTemp("", "chartserve-package-*")
	if err != nil {
		return Archive{}, fmt.Errorf("package chart %s: %w", ch.Name(), err)
	}
	defer os.RemoveAll(tmp)
	path, err := chartutil.Save(ch, tmp)
	if err != nil {
		return Archive{}, fmt.Errorf("package chart %s: %w", ch.Name(), err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Archive{}, fmt.Errorf("package chart %s: %w", ch.Name(), err)
	}
	sum := sha256.Sum256(data)
	return Archive{
		Name:     ch.Name(),
		Version:  ch.Metadata.Version,
		Filename: fmt.Sprintf("%s-%s.tgz", ch.Name(), ch.Metadata.Version),
		Data:     data,
		Digest:   hex.EncodeToString(sum[:]),
		Metadata: *ch.Metadata,
	}, nil
}

// PackageDir is Load then Package.
func PackageDir(chartDir, version string) (Archive, error) {
	ch, err := Load(chartDir, version)
	if err != nil {
		return Archive{}, err
	}
	return Package(ch)
}
