package localbuild

import (
	"github.com/spf13/cobra"

	"github.com/tether-gitops/tether/internal/cli/connect"
)

// DefaultNamespace is where Kustomizations are looked up when -n is not
// given, as with Flux's CLI.
const DefaultNamespace = "flux-system"

// kustomizationAliases are the names the subcommand answers to besides
// "kustomization".
var kustomizationAliases = []string{"ks", "kustomizations"}

// NewBuildCmd returns `build`, with its `kustomization` subcommand.
func NewBuildCmd(conn *connect.Options) *cobra.Command {
	opts := &Options{Namespace: DefaultNamespace}
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Render a local folder as a Kustomization would",
	}
	addCommonFlags(cmd, conn, opts)
	ks := &cobra.Command{
		Use:     "kustomization NAME --path DIR",
		Aliases: kustomizationAliases,
		Short:   "Render a local folder as the Kustomization NAME would and print the objects",
		Long: `Build reads the Kustomization NAME from the cluster (or from --kustomization-file)
and renders the local folder --path with its spec, exactly as Tether's
Kustomization controller renders spec.path: kustomize with the spec's
namespace, prefixes, patches, images and components, then postBuild
substitution with the variables of substituteFrom read from the cluster.
It prints the objects as multi-document YAML, the values of Secrets masked.`,
		Example: `  # Render the folder as the Kustomization apps would
  tether build ks apps --path ./clusters/prod/apps

  # Use a local Kustomization file and do not connect to the cluster
  # (substituteFrom is then skipped)
  tether build ks apps --path ./clusters/prod/apps --kustomization-file ./apps.yaml --dry-run`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			opts.Out = cmd.OutOrStdout()
			if !opts.DryRun {
				opts.Kube = conn.Kube
			}
			return Run(cmd.Context(), opts)
		},
	}
	addKustomizationFlags(ks, opts)
	ks.Flags().BoolVar(&opts.DryRun, "dry-run", false,
		"do not connect to the cluster: needs --kustomization-file, and skips postBuild.substituteFrom")
	cmd.AddCommand(ks)
	return cmd
}

// NewDiffCmd returns `diff`, with its `kustomization` subcommand.
func NewDiffCmd(conn *connect.Options) *cobra.Command {
	opts := &Options{Namespace: DefaultNamespace}
	cmd := &cobra.Command{
		Use:   "diff",
		Short: "Diff a local folder against the cluster",
	}
	addCommonFlags(cmd, conn, opts)
	ks := &cobra.Command{
		Use:     "kustomization NAME --path DIR",
		Aliases: kustomizationAliases,
		Short:   "Show what applying a local folder as the Kustomization NAME would change",
		Long: `Diff renders the local folder --path as 'build kustomization' does, then
compares every object with the cluster as Tether's Kustomization controller
does before it applies: a server-side dry-run apply with its field manager.
It prints the objects that would be created, those that would change (with a
unified diff, cluster first) and, when the Kustomization prunes, those of its
inventory that the folder no longer has. Secret values are masked.

Exit status: 0 when nothing would change, 1 when something would or when
the diff failed.`,
		Example: `  # Preview local changes against the cluster
  tether diff ks apps --path ./clusters/prod/apps

  # With a local Kustomization file instead of the cluster's
  tether diff ks apps --path ./clusters/prod/apps --kustomization-file ./apps.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			opts.Out = cmd.OutOrStdout()
			opts.Kube = conn.Kube
			return RunDiff(cmd.Context(), opts)
		},
	}
	addKustomizationFlags(ks, opts)
	cmd.AddCommand(ks)
	return cmd
}

func addCommonFlags(cmd *cobra.Command, conn *connect.Options, opts *Options) {
	fs := cmd.PersistentFlags()
	conn.AddFlags(fs)
	fs.StringVarP(&opts.Namespace, "namespace", "n", opts.Namespace, "namespace of the Kustomization")
}

func addKustomizationFlags(cmd *cobra.Command, opts *Options) {
	cmd.Flags().StringVar(&opts.Path, "path", "", "local folder that stands for the Kustomization's spec.path (required)")
	cmd.Flags().StringVar(&opts.KustomizationFile, "kustomization-file", "",
		"file holding the Kustomization NAME, used instead of the cluster's")
	_ = cmd.MarkFlagRequired("path")
}
