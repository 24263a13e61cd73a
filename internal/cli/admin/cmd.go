package admin

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/tether-gitops/tether/internal/cli/connect"
	"github.com/tether-gitops/tether/internal/cli/output"
	"github.com/tether-gitops/tether/internal/engine"
)

// timeout bounds an export or an import.
const timeout = 10 * time.Minute

// NewCmd returns `tether admin` with export and import.
func NewCmd(conn *connect.Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Administer Tether's objects: back them up and restore them",
	}
	cmd.AddCommand(newExportCmd(conn), newImportCmd(conn))
	return cmd
}

func newExportCmd(conn *connect.Options) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write every GitOps object of the cluster to one YAML stream (status stripped; Secrets included)",
		Long: "Export writes Applications, AppProjects, Argo CD's settings and its cluster and repository Secrets\n" +
			"(in --argocd-namespace), every Flux kind and the Secrets and ConfigMaps the Flux objects reference,\n" +
			"in the order `tether admin import` restores them. The stream holds Secret values: keep it as you keep them.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := conn.Kube()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			objs, err := Export(ctx, c, Options{ArgoNamespace: conn.ArgoNamespace})
			if err != nil {
				return err
			}
			if file == "-" {
				return output.Objects(cmd.OutOrStdout(), "yaml", objs)
			}
			f, err := os.OpenFile(file, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				return err
			}
			if err := output.Objects(f, "yaml", objs); err != nil {
				f.Close()
				return fmt.Errorf("write %s: %w", file, err)
			}
			if err := f.Close(); err != nil {
				return fmt.Errorf("write %s: %w", file, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "exported %d objects to %s\n", len(objs), file)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "out", "o", "-", "file to write (mode 0600), - for standard output")
	conn.AddFlags(cmd.Flags())
	return cmd
}

func newImportCmd(conn *connect.Options) *cobra.Command {
	var files []string
	var opts ImportOptions
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Restore objects from `tether admin export` or `kubectl get -o yaml` files",
		Long: "Import validates every object with a dry run, then applies them with server-side apply in restore\n" +
			"order, creating missing namespaces. Objects already as desired are not touched; nothing is deleted.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(files) == 0 {
				files = []string{"-"}
			}
			var objs []engine.Input
			for _, name := range files {
				in, err := decodeFile(cmd.InOrStdin(), name)
				if err != nil {
					return err
				}
				objs = append(objs, in...)
			}
			c, err := conn.Kube()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			changes, err := Import(ctx, c, objs, opts)
			if err != nil {
				return err
			}
			for _, ch := range changes {
				fmt.Fprintln(cmd.OutOrStdout(), describe(ch))
			}
			if opts.DryRun {
				fmt.Fprintln(cmd.OutOrStdout(), "(dry run: nothing was written)")
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&files, "filename", "f", nil, "file to restore (repeatable), - for standard input")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "validate and report what would change, write nothing")
	conn.AddFlags(cmd.Flags())
	return cmd
}

// decodeFile decodes the file name, or stdin for "-".
func decodeFile(stdin io.Reader, name string) ([]engine.Input, error) {
	if name == "-" {
		return Decode(stdin, "standard input")
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Decode(f, name)
}
