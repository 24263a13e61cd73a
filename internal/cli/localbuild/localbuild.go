// Package localbuild implements `tether build ks` and `tether diff ks`.
package localbuild

import (
	"github.com/spf13/cobra"

	"github.com/tether-gitops/tether/internal/cli/connect"
)

// NewBuildCmd returns `build`.
func NewBuildCmd(conn *connect.Options) *cobra.Command {
	return &cobra.Command{Use: "build", Short: "Render a local folder as a Kustomization would"}
}

// NewDiffCmd returns `diff`.
func NewDiffCmd(conn *connect.Options) *cobra.Command {
	return &cobra.Command{Use: "diff", Short: "Diff a local folder against the cluster"}
}
