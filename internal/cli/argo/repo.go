package argo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/cli/connect"
	"github.com/tether-gitops/tether/internal/cli/output"
)

// NewRepoCmd returns `repo` and its subcommands.
func NewRepoCmd(conn *connect.Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "repo",
		Aliases: []string{"repos", "repository", "repositories"},
		Short:   "Manage the Git and Helm repositories Argo CD Applications read",
	}
	conn.AddFlags(cmd.PersistentFlags())
	cmd.AddCommand(repoAdd(conn), repoList(conn), repoRemove(conn))
	return cmd
}

// repositoryInfo is a registered repository as `repo list` shows it (the
// API's shape): never a password or key.
type repositoryInfo struct {
	Repo     string `json:"repo"`
	Name     string `json:"name,omitempty"`
	Type     string `json:"type,omitempty"`
	Project  string `json:"project,omitempty"`
	Username string `json:"username,omitempty"`
}

// listRepositories reads the registered repositories through the API
// server, or from their Secrets with --core (credentials left unread).
func listRepositories(ctx context.Context, conn *connect.Options) ([]repositoryInfo, error) {
	if !conn.UseCore() {
		c, err := conn.API()
		if err != nil {
			return nil, err
		}
		var out struct {
			Items []repositoryInfo `json:"items"`
		}
		return out.Items, c.Do(ctx, http.MethodGet, "/api/v1/repositories", nil, &out)
	}
	k, err := conn.Kube()
	if err != nil {
		return nil, err
	}
	secrets, err := registeredSecrets(ctx, k, conn.ArgoNamespace, argov1.SecretTypeRepository)
	if err != nil {
		return nil, err
	}
	items := make([]repositoryInfo, 0, len(secrets))
	for _, s := range secrets {
		r := repositoryInfo{Repo: string(s.Data["url"]), Name: string(s.Data["name"]), Type: string(s.Data["type"]),
			Project: string(s.Data["project"]), Username: string(s.Data["username"])}
		if r.Type == "" {
			r.Type = "git"
		}
		items = append(items, r)
	}
	return items, nil
}

func repoList(conn *connect.Options) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List registered repositories (never their credentials)",
		Args:  cobra.NoArgs,
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		items, err := listRepositories(cmd.Context(), conn)
		if err != nil {
			return fmt.Errorf("list repositories: %w", err)
		}
		sort.Slice(items, func(i, j int) bool { return items[i].Repo < items[j].Repo })
		w := cmd.OutOrStdout()
		switch out {
		case "json", "yaml":
			return output.Objects(w, out, items)
		case "url":
			for _, r := range items {
				fmt.Fprintln(w, r.Repo)
			}
			return nil
		case "", "wide":
			rows := make([][]string, 0, len(items))
			for _, r := range items {
				rows = append(rows, []string{r.Type, r.Name, r.Repo, r.Username, r.Project})
			}
			return output.Table(w, []string{"TYPE", "NAME", "REPO", "USERNAME", "PROJECT"}, rows)
		}
		return fmt.Errorf("unknown output %q: use wide, url, json or yaml", out)
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "output format: wide, url, json or yaml")
	return cmd
}

// repoSpec is what `repo add` registers.
type repoSpec struct {
	URL, Type, Name, Project string
	Username, Password       string
	SSHPrivateKey            string
	Insecure, EnableOCI      bool
}

// repoSecret is Argo CD's Secret registering spec in namespace.
func repoSecret(spec repoSpec, namespace string) (*corev1.Secret, error) {
	if spec.Type == "" {
		spec.Type = "git"
	}
	isHTTP := strings.HasPrefix(spec.URL, "https://") || strings.HasPrefix(spec.URL, "http://")
	switch {
	case strings.TrimSpace(spec.URL) == "":
		return nil, errors.New("the repository URL is empty")
	case spec.Type != "git" && spec.Type != "helm":
		return nil, fmt.Errorf("--type %q: use git or helm", spec.Type)
	case spec.Type == "helm" && spec.Name == "":
		return nil, errors.New("a helm repository needs --name (charts are referred to by it)")
	case spec.EnableOCI && spec.Type != "helm":
		return nil, errors.New("--enable-oci is for helm repositories: add --type helm")
	case spec.Password != "" && spec.Username == "":
		return nil, errors.New("--password needs --username")
	case spec.SSHPrivateKey != "" && (spec.Username != "" || spec.Password != ""):
		return nil, errors.New("--ssh-private-key-path and --username/--password are two ways to log in: pick one")
	case spec.SSHPrivateKey != "" && (isHTTP || spec.Type != "git"):
		return nil, errors.New("--ssh-private-key-path is for Git over SSH (git@host:path or ssh:// URLs)")
	}
	data := map[string][]byte{"url": []byte(spec.URL), "type": []byte(spec.Type)}
	optional := map[string]string{"name": spec.Name, "project": spec.Project, "username": spec.Username,
		"password": spec.Password, "sshPrivateKey": spec.SSHPrivateKey}
	for k, v := range optional {
		if v != "" {
			data[k] = []byte(v)
		}
	}
	if spec.Insecure {
		data["insecure"] = []byte("true")
	}
	if spec.EnableOCI {
		data["enableOCI"] = []byte("true")
	}
	s := &corev1.Secret{Type: corev1.SecretTypeOpaque, Data: data}
	s.Name, s.Namespace = "repo-"+hash32(spec.URL), namespace
	s.Labels = map[string]string{argov1.LabelKeySecretType: argov1.SecretTypeRepository}
	s.Annotations = map[string]string{"managed-by": "argocd.argoproj.io"}
	return s, nil
}

func repoAdd(conn *connect.Options) *cobra.Command {
	var spec repoSpec
	var keyPath string
	var upsert, ignoreHostKey bool
	cmd := &cobra.Command{
		Use:   "add URL",
		Short: "Register a Git or Helm repository and its credentials",
		Long:  "Register a Git or Helm repository and its credentials, as `argocd repo add` does. " + registryWrites,
		Example: "  tether repo add https://git.example.com/team/app.git --username bot --password \"$TOKEN\"\n" +
			"  tether repo add git@git.example.com:team/app.git --ssh-private-key-path ~/.ssh/id_ed25519\n" +
			"  tether repo add https://charts.example.com --type helm --name example",
		Args: cobra.ExactArgs(1),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		spec.URL = args[0]
		spec.Insecure = spec.Insecure || ignoreHostKey
		if keyPath != "" {
			key, err := os.ReadFile(keyPath)
			if err != nil {
				return fmt.Errorf("--ssh-private-key-path: %w", err)
			}
			if !strings.Contains(string(key), "PRIVATE KEY-----") {
				return fmt.Errorf("--ssh-private-key-path %s does not hold a PEM or OpenSSH private key", keyPath)
			}
			spec.SSHPrivateKey = string(key)
		}
		if spec.Username != "" && spec.Password == "" && stdinIsTerminal() {
			var err error
			if spec.Password, err = prompt(cmd, "Password: ", true); err != nil {
				return err
			}
		}
		secret, err := repoSecret(spec, conn.ArgoNamespace)
		if err != nil {
			return err
		}
		k, err := conn.Kube()
		if err != nil {
			return err
		}
		if err := writeRegistered(cmd.Context(), k, secret, "url", upsert); err != nil {
			return fmt.Errorf("register repository %s: %w", spec.URL, err)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "Repository '%s' added\n", spec.URL)
		return nil
	}
	fs := cmd.Flags()
	fs.StringVar(&spec.Username, "username", "", "user name for the repository")
	fs.StringVar(&spec.Password, "password", "", "password or token for the repository (asked on a terminal when --username is given alone)")
	fs.StringVar(&keyPath, "ssh-private-key-path", "", "file of the SSH private key for the repository")
	fs.StringVar(&spec.Name, "name", "", "name of the repository (required for helm)")
	fs.StringVar(&spec.Type, "type", "git", "type of the repository: git or helm")
	fs.StringVar(&spec.Project, "project", "", "project the repository belongs to")
	fs.BoolVar(&spec.Insecure, "insecure-skip-server-verification", false, "accept any server certificate or SSH host key")
	fs.BoolVar(&ignoreHostKey, "insecure-ignore-host-key", false, "same as --insecure-skip-server-verification (argocd's older name)")
	fs.BoolVar(&spec.EnableOCI, "enable-oci", false, "the helm repository is an OCI registry")
	fs.BoolVar(&upsert, "upsert", false, "replace the repository's registration when it differs")
	return cmd
}

func repoRemove(conn *connect.Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "rm URL",
		Aliases: []string{"remove", "delete"},
		Short:   "Remove a repository's registration and credentials",
		Long:    "Remove the Secret that registers a repository. " + registryWrites,
		Args:    cobra.ExactArgs(1),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		k, err := conn.Kube()
		if err != nil {
			return err
		}
		secrets, err := registeredSecrets(cmd.Context(), k, conn.ArgoNamespace, argov1.SecretTypeRepository)
		if err != nil {
			return err
		}
		found := false
		for i := range secrets {
			if string(secrets[i].Data["url"]) != args[0] {
				continue
			}
			found = true
			if err := client.IgnoreNotFound(k.Delete(cmd.Context(), &secrets[i])); err != nil {
				return fmt.Errorf("delete Secret %s/%s: %w", secrets[i].Namespace, secrets[i].Name, err)
			}
		}
		if !found {
			return fmt.Errorf("no repository %q is registered in namespace %s (see `tether repo list -o url`)", args[0], conn.ArgoNamespace)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "Repository '%s' removed\n", args[0])
		return nil
	}
	return cmd
}
