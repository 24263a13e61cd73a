package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/transport"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/ratelimit"
	"github.com/tether-gitops/tether/internal/secretset"
)

// Options say what credentials Tether accepts and how hard the clients
// made from them may use their cluster.
type Options struct {
	// AllowPlugins permits exec credential plugins (they run code in
	// Tether's process environment).
	AllowPlugins bool
	// QPS and Burst bound the requests of clients made from the
	// configurations this package returns, as --kube-api-qps and
	// --kube-api-burst bound Tether's own; zero leaves client-go's
	// defaults (5 and 10), which throttle a busy controller.
	QPS   float32
	Burst int
	// Budget, when set, is the process's budget per API server that
	// every client made from these configurations draws from, instead of
	// a QPS and Burst of its own.
	Budget *ratelimit.Budget
	// WrapTransport, when set, wraps the transport of every client made
	// from these configurations (the per-Application request counter).
	WrapTransport transport.WrapperFunc
	// UserAgent names Tether in the clusters' audit logs; empty leaves
	// client-go's.
	UserAgent string
}

// limit gives cfg the request budget of opts.
func (opts Options) limit(cfg *rest.Config) {
	if opts.QPS > 0 {
		cfg.QPS = opts.QPS
	}
	if opts.Burst > 0 {
		cfg.Burst = opts.Burst
	}
	if opts.UserAgent != "" {
		cfg.UserAgent = opts.UserAgent
	}
	opts.Budget.Apply(cfg)
	if opts.WrapTransport != nil {
		cfg.Wrap(opts.WrapTransport)
	}
}

// Cluster is a registered cluster.
type Cluster struct {
	// Name and Server identify it, as destinations name it.
	Name, Server string
	// Namespaces, when set, are the only namespaces Tether may manage
	// there; ClusterResources then says whether cluster-scoped objects are
	// allowed too.
	Namespaces       []string
	ClusterResources bool
	// Config connects to it.
	Config *rest.Config
	// ID changes whenever the Secret's content does (clients are cached
	// by it).
	ID string
	// Secret is the Secret that registered it, "<namespace>/<name>".
	Secret string
}

// ErrNotFound means no Secret registers the cluster a destination names.
var ErrNotFound = errors.New("cluster not registered")

// argoConfig is the "config" key of an Argo CD cluster Secret.
type argoConfig struct {
	Username        string `json:"username"`
	Password        string `json:"password"`
	BearerToken     string `json:"bearerToken"`
	TLSClientConfig struct {
		Insecure   bool   `json:"insecure"`
		ServerName string `json:"serverName"`
		CAData     []byte `json:"caData"`
		CertData   []byte `json:"certData"`
		KeyData    []byte `json:"keyData"`
	} `json:"tlsClientConfig"`
	ExecProviderConfig *struct {
		Command     string            `json:"command"`
		Args        []string          `json:"args"`
		Env         map[string]string `json:"env"`
		APIVersion  string            `json:"apiVersion"`
		InstallHint string            `json:"installHint"`
	} `json:"execProviderConfig"`
	AWSAuthConfig      json.RawMessage `json:"awsAuthConfig"`
	ProxyURL           string          `json:"proxyUrl"`
	DisableCompression bool            `json:"disableCompression"`
}

// FromSecret reads an Argo CD cluster Secret.
func FromSecret(s *corev1.Secret, opts Options) (*Cluster, error) {
	where := "cluster secret " + s.Namespace + "/" + s.Name
	server := strings.TrimSpace(string(s.Data["server"]))
	if server == "" {
		return nil, fmt.Errorf("%s: key server is empty", where)
	}
	if u, err := url.Parse(server); err != nil || u.Host == "" {
		return nil, fmt.Errorf("%s: server %q is not a URL", where, server)
	}
	cl := &Cluster{Name: string(s.Data["name"]), Server: server, Secret: s.Namespace + "/" + s.Name,
		ClusterResources: string(s.Data["clusterResources"]) == "true"}
	if cl.Name == "" {
		cl.Name = server
	}
	for ns := range strings.SplitSeq(string(s.Data["namespaces"]), ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			cl.Namespaces = append(cl.Namespaces, ns)
		}
	}
	var cfg argoConfig
	if raw := s.Data["config"]; len(raw) > 0 {
		if err := json.Unmarshal(raw, &cfg); err != nil {
			return nil, fmt.Errorf("%s: key config is not valid JSON of Argo CD's cluster config: %s", where, jsonProblem(err))
		}
	}
	rc := &rest.Config{Host: server, Username: cfg.Username, Password: cfg.Password, BearerToken: cfg.BearerToken,
		DisableCompression: cfg.DisableCompression,
		TLSClientConfig: rest.TLSClientConfig{Insecure: cfg.TLSClientConfig.Insecure, ServerName: cfg.TLSClientConfig.ServerName,
			CAData: cfg.TLSClientConfig.CAData, CertData: cfg.TLSClientConfig.CertData, KeyData: cfg.TLSClientConfig.KeyData}}
	if len(cfg.AWSAuthConfig) > 0 && string(cfg.AWSAuthConfig) != "null" {
		return nil, fmt.Errorf("%s: awsAuthConfig is not supported; use a bearer token or client certificate", where)
	}
	if e := cfg.ExecProviderConfig; e != nil {
		if !opts.AllowPlugins {
			return nil, fmt.Errorf("%s: execProviderConfig runs a credential plugin, which Tether refuses unless started with --allow-kubeconfig-plugins", where)
		}
		exec := &clientcmdapi.ExecConfig{Command: e.Command, Args: e.Args, APIVersion: e.APIVersion, InstallHint: e.InstallHint,
			InteractiveMode: clientcmdapi.NeverExecInteractiveMode}
		keys := make([]string, 0, len(e.Env))
		for k := range e.Env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			exec.Env = append(exec.Env, clientcmdapi.ExecEnvVar{Name: k, Value: e.Env[k]})
		}
		rc.ExecProvider = exec
	}
	if cfg.ProxyURL != "" {
		u, err := url.Parse(cfg.ProxyURL)
		if err != nil {
			return nil, fmt.Errorf("%s: proxyUrl is not a URL", where)
		}
		rc.Proxy = http.ProxyURL(u)
	}
	opts.limit(rc)
	cl.Config, cl.ID = rc, cl.Secret+"@"+fingerprint(s.Data)
	return cl, nil
}

// jsonProblem describes a JSON error without quoting the document.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("syntax error at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %s has the wrong type", typ.Field)
	}
	return "a value could not be decoded (base64 expected for caData, certData and keyData)"
}

// fingerprint is a short digest of a Secret's data, for cache keys.
func fingerprint(data map[string][]byte) string {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s\x00%s\x00", k, data[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Lookup finds the cluster an Argo CD destination names (by name, or by
// server URL) among the cluster Secrets in namespace, read afresh so that a
// new or changed Secret is used at once.
func Lookup(ctx context.Context, reader client.Reader, namespace string, dest argov1.ApplicationDestination, opts Options) (*Cluster, error) {
	g := &Registry{Secrets: &secretset.Set{Reader: reader, Namespace: namespace,
		Labels: client.MatchingLabels{argov1.LabelKeySecretType: argov1.SecretTypeCluster}}, Options: opts}
	return g.Lookup(ctx, dest)
}

// match finds the Secret of the cluster dest names (by name, else by
// server URL) and reads it.
func match(secrets []corev1.Secret, dest argov1.ApplicationDestination, opts Options) (*Cluster, error) {
	for i := range secrets {
		s := &secrets[i]
		name, server := string(s.Data["name"]), strings.TrimRight(strings.TrimSpace(string(s.Data["server"])), "/")
		if (dest.Name != "" && name == dest.Name) || (dest.Name == "" && server == strings.TrimRight(dest.Server, "/")) {
			return FromSecret(s, opts)
		}
	}
	if dest.Name != "" {
		return nil, fmt.Errorf("%w: there are no clusters with this name: %s", ErrNotFound, dest.Name)
	}
	return nil, fmt.Errorf("%w: there are no clusters with this URL: %s", ErrNotFound, dest.Server)
}
