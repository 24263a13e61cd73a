// Command tether is the GitOps engine and its command-line interface. It
// serves Argo CD's and Flux's APIs from one binary; see `tether --help`.
// Invoked through a link named argocd or flux, it keeps that tool's habits.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/tether-gitops/tether/internal/cli/output"
	"github.com/tether-gitops/tether/internal/cli/root"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := root.NewCmd(os.Args[0]).ExecuteContext(ctx); err != nil {
		stop()
		os.Exit(output.ExitCode(err))
	}
}
