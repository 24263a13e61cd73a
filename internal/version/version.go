// Package version reports the build of Tether that is running.
//
// The values are set at link time by the Makefile:
//
//	go build -ldflags "-X github.com/tether-gitops/tether/internal/version.Version=v0.1.0"
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is the release of Tether, or "dev" for a local build.
var Version = "dev"

// Commit is the Git commit Tether was built from, when known.
var Commit = ""

// Info describes a build of Tether.
type Info struct {
	// Version is the release, such as v0.1.0, or "dev".
	Version string `json:"version"`
	// Commit is the Git commit, when known.
	Commit string `json:"commit,omitempty"`
	// GoVersion is the Go toolchain that built the binary.
	GoVersion string `json:"goVersion"`
	// Platform is GOOS/GOARCH.
	Platform string `json:"platform"`
}

// Get returns the Info of the running binary. When the linker did not set
// Commit, the VCS revision recorded by the Go toolchain is used.
func Get() Info {
	commit := Commit
	if commit == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					commit = s.Value
				}
			}
		}
	}
	return Info{
		Version:   Version,
		Commit:    commit,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
}

// String returns a one-line description such as
// "tether dev (commit abc123, go1.26.8, linux/amd64)".
func (i Info) String() string {
	commit := i.Commit
	if commit == "" {
		commit = "unknown"
	}
	return fmt.Sprintf("tether %s (commit %s, %s, %s)", i.Version, commit, i.GoVersion, i.Platform)
}
