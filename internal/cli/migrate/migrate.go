// Package migrate implements `tether migrate`.
package migrate

import "github.com/spf13/cobra"

// NewCmd returns `migrate`.
func NewCmd() *cobra.Command {
	return &cobra.Command{Use: "migrate", Short: "Turn an Argo CD Application into Flux objects and back"}
}
