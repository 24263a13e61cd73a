// Package run implements `tether run`: the process that runs every
// controller and the artifact server (and, later, the API server).
package run

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	"github.com/tether-gitops/tether/internal/controller/application"
	"github.com/tether-gitops/tether/internal/controller/applicationset"
	"github.com/tether-gitops/tether/internal/controller/gitrepository"
	"github.com/tether-gitops/tether/internal/controller/kustomization"
	"github.com/tether-gitops/tether/internal/controller/lifecycle"
	"github.com/tether-gitops/tether/internal/controller/sealedsecret"
	enginesync "github.com/tether-gitops/tether/internal/engine/sync"
	"github.com/tether-gitops/tether/internal/helm"
	"github.com/tether-gitops/tether/internal/livecache"
	"github.com/tether-gitops/tether/internal/metrics"
	"github.com/tether-gitops/tether/internal/notify"
	"github.com/tether-gitops/tether/internal/render"
	"github.com/tether-gitops/tether/internal/restmapping"
	"github.com/tether-gitops/tether/internal/scheme"
	"github.com/tether-gitops/tether/internal/shard"
	"github.com/tether-gitops/tether/internal/source/artifact"
	"github.com/tether-gitops/tether/internal/source/git"
	"github.com/tether-gitops/tether/internal/source/oci"
	"github.com/tether-gitops/tether/internal/urlrewrite"
)

// NewCmd returns the `run` command.
func NewCmd() *cobra.Command {
	opts := DefaultOptions()
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run Tether's controllers and artifact server against a cluster",
		Long: `Run every Tether controller (Argo CD's Application and AppProject, Flux's
sources, Kustomization and HelmRelease), the artifact server and the API
server in one process, against the cluster of --kubeconfig (or the
in-cluster configuration). Stop it with SIGINT or SIGTERM.

The API server listens on --server-addr (HTTPS, a self-signed certificate
unless --tls-cert-file and --tls-key-file are given). At first start it
makes the admin password, as Argo CD does:

  kubectl -n argocd get secret argocd-initial-admin-secret \
    -o jsonpath='{.data.password}' | base64 -d

URL rewrites map the public URLs written in objects to mirrors, so the same
YAML works air-gapped:

  tether run --kubeconfig ~/.kube/config \
    --url-rewrite https://github.com/=http://git-mirror.internal/github/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return Run(cmd.Context(), opts)
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

// Run runs until ctx ends.
func Run(ctx context.Context, opts *Options) error {
	logger, err := newLogger(opts.LogLevel)
	if err != nil {
		return err
	}
	ctrl.SetLogger(logger)
	if limit, from, err := memoryLimit(opts.MemoryLimit, os.ReadFile); err != nil {
		return err
	} else if limit > 0 {
		logger.Info("soft memory limit", "bytes", limit, "from", from)
	}
	cfg, err := restConfig(opts)
	if err != nil {
		return err
	}
	rules, err := urlrewrite.Parse(opts.URLRewrites)
	if err != nil {
		return err
	}
	rewrites := newRewriter(rules)

	listener, advAddr, err := listenStorage(opts)
	if err != nil {
		return err
	}
	storage, err := artifact.NewStorage(opts.StoragePath, "http://"+advAddr)
	if err != nil {
		listener.Close()
		return fmt.Errorf("artifact storage %s: %w", opts.StoragePath, err)
	}
	// An artifact is packed from a checkout that passed the Git limits, so
	// unpacking it is bounded by the same ones.
	storage.MaxExtractSize, storage.MaxExtractEntries = opts.GitMaxBytes, opts.GitMaxFiles
	cacheDir := opts.GitCacheDir
	if cacheDir == "" {
		cacheDir = filepath.Join(opts.StoragePath, ".git-cache")
	}
	recorder := metrics.NewRecorder()
	// Requests made for an Application are counted, on every cluster.
	opts.wrapTransport = recorder.WrapTransport
	cfg.Wrap(recorder.WrapTransport)
	fetcher, err := git.NewFetcher(git.Options{CacheDir: cacheDir, ResolveTTL: opts.GitResolveTTL, Rewrite: rewrites.Rewrite,
		MaxFiles: opts.GitMaxFiles, MaxBytes: opts.GitMaxBytes, Timeout: opts.GitTimeout, OnRequest: recorder.GitRequest})
	if err != nil {
		listener.Close()
		return fmt.Errorf("git fetcher: %w", err)
	}

	s, err := scheme.New()
	if err != nil {
		return err
	}
	sharded, err := shardMode(opts.Shards)
	if err != nil {
		listener.Close()
		return err
	}
	if sharded {
		// Each replica's requests are told apart in audit logs.
		cfg.UserAgent = userAgent + " (shard " + shardIdentity(opts.ShardIdentity) + ")"
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  s,
		Metrics:                 metricsserver.Options{BindAddress: opts.MetricsAddr},
		HealthProbeBindAddress:  opts.HealthAddr,
		PprofBindAddress:        opts.PprofAddr,
		LeaderElection:          opts.LeaderElection && !sharded, // shards share the work instead
		LeaderElectionID:        LeaderElectionID,
		LeaderElectionNamespace: leaderElectionNamespace(opts.LeaderElectionNamespace, inCluster),
		// A replica that stops hands the lease over at once, instead of
		// the standby waiting out the lease.
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 &opts.LeaseDuration,
		RenewDeadline:                 &opts.RenewDeadline,
		RetryPeriod:                   &opts.RetryPeriod,
		Client:                        clientOptions(),
		MapperProvider:                restmapping.NewDynamic,
		Cache:                         managerCache(),
	})
	if err != nil {
		listener.Close()
		return fmt.Errorf("controller manager: %w", err)
	}
	if err := mgr.Add(&artifactServer{listener: listener, handler: storage.Handler()}); err != nil {
		return err
	}
	byCluster := false
	if sharded {
		if opts.shard, byCluster, err = joinShards(ctx, mgr, opts); err != nil {
			return err
		}
	}
	if opts.URLRewriteConfigMap != "" {
		if err := mgr.Add(&rewriteWatcher{reader: mgr.GetAPIReader(), ref: opts.URLRewriteConfigMap, flags: rules, target: rewrites}); err != nil {
			return err
		}
	}
	// Notifications leave through one dispatcher: Flux Alerts from the
	// Flux controllers' events, Argo CD's triggers from Applications.
	dispatcher := notify.NewDispatcher(notify.Options{})
	if err := mgr.Add(dispatcher); err != nil {
		return err
	}
	events, err := fluxEventRecorders(mgr, opts, dispatcher)
	if err != nil {
		return err
	}
	repos := &gitrepository.Reconciler{
		Client:            mgr.GetClient(),
		APIReader:         mgr.GetAPIReader(),
		Fetcher:           fetcher,
		Storage:           storage,
		Shard:             opts.shard,
		Events:            events("tether-source-controller"),
		MaxArtifactSize:   opts.MaxArtifactSize,
		ArtifactRetention: opts.ArtifactRetention,
		Concurrency:       opts.Concurrency,
	}
	if err := repos.SetupWithManager(mgr); err != nil {
		return err
	}
	if err := setupBucket(mgr, opts, storage, recorder, events); err != nil {
		return err
	}
	ociClient := &oci.Client{Rewrite: rewrites.Rewrite}
	if err := setupOCIRepository(mgr, opts, storage, ociClient, recorder, events); err != nil {
		return err
	}
	live, err := liveCache(mgr, opts)
	if err != nil {
		return err
	}
	progress := enginesync.NewHub() // every sync's progress, for the API
	logProgress(ctx, progress, logger.WithName("progress"))
	renderer := render.NewRenderer(opts.RenderCacheSize)
	renderer.Timeout = opts.RenderTimeout
	if err := registerRenderMetrics(renderer); err != nil {
		return err
	}
	if err := registerStateMetrics(mgr, opts, recorder); err != nil {
		return err
	}
	kustomizations := &kustomization.Reconciler{
		Client:      mgr.GetClient(),
		APIReader:   mgr.GetAPIReader(),
		Config:      cfg,
		Storage:     storage,
		Renderer:    renderer,
		Events:      events("tether-kustomize-controller"),
		Concurrency: opts.Concurrency,
		Clusters:    opts.clusterOptions(),
		Tenancy:     opts.Tenancy,
		Shard:       opts.shard,
		Live:        live,
		Progress:    progress,
		Metrics:     recorder,
	}
	if err := kustomizations.SetupWithManager(mgr); err != nil {
		return err
	}
	helmClient := &helm.Client{Rewrite: rewrites.Rewrite}
	apps := &application.Reconciler{
		Client:                mgr.GetClient(),
		APIReader:             mgr.GetAPIReader(),
		Fetcher:               fetcher,
		Helm:                  helmClient,
		OCI:                   ociClient,
		Renderer:              renderer,
		Events:                lifecycle.Bounded(mgr.GetEventRecorder("tether-application-controller")),
		Concurrency:           max(opts.Concurrency, 8),
		OperationProcessors:   opts.OperationProcessors,
		ResyncPeriod:          opts.AppResyncPeriod,
		ControlPlaneNamespace: opts.ArgoCDNamespace,
		AppNamespaces:         opts.ApplicationNamespaces,
		Shard:                 opts.shard,
		ShardByCluster:        byCluster,
		Clusters:              opts.clusterOptions(),
		Live:                  live,
		Progress:              progress,
		Metrics:               recorder,
	}
	if err := apps.SetupWithManager(mgr); err != nil {
		return err
	}
	sets := &applicationset.Reconciler{
		Client:       mgr.GetClient(),
		Repos:        apps,
		Namespace:    opts.ArgoCDNamespace,
		Events:       lifecycle.Bounded(mgr.GetEventRecorder("tether-applicationset-controller")),
		Shard:        opts.shard,
		RequeueAfter: opts.AppSetRequeueAfter,
	}
	if err := sets.SetupWithManager(mgr); err != nil {
		return err
	}
	releases, err := setupHelm(mgr, opts, cfg, storage, renderer, helmClient, live, recorder, events)
	if err != nil {
		return err
	}
	if err := setupArgoNotifications(mgr, opts, dispatcher, recorder); err != nil {
		return err
	}
	if err := setupImages(mgr, opts, rewrites.Rewrite, fetcher, events, apps.RepoAuth); err != nil {
		return err
	}
	sealed := &sealedsecret.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Namespace: opts.SealedSecretsNamespace,
		RenewPeriod: opts.SealedSecretsRenewPeriod, Events: events("sealed-secrets-controller"), Shard: opts.shard}
	if err := sealed.SetupWithManager(mgr); err != nil {
		return err
	}
	if err := setupReceivers(mgr, opts); err != nil {
		return err
	}
	if err := addAPIServer(mgr, opts, progress, inspectors{apps: apps, kustomizations: kustomizations, helmReleases: releases, sealedSecrets: sealed.Keyring()}, logger); err != nil {
		return err
	}
	logger.Info("starting", "artifacts", "http://"+advAddr, "urlRewrites", rules.Len())
	return mgr.Start(ctx)
}

// LeaderElectionID names the Lease that replicas elect their leader on.
const LeaderElectionID = "tether-controller-leader"

// serviceAccountNamespace is where a pod finds its namespace.
const serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// inCluster reports whether Tether runs in a pod.
func inCluster() bool {
	_, err := os.Stat(serviceAccountNamespace)
	return err == nil
}

// leaderElectionNamespace is where the election Lease lives: the flag's
// namespace, else the pod's (controller-runtime reads it), else
// "default", which every cluster has, for a process run outside one.
func leaderElectionNamespace(flag string, inCluster func() bool) string {
	if flag == "" && !inCluster() {
		return "default"
	}
	return flag
}

// logProgress logs every sync progress event at debug level, one line
// each, until ctx ends.
func logProgress(ctx context.Context, hub *enginesync.Hub, logger logr.Logger) {
	if !logger.V(1).Enabled() {
		return
	}
	events, stop := hub.Subscribe("", 4096)
	context.AfterFunc(ctx, stop)
	go func() {
		for e := range events {
			kv := []any{"app", e.App, "phase", e.Phase, "wave", e.Wave, "action", e.Action, "result", e.Result}
			if e.Object != nil {
				kv = append(kv, "object", e.Object.String())
			}
			logger.V(1).Info(e.Message, kv...)
		}
	}()
}

// liveCache makes the live cache of the local cluster, holding whole the
// objects that a Kustomization (its name label), an Application (its
// tracking or hook annotation) or a HelmRelease (Helm's release
// annotation) manages; nil with --live-cache=false.
func liveCache(mgr ctrl.Manager, opts *Options) (*livecache.Cache, error) {
	if !opts.LiveCache {
		return nil, nil
	}
	markers := append([]livecache.Marker{
		{Label: kustomizev1.NameLabel},
		{Annotation: "meta.helm.sh/release-name"}, // a HelmRelease's objects
	}, application.LiveCacheMarkers()...)
	live, err := livecache.New(mgr.GetConfig(), mgr.GetScheme(), mgr.GetRESTMapper(), livecache.Options{Markers: markers})
	if err != nil {
		return nil, err
	}
	return live, mgr.Add(live)
}

// clientOptions are the manager client's: Secrets and ConfigMaps are read
// on demand, so memory does not grow with every Secret in the cluster.
func clientOptions() client.Options {
	return client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}, &corev1.ConfigMap{}}}}
}

func restConfig(opts *Options) (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	switch {
	case opts.Kubeconfig != "":
		cfg, err = clientcmd.BuildConfigFromFlags("", opts.Kubeconfig)
	case os.Getenv("KUBECONFIG") != "":
		cfg, err = clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	default:
		cfg, err = rest.InClusterConfig()
		if errors.Is(err, rest.ErrNotInCluster) {
			return nil, errors.New("no cluster to talk to: pass --kubeconfig PATH or run inside a cluster")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = opts.QPS, opts.Burst
	cfg.UserAgent = userAgent
	opts.budget().Apply(cfg)
	return cfg, nil
}

// userAgent names Tether's requests in API servers' audit logs, on every
// cluster it talks to.
const userAgent = "tether"

// listenStorage opens the artifact server's listener and works out the
// address to advertise in artifact URLs.
func listenStorage(opts *Options) (net.Listener, string, error) {
	l, err := net.Listen("tcp", opts.StorageAddr)
	if err != nil {
		return nil, "", fmt.Errorf("artifact server: %w", err)
	}
	if opts.StorageAdvAddr != "" {
		return l, opts.StorageAdvAddr, nil
	}
	host, _, _ := net.SplitHostPort(opts.StorageAddr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	return l, net.JoinHostPort(host, port), nil
}

// artifactServer serves stored artifacts while the manager runs; every
// replica serves, not only the leader.
type artifactServer struct {
	listener net.Listener
	handler  http.Handler
}

// Start serves until ctx ends.
func (a *artifactServer) Start(ctx context.Context) error {
	srv := &http.Server{Handler: a.handler, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(a.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("artifact server: %w", err)
	}
	return nil
}

// NeedLeaderElection is false: artifacts are served by every replica.
func (a *artifactServer) NeedLeaderElection() bool { return false }

func newLogger(level string) (logr.Logger, error) {
	var l slog.Level
	switch level {
	case "debug":
		// Down to logr's V(1): controllers' detail. Deeper levels of
		// client-go print request and response bodies, Secrets included,
		// so they are never enabled.
		l = slog.Level(-1)
	case "info":
		l = slog.LevelInfo
	case "error":
		l = slog.LevelError
	default:
		return logr.Logger{}, fmt.Errorf("unknown --log-level %q: use debug, info or error", level)
	}
	return logr.FromSlogHandler(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}

func defaultStoragePath() string {
	if os.Getenv("KUBERNETES_SERVICE_HOST") != "" {
		return "/data"
	}
	return filepath.Join(os.TempDir(), "tether", "artifacts")
}

// managerCache is the manager's informer cache: objects are kept without
// their managedFields, which nothing reads from the cache (writes never
// send them, and the API server keeps them when a write omits them). At
// 10,000 Applications they were a tenth of what every refresh copied.
func managerCache() cache.Options {
	return cache.Options{DefaultTransform: cache.TransformStripManagedFields()}
}

// shardMode reads --shards: false for "off", true for "auto".
func shardMode(v string) (bool, error) {
	switch v {
	case "", "off":
		return false, nil
	case "auto":
		return true, nil
	}
	return false, fmt.Errorf("unknown --shards %q: use off or auto", v)
}

// joinShards makes this replica a member of the shard group, in the
// leader election's namespace, and reads Argo CD's
// controller.sharding.algorithm from argocd-cmd-params-cm: when one is
// set, Applications are sharded by destination cluster, as Argo CD does.
func joinShards(ctx context.Context, mgr ctrl.Manager, opts *Options) (*shard.Membership, bool, error) {
	cs, err := kubernetes.NewForConfig(mgr.GetConfig())
	if err != nil {
		return nil, false, err
	}
	ns := leaderElectionNamespace(opts.LeaderElectionNamespace, inCluster)
	if ns == "" {
		data, err := os.ReadFile(serviceAccountNamespace)
		if err != nil {
			return nil, false, fmt.Errorf("shard members' namespace: %w", err)
		}
		ns = strings.TrimSpace(string(data))
	}
	algorithm := ""
	var params corev1.ConfigMap
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err = mgr.GetAPIReader().Get(rctx, client.ObjectKey{Namespace: opts.ArgoCDNamespace, Name: "argocd-cmd-params-cm"}, &params)
	switch {
	case err == nil:
		algorithm = params.Data["controller.sharding.algorithm"]
	case !apierrors.IsNotFound(err):
		return nil, false, fmt.Errorf("read argocd-cmd-params-cm: %w", err)
	}
	m := shard.New(cs, shard.Options{Namespace: ns, Identity: shardIdentity(opts.ShardIdentity), Algorithm: algorithm,
		LeaseDuration: opts.LeaseDuration, RenewPeriod: opts.RetryPeriod})
	if err := mgr.Add(m); err != nil {
		return nil, false, err
	}
	ctrl.Log.Info("sharding by member Leases", "identity", shardIdentity(opts.ShardIdentity), "namespace", ns, "argoAlgorithm", algorithm)
	return m, algorithm != "", nil
}

// shardIdentity is --shard-identity, else the pod's name, else the host's
// name and the process ID (several processes may share a host).
func shardIdentity(flag string) string {
	if flag != "" {
		return flag
	}
	if pod := os.Getenv("POD_NAME"); pod != "" {
		return pod
	}
	host, _ := os.Hostname()
	return host + "-" + strconv.Itoa(os.Getpid())
}
