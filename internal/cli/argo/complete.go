package argo

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/tether-gitops/tether/internal/cli/connect"
)

// completeApps completes application names from the server (or the
// cluster with --core) for shell completion.
func completeApps(conn *connect.Options) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(cmd *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
		a, err := newApps(conn)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
		}
		items, err := a.List(cmd.Context(), "", "")
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
		}
		var names []string
		for _, app := range items {
			if strings.HasPrefix(app.Name, prefix) {
				names = append(names, app.Name)
			}
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}
