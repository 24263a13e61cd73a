// Command helmchart writes Tether's Helm chart (config/helm/tether),
// generated from the base install: `make chart`. A test fails when the
// chart in the repository differs from what this writes.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tether-gitops/tether/internal/cli/install"
)

func main() {
	out := flag.String("out", install.ChartDir, "directory of the chart (replaced)")
	version := flag.String("version", "0.1.0", "chart version and appVersion")
	flag.Parse()
	if err := write(*out, *version); err != nil {
		fmt.Fprintln(os.Stderr, "helmchart:", err)
		os.Exit(1)
	}
}

func write(dir, version string) error {
	files, err := install.ChartFiles(version)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	for name, data := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("wrote %d files to %s\n", len(files), dir)
	return nil
}
