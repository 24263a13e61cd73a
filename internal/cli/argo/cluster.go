package argo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/cli/connect"
	"github.com/tether-gitops/tether/internal/cli/output"
)

// lastAppliedAnnotation holds a whole copy of an object applied with
// kubectl, credentials included: it is never shown.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// registryWrites is said in the help of the commands that write cluster
// and repository Secrets.
const registryWrites = "It writes Argo CD's Secret in --argocd-namespace through the Kubernetes API, with the rights of " +
	"your kubeconfig (--kubeconfig, --kube-context), whether or not you logged in: Tether's API server does not write them."

// NewClusterCmd returns `cluster` and its subcommands.
func NewClusterCmd(conn *connect.Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "cluster",
		Aliases: []string{"clusters"},
		Short:   "Manage the clusters Argo CD Applications deploy to",
	}
	conn.AddFlags(cmd.PersistentFlags())
	cmd.AddCommand(clusterAdd(conn), clusterList(conn), clusterRemove(conn))
	return cmd
}

// clusterInfo is a registered cluster as `cluster list` shows it (the
// API's shape): never its credentials.
type clusterInfo struct {
	Server           string            `json:"server"`
	Name             string            `json:"name"`
	Namespaces       []string          `json:"namespaces,omitempty"`
	ClusterResources bool              `json:"clusterResources,omitempty"`
	Project          string            `json:"project,omitempty"`
	Labels           map[string]string `json:"labels,omitempty"`
	Annotations      map[string]string `json:"annotations,omitempty"`
}

// listClusters reads the registered clusters through the API server, or
// from their Secrets with --core (the config key is never read).
func listClusters(ctx context.Context, conn *connect.Options) ([]clusterInfo, error) {
	if !conn.UseCore() {
		c, err := conn.API()
		if err != nil {
			return nil, err
		}
		var out struct {
			Items []clusterInfo `json:"items"`
		}
		return out.Items, c.Do(ctx, http.MethodGet, "/api/v1/clusters", nil, &out)
	}
	k, err := conn.Kube()
	if err != nil {
		return nil, err
	}
	secrets, err := registeredSecrets(ctx, k, conn.ArgoNamespace, argov1.SecretTypeCluster)
	if err != nil {
		return nil, err
	}
	items := make([]clusterInfo, 0, len(secrets)+1)
	local := false
	for i := range secrets {
		c := clusterOf(&secrets[i])
		local = local || c.Server == argov1.KubernetesInternalAPIServerAddr
		items = append(items, c)
	}
	if !local {
		items = append(items, clusterInfo{Server: argov1.KubernetesInternalAPIServerAddr, Name: argov1.InClusterName})
	}
	return items, nil
}

// clusterOf reads what a cluster Secret may show.
func clusterOf(s *corev1.Secret) clusterInfo {
	c := clusterInfo{Server: string(s.Data["server"]), Name: string(s.Data["name"]), Project: string(s.Data["project"]),
		ClusterResources: string(s.Data["clusterResources"]) == "true", Labels: s.Labels, Annotations: maps.Clone(s.Annotations)}
	for ns := range strings.SplitSeq(string(s.Data["namespaces"]), ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			c.Namespaces = append(c.Namespaces, ns)
		}
	}
	delete(c.Annotations, lastAppliedAnnotation)
	return c
}

// registeredSecrets lists namespace's Secrets of an Argo CD secret-type.
func registeredSecrets(ctx context.Context, k client.Reader, namespace, typ string) ([]corev1.Secret, error) {
	var list corev1.SecretList
	if err := k.List(ctx, &list, client.InNamespace(namespace), client.MatchingLabels{argov1.LabelKeySecretType: typ}); err != nil {
		return nil, fmt.Errorf("list %s Secrets in namespace %s: %w", typ, namespace, err)
	}
	return list.Items, nil
}

func clusterList(conn *connect.Options) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List registered clusters (never their credentials)",
		Args:  cobra.NoArgs,
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		items, err := listClusters(cmd.Context(), conn)
		if err != nil {
			return fmt.Errorf("list clusters: %w", err)
		}
		sort.Slice(items, func(i, j int) bool { return items[i].Server < items[j].Server })
		w := cmd.OutOrStdout()
		switch out {
		case "json", "yaml":
			return output.Objects(w, out, items)
		case "server":
			for _, c := range items {
				fmt.Fprintln(w, c.Server)
			}
			return nil
		case "", "wide":
			header := []string{"SERVER", "NAME", "VERSION", "STATUS", "MESSAGE", "PROJECT"}
			if out == "wide" {
				header = append(header, "NAMESPACES", "CLUSTER-RESOURCES", "LABELS")
			}
			rows := make([][]string, 0, len(items))
			for _, c := range items {
				// Tether does not probe clusters for a version or a
				// connection state; argocd says Unknown before it has.
				row := []string{c.Server, c.Name, "", "Unknown", "", c.Project}
				if out == "wide" {
					row = append(row, orAll(c.Namespaces), fmt.Sprint(c.ClusterResources || len(c.Namespaces) == 0), labelList(c.Labels))
				}
				rows = append(rows, row)
			}
			return output.Table(w, header, rows)
		}
		return fmt.Errorf("unknown output %q: use wide, server, json or yaml", out)
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "output format: wide, server, json or yaml")
	return cmd
}

func orAll(namespaces []string) string {
	if len(namespaces) == 0 {
		return "*"
	}
	return strings.Join(namespaces, ",")
}

func labelList(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		if k != argov1.LabelKeySecretType {
			keys = append(keys, k+"="+labels[k])
		}
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}

// clusterAddOptions are the flags of `cluster add`.
type clusterAddOptions struct {
	name               string
	namespaces         []string
	labels             []string
	annotations        []string
	project            string
	clusterResources   bool
	upsert             bool
	inCluster          bool
	yes                bool
	systemNamespace    string
	serviceAccount     string
	contextCredentials bool
}

func clusterAdd(conn *connect.Options) *cobra.Command {
	var o clusterAddOptions
	cmd := &cobra.Command{
		Use:   "add CONTEXT",
		Short: "Register the cluster of a kubeconfig context",
		Long: "Register the cluster that CONTEXT names, as `argocd cluster add` does. CONTEXT is read from the same kubeconfig " +
			"file as the management cluster (--kubeconfig, else $KUBECONFIG or ~/.kube/config). A ServiceAccount " +
			"(argocd-manager in --system-namespace) with a ClusterRole (or Roles in each --namespace) is made there, and its " +
			"token is stored. " + registryWrites,
		Example: "  tether cluster add prod-eu --name prod-eu\n  tether cluster add staging --namespace apps --namespace web --label env=staging",
		Args:    cobra.ExactArgs(1),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return runClusterAdd(cmd, conn, args[0], o)
	}
	fs := cmd.Flags()
	fs.StringVar(&o.name, "name", "", "name of the cluster (the context's name by default)")
	fs.StringArrayVar(&o.namespaces, "namespace", nil, "only manage this namespace (repeat for more); all by default")
	fs.StringArrayVar(&o.labels, "label", nil, "label of the cluster Secret, key=value (repeat for more)")
	fs.StringArrayVar(&o.annotations, "annotation", nil, "annotation of the cluster Secret, key=value (repeat for more)")
	fs.StringVar(&o.project, "project", "", "project the cluster belongs to")
	fs.BoolVar(&o.clusterResources, "cluster-resources", false, "with --namespace, manage cluster-scoped objects too")
	fs.BoolVar(&o.upsert, "upsert", false, "replace the cluster's registration when it differs")
	fs.BoolVar(&o.inCluster, "in-cluster", false, "Tether runs in that cluster: reach it at https://kubernetes.default.svc")
	fs.BoolVarP(&o.yes, "yes", "y", false, "do not ask before making the ServiceAccount")
	fs.StringVar(&o.systemNamespace, "system-namespace", "kube-system", "namespace of the ServiceAccount in the target cluster")
	fs.StringVar(&o.serviceAccount, "service-account", "", "use this existing ServiceAccount of --system-namespace instead of making argocd-manager")
	fs.BoolVar(&o.contextCredentials, "context-credentials", false,
		"store the context's own credentials (token, client certificate or exec plugin) instead of a ServiceAccount's token")
	return cmd
}

func runClusterAdd(cmd *cobra.Command, conn *connect.Options, contextName string, o clusterAddOptions) error {
	ctx := cmd.Context()
	target, err := contextConfig(conn.Kubeconfig, contextName)
	if err != nil {
		return err
	}
	target.Timeout = conn.RequestTimeout
	spec := clusterSpec{Name: o.name, Server: target.Host, Namespaces: o.namespaces, ClusterResources: o.clusterResources, Project: o.project}
	if spec.Name == "" {
		spec.Name = contextName
	}
	if o.inCluster {
		spec.Server = argov1.KubernetesInternalAPIServerAddr
	}
	if spec.Labels, err = keyValues("--label", o.labels); err != nil {
		return err
	}
	if spec.Annotations, err = keyValues("--annotation", o.annotations); err != nil {
		return err
	}
	token := ""
	if !o.contextCredentials {
		if token, err = managerToken(cmd, target, contextName, o); err != nil {
			return err
		}
	}
	cfg, err := clusterConfigFor(target, token)
	if err != nil {
		return fmt.Errorf("context %s: %w", contextName, err)
	}
	if cfg.ExecProviderConfig != nil {
		fmt.Fprintln(cmd.ErrOrStderr(), "Note: the context runs a credential plugin; Tether uses it only when started with --allow-kubeconfig-plugins.")
	}
	secret, err := clusterSecret(spec, cfg, conn.ArgoNamespace)
	if err != nil {
		return err
	}
	k, err := conn.Kube()
	if err != nil {
		return err
	}
	if err := writeRegistered(ctx, k, secret, "server", o.upsert); err != nil {
		return fmt.Errorf("register cluster %s: %w", spec.Server, err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Cluster '%s' added\n", spec.Server)
	return nil
}

// managerToken makes (or finds) the ServiceAccount Tether will use in the
// target cluster and returns its token, asking first on a terminal.
func managerToken(cmd *cobra.Command, target *rest.Config, contextName string, o clusterAddOptions) (string, error) {
	kc, err := kubernetes.NewForConfig(target)
	if err != nil {
		return "", fmt.Errorf("client of context %s: %w", contextName, err)
	}
	m := managerOptions{Namespace: o.systemNamespace, ServiceAccount: o.serviceAccount, Namespaces: o.namespaces,
		ClusterResources: o.clusterResources, Log: cmd.ErrOrStderr()}
	if m.ServiceAccount == "" {
		m.ServiceAccount, m.Create = managerServiceAccount, true
		if !o.yes && stdinIsTerminal() {
			q := fmt.Sprintf("WARNING: This will create a service account `%s` on the cluster referenced by context `%s` with %s. Do you want to continue [y/N]? ",
				m.ServiceAccount, contextName, m.privileges())
			answer, err := prompt(cmd, q, false)
			if err != nil {
				return "", err
			}
			if a := strings.ToLower(answer); a != "y" && a != "yes" {
				return "", errors.New("cluster add: not confirmed")
			}
		}
	}
	token, err := installManager(cmd.Context(), kc, m)
	if err != nil {
		return "", fmt.Errorf("context %s: %w", contextName, err)
	}
	return token, nil
}

// contextConfig reads context name of the kubeconfig at path (else
// $KUBECONFIG or ~/.kube/config), with files it names read in.
func contextConfig(path, name string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = path
	raw, err := rules.Load()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	if _, ok := raw.Contexts[name]; !ok {
		names := make([]string, 0, len(raw.Contexts))
		for n := range raw.Contexts {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("kubeconfig has no context %q (it has: %s)", name, strings.Join(names, ", "))
	}
	cfg, err := clientcmd.NewNonInteractiveClientConfig(*raw, name, &clientcmd.ConfigOverrides{}, rules).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig context %s: %w", name, err)
	}
	if err := rest.LoadTLSFiles(cfg); err != nil {
		return nil, fmt.Errorf("kubeconfig context %s: %w", name, err)
	}
	if cfg.BearerToken == "" && cfg.BearerTokenFile != "" {
		data, err := os.ReadFile(cfg.BearerTokenFile)
		if err != nil {
			return nil, fmt.Errorf("kubeconfig context %s: token file: %w", name, err)
		}
		cfg.BearerToken = strings.TrimSpace(string(data))
	}
	return cfg, nil
}

// keyValues reads repeated key=value flags.
func keyValues(flag string, items []string) (map[string]string, error) {
	if len(items) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(items))
	for _, it := range items {
		k, v, ok := strings.Cut(it, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%s %q: use key=value", flag, it)
		}
		out[k] = v
	}
	return out, nil
}

// clusterSpec is what `cluster add` registers, besides credentials.
type clusterSpec struct {
	Name, Server        string
	Namespaces          []string
	ClusterResources    bool
	Project             string
	Labels, Annotations map[string]string
}

// clusterConfig is the config key of Argo CD's cluster Secret.
type clusterConfig struct {
	Username           string              `json:"username,omitempty"`
	Password           string              `json:"password,omitempty"`
	BearerToken        string              `json:"bearerToken,omitempty"`
	TLSClientConfig    tlsClientConfig     `json:"tlsClientConfig"`
	ExecProviderConfig *execProviderConfig `json:"execProviderConfig,omitempty"`
}

type tlsClientConfig struct {
	Insecure   bool   `json:"insecure"`
	ServerName string `json:"serverName,omitempty"`
	CAData     []byte `json:"caData,omitempty"`
	CertData   []byte `json:"certData,omitempty"`
	KeyData    []byte `json:"keyData,omitempty"`
}

type execProviderConfig struct {
	Command     string            `json:"command"`
	Args        []string          `json:"args,omitempty"`
	Env         map[string]string `json:"env,omitempty"`
	APIVersion  string            `json:"apiVersion,omitempty"`
	InstallHint string            `json:"installHint,omitempty"`
}

// clusterConfigFor is the config of a cluster reached as rc says: with
// token (a ServiceAccount's) when given, else with rc's own credentials.
// The server's CA, name and insecure flag come from rc either way.
func clusterConfigFor(rc *rest.Config, token string) (clusterConfig, error) {
	cfg := clusterConfig{TLSClientConfig: tlsClientConfig{Insecure: rc.Insecure, ServerName: rc.ServerName, CAData: rc.CAData}}
	if token != "" {
		cfg.BearerToken = token
		return cfg, nil
	}
	if rc.AuthProvider != nil {
		return cfg, fmt.Errorf("auth-provider %s cannot be stored: use a ServiceAccount (drop --context-credentials)", rc.AuthProvider.Name)
	}
	cfg.BearerToken, cfg.Username, cfg.Password = rc.BearerToken, rc.Username, rc.Password
	cfg.TLSClientConfig.CertData, cfg.TLSClientConfig.KeyData = rc.CertData, rc.KeyData
	if e := rc.ExecProvider; e != nil {
		ep := &execProviderConfig{Command: e.Command, Args: e.Args, APIVersion: e.APIVersion, InstallHint: e.InstallHint}
		if len(e.Env) > 0 {
			ep.Env = make(map[string]string, len(e.Env))
			for _, v := range e.Env {
				ep.Env[v.Name] = v.Value
			}
		}
		cfg.ExecProviderConfig = ep
	}
	if cfg.BearerToken == "" && cfg.Username == "" && len(cfg.TLSClientConfig.CertData) == 0 && cfg.ExecProviderConfig == nil {
		return cfg, errors.New("no credentials to store (no token, password, client certificate or exec plugin)")
	}
	return cfg, nil
}

// clusterSecret is Argo CD's Secret registering spec in namespace.
func clusterSecret(spec clusterSpec, cfg clusterConfig, namespace string) (*corev1.Secret, error) {
	u, err := url.Parse(spec.Server)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("server %q is not an http(s) URL", spec.Server)
	}
	config, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encode the cluster config: %w", err)
	}
	labels := maps.Clone(spec.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[argov1.LabelKeySecretType] = argov1.SecretTypeCluster
	data := map[string][]byte{"name": []byte(spec.Name), "server": []byte(spec.Server), "config": config}
	if len(spec.Namespaces) > 0 {
		data["namespaces"] = []byte(strings.Join(spec.Namespaces, ","))
		if spec.ClusterResources {
			data["clusterResources"] = []byte("true")
		}
	}
	if spec.Project != "" {
		data["project"] = []byte(spec.Project)
	}
	s := &corev1.Secret{Type: corev1.SecretTypeOpaque, Data: data}
	s.Name = "cluster-" + dnsLabel(u.Hostname()) + "-" + hash32(spec.Server)
	s.Namespace, s.Labels, s.Annotations = namespace, labels, maps.Clone(spec.Annotations)
	return s, nil
}

// dnsLabel keeps what a Secret's name may hold.
func dnsLabel(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, s)
	if len(s) > 200 {
		s = s[:200]
	}
	return strings.Trim(s, "-.")
}

func hash32(s string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return fmt.Sprint(h.Sum32())
}

// writeRegistered creates secret, or, when a Secret of its type already
// has the same value of key (server or url), keeps it if equal and
// replaces its content only with upsert.
func writeRegistered(ctx context.Context, k client.Client, secret *corev1.Secret, key string, upsert bool) error {
	secrets, err := registeredSecrets(ctx, k, secret.Namespace, secret.Labels[argov1.LabelKeySecretType])
	if err != nil {
		return err
	}
	for i := range secrets {
		live := &secrets[i]
		if string(live.Data[key]) != string(secret.Data[key]) {
			continue
		}
		if sameRegistration(live, secret) {
			return nil
		}
		if !upsert {
			return fmt.Errorf("Secret %s/%s already registers it with other settings: pass --upsert to replace them", live.Namespace, live.Name)
		}
		live.Data, live.StringData, live.Type = secret.Data, nil, secret.Type
		maps.Copy(live.Labels, secret.Labels)
		if len(secret.Annotations) > 0 && live.Annotations == nil {
			live.Annotations = map[string]string{}
		}
		maps.Copy(live.Annotations, secret.Annotations)
		delete(live.Annotations, lastAppliedAnnotation) // it would hold the old credentials
		if err := k.Update(ctx, live); err != nil {
			return fmt.Errorf("update Secret %s/%s: %w", live.Namespace, live.Name, err)
		}
		return nil
	}
	if err := k.Create(ctx, secret); err != nil {
		return fmt.Errorf("create Secret %s/%s: %w", secret.Namespace, secret.Name, err)
	}
	return nil
}

// sameRegistration reports whether live already says what want does.
func sameRegistration(live, want *corev1.Secret) bool {
	if !maps.EqualFunc(live.Data, want.Data, func(a, b []byte) bool { return string(a) == string(b) }) {
		return false
	}
	for k, v := range want.Labels {
		if live.Labels[k] != v {
			return false
		}
	}
	for k, v := range want.Annotations {
		if live.Annotations[k] != v {
			return false
		}
	}
	return true
}

func clusterRemove(conn *connect.Options) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:     "rm SERVER|NAME",
		Aliases: []string{"remove", "delete"},
		Short:   "Remove a cluster's registration",
		Long: "Remove the Secret that registers a cluster, found by its server URL or name; what was deployed there stays. " +
			"The ServiceAccount made by `cluster add` stays in that cluster. " + registryWrites,
		Args: cobra.ExactArgs(1),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		k, err := conn.Kube()
		if err != nil {
			return err
		}
		matches, err := findClusterSecrets(cmd.Context(), k, conn.ArgoNamespace, args[0])
		if err != nil {
			return err
		}
		if !yes && stdinIsTerminal() {
			q := fmt.Sprintf("Are you sure you want to remove '%s'? Any Apps deploying to this cluster will fail to sync. [y/n] ", args[0])
			answer, err := prompt(cmd, q, false)
			if err != nil {
				return err
			}
			if a := strings.ToLower(answer); a != "y" && a != "yes" {
				return errors.New("cluster rm: not confirmed")
			}
		}
		for i := range matches {
			if err := client.IgnoreNotFound(k.Delete(cmd.Context(), &matches[i])); err != nil {
				return fmt.Errorf("delete Secret %s/%s: %w", matches[i].Namespace, matches[i].Name, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Cluster '%s' removed\n", string(matches[i].Data["server"]))
		}
		return nil
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

// findClusterSecrets finds the Secrets registering the cluster whose
// server, else whose name, is ref.
func findClusterSecrets(ctx context.Context, k client.Reader, namespace, ref string) ([]corev1.Secret, error) {
	secrets, err := registeredSecrets(ctx, k, namespace, argov1.SecretTypeCluster)
	if err != nil {
		return nil, err
	}
	var byServer, byName []corev1.Secret
	for _, s := range secrets {
		switch ref {
		case string(s.Data["server"]):
			byServer = append(byServer, s)
		case string(s.Data["name"]):
			byName = append(byName, s)
		}
	}
	switch {
	case len(byServer) > 0:
		return byServer, nil
	case len(byName) > 1:
		return nil, fmt.Errorf("%d clusters are named %q: remove one by its server URL", len(byName), ref)
	case len(byName) == 1:
		return byName, nil
	case ref == argov1.KubernetesInternalAPIServerAddr || ref == argov1.InClusterName:
		return nil, fmt.Errorf("%s is Tether's own cluster and no Secret registers it: there is nothing to remove", ref)
	}
	return nil, fmt.Errorf("no cluster %q is registered in namespace %s (see `tether cluster list`)", ref, namespace)
}
