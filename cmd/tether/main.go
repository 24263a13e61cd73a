// Command tether is the GitOps engine and its command-line interface. It
// serves Argo CD's and Flux's APIs from one binary; see `tether --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	runcmd "github.com/tether-gitops/tether/internal/cli/run"
	versioncmd "github.com/tether-gitops/tether/internal/cli/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
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
	root.AddCommand(versioncmd.NewCmd(), runcmd.NewCmd(), runcmd.NewServerCmd())
	return root
}
