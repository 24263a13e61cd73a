package run

import (
	"context"
	"fmt"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/controller/sealedsecret"
	enginesync "github.com/tether-gitops/tether/internal/engine/sync"
	"github.com/tether-gitops/tether/internal/restmapping"
	"github.com/tether-gitops/tether/internal/scheme"
	"github.com/tether-gitops/tether/internal/server"
	"github.com/tether-gitops/tether/internal/server/session"
	"github.com/tether-gitops/tether/internal/server/settings"
)

// APIOptions are the API server's flags, shared by `tether run` and
// `tether server`.
type APIOptions struct {
	// Addr is where the API listens; "0" disables it.
	Addr string
	// Insecure serves plain HTTP.
	Insecure bool
	// TLSCertFile and TLSKeyFile are the certificate and key; without
	// them a self-signed certificate is made at start.
	TLSCertFile, TLSKeyFile string
}

func (o *APIOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Addr, "server-addr", ":8443", "address the API server listens on (\"0\" disables it)")
	fs.BoolVar(&o.Insecure, "server-insecure", false, "serve the API over plain HTTP (for local use; tokens then travel in clear)")
	fs.StringVar(&o.TLSCertFile, "tls-cert-file", "", "PEM certificate (chain) of the API server; with --tls-key-file (default: a self-signed certificate made at start)")
	fs.StringVar(&o.TLSKeyFile, "tls-key-file", "", "PEM private key of the API server's certificate")
}

// inspectors are the controllers the API asks for diffs and trees; each
// is nil when this process runs no such controller.
type inspectors struct {
	apps           server.Inspector
	kustomizations server.KustomizationInspector
	helmReleases   server.HelmReleaseInspector
	// sealedSecrets are the Sealed Secrets controller's keys; when nil
	// (`tether server`) the API reads them from --sealed-secrets-namespace
	// itself.
	sealedSecrets server.SealedSecrets
}

// addAPIServer adds the API server to mgr, unless --server-addr is "0".
// progress may be nil (no controllers in this process).
func addAPIServer(mgr ctrl.Manager, opts *Options, progress *enginesync.Hub, in inspectors, logger logr.Logger) error {
	if opts.API.Addr == "0" {
		return nil
	}
	kube, err := kubernetes.NewForConfig(mgr.GetConfig())
	if err != nil {
		return fmt.Errorf("api server: %w", err)
	}
	store := settings.New(kube, opts.ArgoCDNamespace)
	reader := mgr.GetClient()
	projects := func(ctx context.Context, name string) (*argov1.AppProject, error) {
		var p argov1.AppProject
		if err := reader.Get(ctx, keyOf(opts.ArgoCDNamespace, name), &p); err != nil {
			return nil, err
		}
		return &p, nil
	}
	external, sso, err := ssoProvider(opts, store, logger.WithName("sso"))
	if err != nil {
		return err
	}
	sessions, err := session.New(store, projects, session.Options{External: external})
	if err != nil {
		return err
	}
	webhook, receivers, err := webhookHandlers(mgr, opts, store, logger.WithName("webhook"))
	if err != nil {
		return err
	}
	sealed := in.sealedSecrets
	if sealed == nil {
		sealed = &sealedsecret.Keyring{Reader: mgr.GetAPIReader(), Namespace: opts.SealedSecretsNamespace}
	}
	srv, err := server.New(server.Config{
		Addr: opts.API.Addr, Insecure: opts.API.Insecure,
		TLSCertFile: opts.API.TLSCertFile, TLSKeyFile: opts.API.TLSKeyFile,
		Namespace: opts.ArgoCDNamespace, AppNamespaces: opts.ApplicationNamespaces,
	}, server.Deps{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Cache: mgr.GetCache(), Kube: kube,
		Settings: store, Sessions: sessions, Progress: progress, Inspector: in.apps, Kustomizations: in.kustomizations, HelmReleases: in.helmReleases,
		Logger:  logger.WithName("api"),
		Webhook: webhook, Receivers: receivers, SSO: sso, SealedSecrets: sealed,
	})
	if err != nil {
		return err
	}
	return mgr.Add(srv)
}

// NewServerCmd returns the `server` command: the API server alone, for
// deployments that run it apart from the controllers.
func NewServerCmd() *cobra.Command {
	opts := DefaultOptions()
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run Tether's API server alone against a cluster",
		Long: `Serve Tether's API (Argo CD's REST shapes, logins and RBAC) over HTTPS on
--server-addr, against the cluster of --kubeconfig, without running any
controller. Use it to run the API apart from "tether run" (which serves the
same API besides its controllers); progress streams are empty here.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return Serve(cmd.Context(), opts)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.Kubeconfig, "kubeconfig", opts.Kubeconfig, "path of a kubeconfig file; empty uses $KUBECONFIG or the in-cluster configuration")
	fs.Float32Var(&opts.QPS, "kube-api-qps", opts.QPS, "queries per second to the Kubernetes API server")
	fs.IntVar(&opts.Burst, "kube-api-burst", opts.Burst, "burst of queries to the Kubernetes API server")
	fs.StringVar(&opts.ArgoCDNamespace, "argocd-namespace", opts.ArgoCDNamespace, "Argo CD's control-plane namespace: settings (argocd-cm, argocd-rbac-cm, argocd-secret), AppProjects and Applications")
	fs.StringSliceVar(&opts.ApplicationNamespaces, "application-namespaces", nil, "more namespaces (globs, comma-separated) whose Argo CD Applications are served")
	fs.StringVar(&opts.MetricsAddr, "metrics-addr", opts.MetricsAddr, "address of the Prometheus metrics endpoint (\"0\" disables it)")
	fs.StringVar(&opts.HealthAddr, "health-addr", opts.HealthAddr, "address of the health probes (\"0\" disables them)")
	fs.StringVar(&opts.LogLevel, "log-level", opts.LogLevel, "log level: debug, info or error")
	fs.StringVar(&opts.SealedSecretsNamespace, "sealed-secrets-namespace", opts.SealedSecretsNamespace, "namespace of the Sealed Secrets key pairs, for /v1/cert.pem, /v1/verify and /v1/rotate")
	opts.API.addFlags(fs)
	return cmd
}

// Serve runs the API server alone until ctx ends.
func Serve(ctx context.Context, opts *Options) error {
	logger, err := newLogger(opts.LogLevel)
	if err != nil {
		return err
	}
	ctrl.SetLogger(logger)
	if opts.API.Addr == "0" {
		return fmt.Errorf("--server-addr 0 leaves nothing to run")
	}
	cfg, err := restConfig(opts)
	if err != nil {
		return err
	}
	s, err := scheme.New()
	if err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 s,
		Metrics:                metricsserver.Options{BindAddress: opts.MetricsAddr},
		HealthProbeBindAddress: opts.HealthAddr,
		Client:                 clientOptions(),
		MapperProvider:         restmapping.NewDynamic,
		Cache:                  managerCache(),
	})
	if err != nil {
		return fmt.Errorf("controller manager: %w", err)
	}
	if err := addAPIServer(mgr, opts, nil, inspectors{}, logger); err != nil {
		return err
	}
	return mgr.Start(ctx)
}

func keyOf(namespace, name string) client.ObjectKey {
	return client.ObjectKey{Namespace: namespace, Name: name}
}
