// Package root assembles the tether command tree. The same tree answers
// to the names argocd and flux (a link to the binary), so that scripts
// written for either tool keep working; the name only changes which way
// a command reaches Tether when no flag says (see connect.Prefer).
package root

import (
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tether-gitops/tether/internal/cli/admin"
	"github.com/tether-gitops/tether/internal/cli/argo"
	artifactcmd "github.com/tether-gitops/tether/internal/cli/artifact"
	"github.com/tether-gitops/tether/internal/cli/connect"
	"github.com/tether-gitops/tether/internal/cli/flux"
	"github.com/tether-gitops/tether/internal/cli/install"
	"github.com/tether-gitops/tether/internal/cli/localbuild"
	"github.com/tether-gitops/tether/internal/cli/migrate"
	runcmd "github.com/tether-gitops/tether/internal/cli/run"
	"github.com/tether-gitops/tether/internal/cli/seal"
	versioncmd "github.com/tether-gitops/tether/internal/cli/version"
)

// NewCmd returns the command tree for a binary invoked as argv0.
func NewCmd(argv0 string) *cobra.Command {
	name := strings.TrimSuffix(filepath.Base(argv0), ".exe")
	conn := connect.NewOptions()
	switch name {
	case "argocd":
		conn.Prefer = connect.PreferServer
	case "flux":
		conn.Prefer = connect.PreferCore
	default:
		name = "tether"
	}
	root := &cobra.Command{
		Use:           name,
		Short:         "Tether keeps Kubernetes clusters equal to what Git says",
		Long:          "Tether is a GitOps engine that runs Argo CD Applications and Flux toolkit resources unchanged, on one engine.",
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	root.AddCommand(versioncmd.NewCmd(), runcmd.NewCmd(), runcmd.NewServerCmd())
	root.AddCommand(argo.NewLoginCmd(conn), argo.NewLogoutCmd(conn), argo.NewContextCmd(conn), argo.NewAppCmd(conn),
		argo.NewProjCmd(conn), argo.NewClusterCmd(conn), argo.NewRepoCmd(conn), argo.NewAccountCmd(conn))
	root.AddCommand(flux.NewGetCmd(conn), flux.NewReconcileCmd(conn), flux.NewSuspendCmd(conn), flux.NewResumeCmd(conn),
		flux.NewTreeCmd(conn), flux.NewEventsCmd(conn), flux.NewLogsCmd(conn))
	build := localbuild.NewBuildCmd(conn)
	build.AddCommand(artifactcmd.NewBuildCmd())
	root.AddCommand(build, localbuild.NewDiffCmd(conn), migrate.NewCmd())
	root.AddCommand(artifactcmd.NewPushCmd(), artifactcmd.NewTagCmd())
	root.AddCommand(install.NewInstallCmd(conn), install.NewUninstallCmd(conn), install.NewCheckCmd(conn),
		admin.NewCmd(conn), seal.NewCmd(conn))
	return root
}
