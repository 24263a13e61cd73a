// Package version implements `tether version`.
package version

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/tether-gitops/tether/internal/version"
)

// Options holds the flags of `tether version`.
type Options struct {
	// Output is "" for one line of text or "json".
	Output string
	// Out receives the output.
	Out io.Writer
}

// NewCmd returns the `version` command.
func NewCmd() *cobra.Command {
	opts := &Options{}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of Tether",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Out = cmd.OutOrStdout()
			return Run(opts, version.Get())
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", `output format: "" (text) or "json"`)
	return cmd
}

// Run prints info in the format that opts asks for.
func Run(opts *Options, info version.Info) error {
	switch opts.Output {
	case "":
		_, err := fmt.Fprintln(opts.Out, info.String())
		return err
	case "json":
		enc := json.NewEncoder(opts.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	default:
		return fmt.Errorf("unknown output format %q: use \"json\" or leave it empty", opts.Output)
	}
}
