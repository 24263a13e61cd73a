package argo

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tether-gitops/tether/internal/cli/apiclient"
	"github.com/tether-gitops/tether/internal/cli/connect"
	"github.com/tether-gitops/tether/internal/cli/output"
)

// NewLoginCmd returns `login SERVER`.
func NewLoginCmd(conn *connect.Options) *cobra.Command {
	var username, password, name string
	var sso, insecure, plaintext, grpcWeb, skipTLS bool
	cmd := &cobra.Command{
		Use:   "login SERVER",
		Short: "Log in to a Tether (or Argo CD compatible) API server and save the context",
		Args:  cobra.ExactArgs(1),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if sso {
			return errors.New("--sso is not supported yet: log in with a local account, or pass an SSO ID token with --auth-token")
		}
		server := args[0]
		c, err := apiclient.New(apiclient.Options{Server: server, Insecure: insecure || skipTLS, Plaintext: plaintext, Timeout: conn.RequestTimeout})
		if err != nil {
			return err
		}
		if username == "" {
			if username, err = prompt(cmd, "Username: ", false); err != nil {
				return err
			}
		}
		if password == "" {
			if password, err = prompt(cmd, "Password: ", true); err != nil {
				return err
			}
		}
		token, err := c.Login(cmd.Context(), username, password)
		if err != nil {
			return fmt.Errorf("login to %s: %w", server, err)
		}
		if name == "" {
			name = server
		}
		cfg, err := connect.ReadConfig(conn.ConfigPath)
		if err != nil {
			return err
		}
		cfg.Upsert(name, connect.Server{Server: server, Insecure: insecure || skipTLS, PlainText: plaintext}, token)
		if err := cfg.Write(conn.ConfigPath); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "'%s' logged in successfully\nContext '%s' updated\n", username, name)
		return nil
	}
	fs := cmd.Flags()
	fs.StringVar(&username, "username", "", "user name (asked when not given)")
	fs.StringVar(&password, "password", "", "password (asked when not given)")
	fs.StringVar(&name, "name", "", "name of the context (the server's address by default)")
	fs.BoolVar(&sso, "sso", false, "log in through the browser with SSO")
	fs.BoolVar(&insecure, "insecure", false, "accept any server certificate")
	fs.BoolVar(&skipTLS, "skip-test-tls", false, "same as --insecure")
	fs.BoolVar(&plaintext, "plaintext", false, "speak HTTP instead of HTTPS")
	fs.BoolVar(&grpcWeb, "grpc-web", false, "accepted for argocd scripts; Tether always speaks REST")
	fs.StringVar(&conn.ConfigPath, "config", conn.ConfigPath, "file of login contexts")
	return cmd
}

// prompt asks the user for a value; a secret is read without echo.
func prompt(cmd *cobra.Command, question string, secret bool) (string, error) {
	if !stdinIsTerminal() {
		return "", fmt.Errorf("%s not given and standard input is not a terminal: pass --username and --password", strings.TrimSuffix(question, ": "))
	}
	fmt.Fprint(cmd.ErrOrStderr(), question)
	if secret {
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		return string(b), err
	}
	line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	return strings.TrimSpace(line), err
}

// NewLogoutCmd returns `logout CONTEXT`: the context and its token are
// forgotten.
func NewLogoutCmd(conn *connect.Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "logout [CONTEXT]",
		Short: "Forget a login context and its token (the current one by default)",
		Args:  cobra.MaximumNArgs(1),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, err := connect.ReadConfig(conn.ConfigPath)
		if err != nil {
			return err
		}
		name := cfg.CurrentContext
		if len(args) == 1 {
			name = args[0]
		}
		if name == "" || !cfg.RemoveContext(name) {
			return fmt.Errorf("no context %q in %s", name, conn.ConfigPath)
		}
		if err := cfg.Write(conn.ConfigPath); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "Logged out from '%s'\n", name)
		return nil
	}
	cmd.Flags().StringVar(&conn.ConfigPath, "config", conn.ConfigPath, "file of login contexts")
	return cmd
}

// NewContextCmd returns `context [NAME]`: list contexts, or make NAME the
// current one.
func NewContextCmd(conn *connect.Options) *cobra.Command {
	var del bool
	cmd := &cobra.Command{
		Use:     "context [NAME]",
		Aliases: []string{"ctx"},
		Short:   "List login contexts or switch to one",
		Args:    cobra.MaximumNArgs(1),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, err := connect.ReadConfig(conn.ConfigPath)
		if err != nil {
			return err
		}
		if len(args) == 0 {
			rows := make([][]string, 0, len(cfg.Contexts))
			for _, c := range cfg.Contexts {
				mark := ""
				if c.Name == cfg.CurrentContext {
					mark = "*"
				}
				rows = append(rows, []string{mark, c.Name, c.Server})
			}
			return output.Table(cmd.OutOrStdout(), []string{"CURRENT", "NAME", "SERVER"}, rows)
		}
		name := args[0]
		if del {
			if !cfg.RemoveContext(name) {
				return fmt.Errorf("no context %q in %s", name, conn.ConfigPath)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Context '%s' deleted\n", name)
			return cfg.Write(conn.ConfigPath)
		}
		if _, _, _, ok := cfg.Lookup(name); !ok {
			return fmt.Errorf("no context %q in %s", name, conn.ConfigPath)
		}
		cfg.CurrentContext = name
		fmt.Fprintf(cmd.OutOrStdout(), "Switched to context '%s'\n", name)
		return cfg.Write(conn.ConfigPath)
	}
	cmd.Flags().BoolVar(&del, "delete", false, "delete the context")
	cmd.Flags().StringVar(&conn.ConfigPath, "config", conn.ConfigPath, "file of login contexts")
	return cmd
}
