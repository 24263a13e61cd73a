// Package connect decides how a CLI command reaches Tether: through the API
// server the user logged in to (`tether login`), or straight to the
// cluster with the user's own Kubernetes credentials (`--core`,
// `--kubeconfig`), and builds the client for either.
package connect

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/internal/cli/apiclient"
	"github.com/tether-gitops/tether/internal/scheme"
)

// Prefer is which way a command goes when the flags do not say.
type Prefer int

const (
	// PreferContext uses the API server when a context is current, else
	// the cluster (tether's own habit).
	PreferContext Prefer = iota
	// PreferServer always uses the API server unless --core or --kubeconfig
	// says otherwise (the argocd habit).
	PreferServer
	// PreferCore always uses the cluster unless --server says otherwise
	// (the flux habit).
	PreferCore
)

// Options are the connection flags every client command shares.
type Options struct {
	// ConfigPath is the file of contexts.
	ConfigPath string
	// ContextName picks a context of the file instead of the current one.
	ContextName string
	// Server, AuthToken, Insecure and Plaintext override the context.
	Server    string
	AuthToken string
	Insecure  bool
	Plaintext bool
	// Core talks to the cluster directly instead of the API server.
	Core bool
	// Kubeconfig and KubeContext pick the cluster credentials (implies
	// Core).
	Kubeconfig  string
	KubeContext string
	// ArgoNamespace is where Applications and AppProjects live, directly
	// on the cluster.
	ArgoNamespace string
	// RequestTimeout bounds each request to the server or cluster.
	RequestTimeout time.Duration
	// Prefer is the way taken when no flag says.
	Prefer Prefer
}

// NewOptions returns options with their defaults.
func NewOptions() *Options {
	return &Options{ConfigPath: DefaultConfigPath(), ArgoNamespace: "argocd", RequestTimeout: time.Minute}
}

// AddFlags adds the connection flags to fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.ConfigPath, "config", o.ConfigPath, "file of login contexts")
	fs.StringVar(&o.ContextName, "argocd-context", o.ContextName, "login context to use instead of the current one")
	fs.StringVar(&o.Server, "server", o.Server, "API server address (overrides the login context)")
	fs.StringVar(&o.AuthToken, "auth-token", o.AuthToken, "bearer token (overrides the login context)")
	fs.BoolVar(&o.Insecure, "insecure", o.Insecure, "accept any server certificate")
	fs.BoolVar(&o.Plaintext, "plaintext", o.Plaintext, "speak HTTP instead of HTTPS to the server")
	fs.BoolVar(&o.Core, "core", o.Core, "talk to the cluster directly with your Kubernetes credentials, without the API server")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "kubeconfig file (implies --core)")
	fs.StringVar(&o.KubeContext, "kube-context", o.KubeContext, "kubeconfig context (implies --core)")
	fs.StringVar(&o.ArgoNamespace, "argocd-namespace", o.ArgoNamespace, "namespace of Applications and AppProjects, with --core")
	fs.DurationVar(&o.RequestTimeout, "request-timeout", o.RequestTimeout, "bound on each request")
}

// UseCore reports whether commands talk to the cluster directly.
func (o *Options) UseCore() bool {
	switch {
	case o.Core || o.Kubeconfig != "" || o.KubeContext != "":
		return true
	case o.Server != "":
		return false
	case o.Prefer == PreferCore:
		return true
	case o.Prefer == PreferServer:
		return false
	}
	cfg, err := ReadConfig(o.ConfigPath)
	if err != nil {
		return false // API() reports the broken file
	}
	_, _, _, ok := cfg.Lookup(o.ContextName)
	return !ok
}

// API returns a client of the API server: the flags' server and token,
// else the login context's.
func (o *Options) API() (*apiclient.Client, error) {
	opts := apiclient.Options{Server: o.Server, Token: o.AuthToken, Insecure: o.Insecure, Plaintext: o.Plaintext, Timeout: o.RequestTimeout}
	if o.Server == "" || o.AuthToken == "" {
		cfg, err := ReadConfig(o.ConfigPath)
		if err != nil {
			return nil, err
		}
		if _, srv, user, ok := cfg.Lookup(o.ContextName); ok && (o.Server == "" || o.Server == srv.Server) {
			opts.Server = srv.Server
			opts.Insecure = opts.Insecure || srv.Insecure
			opts.Plaintext = opts.Plaintext || srv.PlainText
			if opts.Token == "" {
				opts.Token = user.AuthToken
			}
		} else if o.ContextName != "" && !ok {
			return nil, fmt.Errorf("no context %q in %s", o.ContextName, o.ConfigPath)
		}
	}
	return apiclient.New(opts)
}

// RESTConfig returns the cluster's credentials from the kubeconfig flags
// (else $KUBECONFIG, ~/.kube/config or in-cluster).
func (o *Options) RESTConfig() (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.Kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: o.KubeContext}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.Timeout = o.RequestTimeout
	return cfg, nil
}

// Kube returns a client of the cluster that knows every kind Tether
// serves.
func (o *Options) Kube() (client.Client, error) {
	cfg, err := o.RESTConfig()
	if err != nil {
		return nil, err
	}
	s, err := scheme.New()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: s})
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return c, nil
}
