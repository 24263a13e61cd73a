// Command tether is the GitOps engine and its command-line interface. It
// serves Argo CD's and Flux's APIs from one binary; see `tether --help`.
package main

import (
	"os"

	"github.com/spf13/cobra"

	versioncmd "github.com/tether-gitops/tether/internal/cli/version"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		os.Exit(1)
	}
}

// newRootCmd wires every subcommand; commands live in internal/cli.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "tether",
		Short:         "Tether keeps Kubernetes clusters equal to what Git says",
		Long:          "Tether is a GitOps engine that runs Argo CD Applications and Flux toolkit resources unchanged, on one engine.",
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	root.AddCommand(versioncmd.NewCmd())
	return root
}
