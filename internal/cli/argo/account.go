package argo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tether-gitops/tether/internal/cli/apiclient"
	"github.com/tether-gitops/tether/internal/cli/connect"
	"github.com/tether-gitops/tether/internal/cli/output"
)

// NewAccountCmd returns `account` and its subcommands; all of them need
// the API server, which holds the local accounts and the RBAC policy.
func NewAccountCmd(conn *connect.Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "account",
		Short: "Manage local accounts of the API server",
	}
	conn.AddFlags(cmd.PersistentFlags())
	cmd.AddCommand(accountUpdatePassword(conn), accountList(conn), accountGet(conn), accountCanI(conn))
	return cmd
}

// errAccountNeedsServer answers account commands with --core.
var errAccountNeedsServer = errors.New("accounts live in the API server: log in with `tether login SERVER` (or pass --server and --auth-token) " +
	"and run the command without --core, --kubeconfig or --kube-context")

// accountAPI returns a client of the API server, refusing --core.
func accountAPI(conn *connect.Options) (*apiclient.Client, error) {
	if conn.UseCore() {
		return nil, errAccountNeedsServer
	}
	return conn.API()
}

// accountInfo is an account as the API shows it (never its password).
type accountInfo struct {
	Name         string         `json:"name"`
	Enabled      bool           `json:"enabled"`
	Capabilities []string       `json:"capabilities,omitempty"`
	Tokens       []accountToken `json:"tokens,omitempty"`
}

// accountToken is the record of an API key (never the key itself).
type accountToken struct {
	ID        string `json:"id"`
	IssuedAt  int64  `json:"iat"`
	ExpiresAt int64  `json:"exp,omitempty"`
}

// currentUser is who the server takes the caller for.
func currentUser(ctx context.Context, c *apiclient.Client) (string, error) {
	info, err := c.UserInfo(ctx)
	if err != nil {
		return "", fmt.Errorf("ask who is logged in: %w", err)
	}
	if !info.LoggedIn || info.Username == "" {
		return "", errors.New("not logged in: run `tether login SERVER` first")
	}
	return info.Username, nil
}

func accountList(conn *connect.Options) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the accounts you may see",
		Args:  cobra.NoArgs,
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, err := accountAPI(conn)
		if err != nil {
			return err
		}
		var list struct {
			Items []accountInfo `json:"items"`
		}
		if err := c.Do(cmd.Context(), http.MethodGet, "/api/v1/account", nil, &list); err != nil {
			return fmt.Errorf("list accounts: %w", err)
		}
		w := cmd.OutOrStdout()
		switch out {
		case "json", "yaml":
			return output.Objects(w, out, list.Items)
		case "", "wide":
			rows := make([][]string, 0, len(list.Items))
			for _, a := range list.Items {
				rows = append(rows, []string{a.Name, fmt.Sprint(a.Enabled), strings.Join(a.Capabilities, ", ")})
			}
			return output.Table(w, []string{"NAME", "ENABLED", "CAPABILITIES"}, rows)
		}
		return fmt.Errorf("unknown output %q: use wide, json or yaml", out)
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "output format: wide, json or yaml")
	return cmd
}

func accountGet(conn *connect.Options) *cobra.Command {
	var out, name string
	cmd := &cobra.Command{
		Use:   "get",
		Short: "Show an account (yours by default) and its API keys' records",
		Args:  cobra.NoArgs,
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, err := accountAPI(conn)
		if err != nil {
			return err
		}
		if name == "" {
			if name, err = currentUser(cmd.Context(), c); err != nil {
				return err
			}
		}
		var a accountInfo
		if err := c.Do(cmd.Context(), http.MethodGet, "/api/v1/account/"+apiclient.Escape(name), nil, &a); err != nil {
			return fmt.Errorf("get account %s: %w", name, err)
		}
		w := cmd.OutOrStdout()
		switch out {
		case "json", "yaml":
			return output.Object(w, out, a)
		case "", "wide":
			return printAccount(w, &a)
		}
		return fmt.Errorf("unknown output %q: use wide, json or yaml", out)
	}
	cmd.Flags().StringVarP(&name, "account", "a", "", "account name (yours by default)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "output format: wide, json or yaml")
	return cmd
}

// printAccount prints the lines of `argocd account get`.
func printAccount(w io.Writer, a *accountInfo) error {
	fmt.Fprintf(w, "%-20s%s\n", "Name:", a.Name)
	fmt.Fprintf(w, "%-20s%v\n", "Enabled:", a.Enabled)
	fmt.Fprintf(w, "%-20s%s\n", "Capabilities:", strings.Join(a.Capabilities, ", "))
	fmt.Fprintln(w, "\nTokens:")
	if len(a.Tokens) == 0 {
		fmt.Fprintln(w, "NONE")
		return nil
	}
	rows := make([][]string, 0, len(a.Tokens))
	for _, t := range a.Tokens {
		rows = append(rows, []string{t.ID, unixTime(t.IssuedAt, "Unknown"), unixTime(t.ExpiresAt, "never")})
	}
	return output.Table(w, []string{"ID", "ISSUED AT", "EXPIRING AT"}, rows)
}

func accountCanI(conn *connect.Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "can-i ACTION RESOURCE SUBRESOURCE",
		Short: "Say whether you may take an action (prints yes or no)",
		Example: "  tether account can-i sync applications 'default/*'\n" +
			"  tether account can-i get clusters '*'",
		Args: cobra.ExactArgs(3),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		c, err := accountAPI(conn)
		if err != nil {
			return err
		}
		action, resource, object := args[0], args[1], args[2]
		segments := strings.Split(object, "/")
		for i := range segments {
			segments[i] = apiclient.Escape(segments[i])
		}
		path := "/api/v1/account/can-i/" + apiclient.Escape(resource) + "/" + apiclient.Escape(action) + "/" + strings.Join(segments, "/")
		var answer struct {
			Value string `json:"value"`
		}
		if err := c.Do(cmd.Context(), http.MethodGet, path, nil, &answer); err != nil {
			return fmt.Errorf("can-i %s %s %s: %w", action, resource, object, err)
		}
		fmt.Fprintln(cmd.OutOrStdout(), answer.Value)
		return nil
	}
	return cmd
}

func accountUpdatePassword(conn *connect.Options) *cobra.Command {
	var account, current, next string
	cmd := &cobra.Command{
		Use:   "update-password",
		Short: "Change a local account's password (yours by default)",
		Long: "Change the password of your local account, or of another one when your rights allow it; either way you " +
			"prove who you are with your current password. Tokens issued before the change stop working: when you change " +
			"your own password, the login context is given a new token.",
		Args: cobra.NoArgs,
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, err := accountAPI(conn)
		if err != nil {
			return err
		}
		ctx := cmd.Context()
		me, err := currentUser(ctx, c)
		if err != nil {
			return err
		}
		if account == "" {
			account = me
		}
		if current, err = askPassword(cmd, current, "--current-password", fmt.Sprintf("*** Enter password of currently logged in user (%s): ", me)); err != nil {
			return err
		}
		if next == "" {
			if next, err = askNewPassword(cmd, account); err != nil {
				return err
			}
		}
		body := map[string]string{"name": account, "currentPassword": current, "newPassword": next}
		if err := c.Do(ctx, http.MethodPut, "/api/v1/account/password", body, nil); err != nil {
			return fmt.Errorf("update the password of %s: %w", account, err)
		}
		fmt.Fprintln(cmd.OutOrStdout(), "Password updated")
		if account != me || conn.AuthToken != "" {
			return nil
		}
		return renewContextToken(cmd, conn, c.Server(), account, next)
	}
	fs := cmd.Flags()
	fs.StringVar(&account, "account", "", "account whose password changes (yours by default)")
	fs.StringVar(&current, "current-password", "", "password of the logged in user (asked on a terminal when not given)")
	fs.StringVar(&next, "new-password", "", "new password (asked on a terminal when not given)")
	return cmd
}

// askPassword returns value, or asks for it on a terminal.
func askPassword(cmd *cobra.Command, value, flag, question string) (string, error) {
	if value != "" {
		return value, nil
	}
	if !stdinIsTerminal() {
		return "", fmt.Errorf("%s not given and standard input is not a terminal to ask on: pass %s", flag, flag)
	}
	return prompt(cmd, question, true)
}

// askNewPassword asks twice for the new password on a terminal.
func askNewPassword(cmd *cobra.Command, account string) (string, error) {
	next, err := askPassword(cmd, "", "--new-password", fmt.Sprintf("*** Enter new password for user %s: ", account))
	if err != nil {
		return "", err
	}
	again, err := prompt(cmd, fmt.Sprintf("*** Confirm new password for user %s: ", account), true)
	if err != nil {
		return "", err
	}
	if again != next {
		return "", errors.New("the passwords do not match")
	}
	return next, nil
}

// renewContextToken logs in again with the new password and stores the
// token in the login context (the old one was revoked by the change).
func renewContextToken(cmd *cobra.Command, conn *connect.Options, server, user, password string) error {
	cfg, err := connect.ReadConfig(conn.ConfigPath)
	if err != nil {
		return err
	}
	ctxInfo, srv, _, ok := cfg.Lookup(conn.ContextName)
	if !ok || (conn.Server != "" && conn.Server != srv.Server) {
		return nil
	}
	c, err := apiclient.New(apiclient.Options{Server: server, Insecure: conn.Insecure || srv.Insecure,
		Plaintext: conn.Plaintext || srv.PlainText, Timeout: conn.RequestTimeout})
	if err != nil {
		return err
	}
	token, err := loginAfterChange(cmd.Context(), c, user, password)
	if err != nil {
		return fmt.Errorf("log in again with the new password (run `tether login %s`): %w", srv.Server, err)
	}
	for i := range cfg.Users {
		if cfg.Users[i].Name == ctxInfo.User {
			cfg.Users[i].AuthToken = token
		}
	}
	if err := cfg.Write(conn.ConfigPath); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Context '%s' updated\n", ctxInfo.Name)
	return nil
}

// loginAfterChange logs in with a password just changed, retrying a few
// seconds while the server has not yet read the new one from its
// settings.
func loginAfterChange(ctx context.Context, c *apiclient.Client, user, password string) (string, error) {
	deadline := time.Now().Add(4 * time.Second) // few tries: failures count towards the lockout
	for {
		token, err := c.Login(ctx, user, password)
		var refused *apiclient.Error
		if err == nil || !errors.As(err, &refused) || refused.Status/100 != 4 || time.Now().After(deadline) {
			return token, err
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
