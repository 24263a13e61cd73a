package run

import (
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/transport"

	"github.com/tether-gitops/tether/internal/cluster"
	"github.com/tether-gitops/tether/internal/controller/application"
	"github.com/tether-gitops/tether/internal/ratelimit"
	"github.com/tether-gitops/tether/internal/shard"
	"github.com/tether-gitops/tether/internal/source/git"
	"github.com/tether-gitops/tether/internal/tenancy"
)

// Options holds the flags of `tether run`. Every field has a default that
// works on a laptop and in a cluster.
type Options struct {
	// Kubeconfig is the path of a kubeconfig file; empty means the
	// in-cluster configuration (or $KUBECONFIG when set).
	Kubeconfig string
	// QPS and Burst bound requests to the API server.
	QPS   float32
	Burst int

	// URLRewrites are FROM=TO prefix rules applied to every Git, Helm and
	// OCI URL that Tether fetches.
	URLRewrites []string
	// URLRewriteConfigMap is NAMESPACE/NAME of a ConfigMap whose "rules"
	// key holds more FROM=TO lines; it is re-read while running.
	URLRewriteConfigMap string

	// StoragePath is the folder where artifacts are kept.
	StoragePath string
	// StorageAddr is the address the artifact server listens on.
	StorageAddr string
	// StorageAdvAddr is the host[:port] put in artifact URLs; by default
	// the listening address, with "localhost" for an unspecified host.
	StorageAdvAddr string
	// ArtifactRetention is how many artifacts are kept per object.
	ArtifactRetention int
	// MaxArtifactSize bounds one packed artifact, in bytes.
	MaxArtifactSize int64

	// GitCacheDir holds shared checkouts; empty means under StoragePath.
	GitCacheDir string
	// GitResolveTTL is how long the commit a ref points at is reused by
	// every consumer before the remote is asked again.
	GitResolveTTL time.Duration

	// Concurrency is how many objects of one kind are reconciled at once.
	Concurrency int
	// RenderCacheSize is how many rendered revisions are kept in memory.
	RenderCacheSize int
	// AppResyncPeriod is how often an Argo CD Application is compared with
	// Git when nothing else wakes it (Argo CD's timeout.reconciliation).
	AppResyncPeriod time.Duration
	// AppSetRequeueAfter is how often an ApplicationSet is generated again
	// without an event (Argo CD's ARGOCD_APPLICATIONSET_CONTROLLER_REQUEUE_AFTER).
	AppSetRequeueAfter time.Duration
	// ArgoCDNamespace is Argo CD's control-plane namespace: apps there are
	// named by their name alone in tracking annotations.
	ArgoCDNamespace string
	// ApplicationNamespaces are more namespaces (globs) whose Argo CD
	// Applications are reconciled, as Argo CD's --application-namespaces.
	ApplicationNamespaces []string
	// AllowKubeconfigPlugins lets kubeconfigs in Kustomization
	// spec.kubeConfig run exec or auth-provider credential plugins.
	AllowKubeconfigPlugins bool
	// OperationProcessors is how many Argo CD syncs run at once, apart
	// from the workers that compare apps.
	OperationProcessors int
	// RenderTimeout bounds each Kustomize build and the Jsonnet of each
	// directory render; 0 leaves builds unbounded (Jsonnet: one minute).
	RenderTimeout time.Duration
	// GitMaxFiles and GitMaxBytes bound one Git checkout on disk: its
	// files and folders, and the bytes of its files.
	GitMaxFiles int
	GitMaxBytes int64
	// GitTimeout bounds each Git network call (a listing, a clone or
	// fetch) of the shared fetcher.
	GitTimeout time.Duration
	// LiveCache keeps the objects Tether manages in the local cluster in
	// memory: compares read them there and skip the dry run of an object
	// that changed neither in Git nor in the cluster.
	LiveCache bool
	// MetricsAddr serves Prometheus metrics; "0" disables it.
	MetricsAddr string
	// HealthAddr serves /healthz and /readyz; "0" disables it.
	HealthAddr string
	// PprofAddr serves Go's profiler (/debug/pprof/); "0", the default,
	// disables it: profiles show what the process is doing, so it is for
	// a developer's loopback address, never a public one.
	PprofAddr string
	// Tenancy locks tenants' Flux objects down, as Flux's
	// --no-cross-namespace-refs, --default-service-account and
	// --no-remote-bases do; remote bases are refused by default.
	Tenancy tenancy.Policy

	// LeaderElection makes replicas elect one active controller; on by
	// default.
	LeaderElection bool
	// LeaderElectionNamespace holds the election lease: the pod's
	// namespace in a cluster, "default" outside one when empty.
	LeaderElectionNamespace string
	// LeaseDuration, RenewDeadline and RetryPeriod time the election, as
	// Flux's flags of the same names: a standby takes over at most
	// LeaseDuration after the leader stopped renewing.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Shards spreads the objects over the replicas: "off" (the default:
	// the elected leader reconciles everything) or "auto" (every live
	// replica takes a share, by consistent hashing over member Leases;
	// leader election is then not used).
	Shards string
	// ShardIdentity names this replica among the members: the pod's name
	// by default, else the host's name and the process ID.
	ShardIdentity string
	// SealedSecretsNamespace holds the sealing keys (Bitnami's
	// controller namespace); SealedSecretsRenewPeriod is how often a new
	// key is made (old ones keep opening).
	SealedSecretsNamespace   string
	SealedSecretsRenewPeriod time.Duration
	// ImageUpdaterInterval is how often Applications with Argo CD Image
	// Updater's annotations have their images checked.
	ImageUpdaterInterval time.Duration
	// LogLevel is debug, info or error.
	LogLevel string
	// MemoryLimit is the Go runtime's soft memory limit: a size (900Mi),
	// "auto" (GOMEMLIMIT, else 90 % of the cgroup's memory limit) or "off".
	MemoryLimit string

	// API configures the API server.
	API APIOptions

	requests *ratelimit.Budget // made from QPS and Burst on first use
	// wrapTransport wraps every remote cluster client's transport (the
	// per-Application request counter).
	wrapTransport transport.WrapperFunc
	// shard is this replica's share with --shards auto; nil otherwise.
	shard *shard.Membership
}

// budget is the process's request budget per API server, made once.
func (o *Options) budget() *ratelimit.Budget {
	if o.requests == nil {
		o.requests = ratelimit.NewBudget(o.QPS, o.Burst)
	}
	return o.requests
}

// DefaultOptions returns the defaults documented in `tether run --help`.
func DefaultOptions() *Options {
	return &Options{
		QPS:                      100,
		Burst:                    200,
		StoragePath:              defaultStoragePath(),
		StorageAddr:              ":9090",
		ArtifactRetention:        2,
		MaxArtifactSize:          100 << 20,
		GitResolveTTL:            10 * time.Second,
		GitMaxFiles:              git.DefaultMaxFiles,
		GitTimeout:               git.DefaultTimeout,
		GitMaxBytes:              git.DefaultMaxBytes,
		Concurrency:              4,
		RenderCacheSize:          256,
		RenderTimeout:            time.Minute,
		LiveCache:                true,
		Tenancy:                  tenancy.Policy{NoRemoteBases: true},
		OperationProcessors:      application.DefaultOperationProcessors,
		AppResyncPeriod:          3 * time.Minute,
		AppSetRequeueAfter:       3 * time.Minute,
		ArgoCDNamespace:          "argocd",
		MetricsAddr:              ":8080",
		HealthAddr:               ":9440",
		PprofAddr:                "0",
		LogLevel:                 "info",
		LeaderElection:           true,
		Shards:                   "off",
		ImageUpdaterInterval:     2 * time.Minute,
		SealedSecretsNamespace:   "kube-system",
		SealedSecretsRenewPeriod: 30 * 24 * time.Hour,
		LeaseDuration:            15 * time.Second,
		RenewDeadline:            10 * time.Second,
		RetryPeriod:              2 * time.Second,
	}
}

// AddFlags binds the options to flags.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "path of a kubeconfig file; empty uses $KUBECONFIG or the in-cluster configuration")
	fs.Float32Var(&o.QPS, "kube-api-qps", o.QPS, "queries per second to each Kubernetes API server, shared by all of Tether's clients for it (halved while the server answers 429)")
	fs.IntVar(&o.Burst, "kube-api-burst", o.Burst, "burst of queries to each Kubernetes API server, shared by all of Tether's clients for it")
	fs.StringArrayVar(&o.URLRewrites, "url-rewrite", o.URLRewrites, "FROM=TO: fetch URLs starting with FROM from TO instead (repeatable; for mirrors and air-gapped sites)")
	fs.StringVar(&o.URLRewriteConfigMap, "url-rewrite-configmap", o.URLRewriteConfigMap, "NAMESPACE/NAME of a ConfigMap whose \"rules\" key lists more FROM=TO lines")
	fs.StringVar(&o.StoragePath, "storage-path", o.StoragePath, "folder where artifacts are stored")
	fs.StringVar(&o.StorageAddr, "storage-addr", o.StorageAddr, "address the artifact server listens on")
	fs.StringVar(&o.StorageAdvAddr, "storage-adv-addr", o.StorageAdvAddr, "host[:port] advertised in artifact URLs (default: the listening address)")
	fs.IntVar(&o.ArtifactRetention, "artifact-retention-records", o.ArtifactRetention, "artifacts kept per object")
	fs.Int64Var(&o.MaxArtifactSize, "artifact-max-size", o.MaxArtifactSize, "largest packed artifact in bytes (0: no limit)")
	fs.StringVar(&o.GitCacheDir, "git-cache-dir", o.GitCacheDir, "folder for shared Git checkouts (default: <storage-path>/.git-cache)")
	fs.DurationVar(&o.AppResyncPeriod, "app-resync-period", o.AppResyncPeriod, "how often an Argo CD Application is compared with Git without an event (Argo CD's timeout.reconciliation)")
	fs.DurationVar(&o.AppSetRequeueAfter, "appset-requeue-after", o.AppSetRequeueAfter, "how often an ApplicationSet's generators run again without an event (Argo CD's ARGOCD_APPLICATIONSET_CONTROLLER_REQUEUE_AFTER)")
	fs.StringVar(&o.ArgoCDNamespace, "argocd-namespace", o.ArgoCDNamespace, "Argo CD's control-plane namespace; Applications elsewhere are tracked as <namespace>_<name>")
	fs.StringSliceVar(&o.ApplicationNamespaces, "application-namespaces", nil, "more namespaces (globs, comma-separated) whose Argo CD Applications are reconciled; by default only --argocd-namespace's")
	fs.DurationVar(&o.GitResolveTTL, "git-resolve-ttl", o.GitResolveTTL, "how long every consumer of a repository reuses the commit its ref points at (a reconcile request bypasses it)")
	fs.IntVar(&o.GitMaxFiles, "git-max-files", o.GitMaxFiles, "most files and folders one Git checkout may hold; a commit with more fails and nothing of it is kept")
	fs.DurationVar(&o.GitTimeout, "git-timeout", o.GitTimeout, "bound on each Git network call (listing refs, cloning or fetching a commit), shared by every consumer of the repository")
	fs.Int64Var(&o.GitMaxBytes, "git-max-bytes", o.GitMaxBytes, "most bytes the files of one Git checkout may hold; a commit with more fails and nothing of it is kept")
	fs.IntVar(&o.Concurrency, "concurrent", o.Concurrency, "objects of one kind reconciled at the same time")
	fs.IntVar(&o.OperationProcessors, "operation-processors", o.OperationProcessors, "Argo CD syncs run at the same time, apart from the --concurrent workers that compare apps (Argo CD's --operation-processors)")
	fs.DurationVar(&o.RenderTimeout, "render-timeout", o.RenderTimeout, "longest one Kustomize build, or the Jsonnet files of one Argo CD directory source, may run; past it the render fails and others go on (0: no limit for Kustomize, one minute for Jsonnet)")
	fs.IntVar(&o.RenderCacheSize, "render-cache-size", o.RenderCacheSize, "rendered revisions kept in memory, so an unchanged input is never rendered twice")
	fs.BoolVar(&o.LiveCache, "live-cache", o.LiveCache, "keep the objects Tether manages in the local cluster in memory (watched), compare from there, and dry-run only objects that changed in Git or in the cluster (false: read and dry-run every object on every compare)")
	fs.BoolVar(&o.AllowKubeconfigPlugins, "allow-kubeconfig-plugins", o.AllowKubeconfigPlugins, "let kubeconfigs of remote clusters run exec/auth-provider credential plugins inside Tether (off: CVE-2022-24817)")
	fs.StringVar(&o.MetricsAddr, "metrics-addr", o.MetricsAddr, "address of the Prometheus metrics endpoint (\"0\" disables it)")
	fs.StringVar(&o.HealthAddr, "health-addr", o.HealthAddr, "address of the health probes (\"0\" disables them)")
	fs.StringVar(&o.PprofAddr, "pprof-addr", o.PprofAddr, "address of Go's profiler, /debug/pprof/ (\"0\" disables it; use a loopback address such as 127.0.0.1:6060)")
	fs.BoolVar(&o.Tenancy.NoCrossNamespaceRefs, "no-cross-namespace-refs", o.Tenancy.NoCrossNamespaceRefs, "refuse Kustomizations and HelmReleases that reference sources in another namespace (Flux's flag)")
	fs.StringVar(&o.Tenancy.DefaultServiceAccount, "default-service-account", o.Tenancy.DefaultServiceAccount, "service account that Kustomizations and HelmReleases naming none act as, in their own namespace (Flux's flag; empty: Tether's own rights)")
	fs.BoolVar(&o.Tenancy.NoRemoteBases, "no-remote-bases", o.Tenancy.NoRemoteBases, "refuse Kustomizations whose kustomization files include remote bases or files (URLs): only files of the source are built (Flux's flag, but on by default; false lets kustomize fetch them)")
	fs.BoolVar(&o.LeaderElection, "enable-leader-election", o.LeaderElection, "elect one active replica through a Kubernetes lease; the others serve the API and artifacts and stand by (false: this process acts alone, run one replica only)")
	fs.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", o.LeaderElectionNamespace, "namespace of the leader election lease (default: the pod's namespace; \"default\" outside a cluster)")
	fs.DurationVar(&o.LeaseDuration, "leader-election-lease-duration", o.LeaseDuration, "how long a standby waits after the leader's last renewal before it takes over")
	fs.DurationVar(&o.RenewDeadline, "leader-election-renew-deadline", o.RenewDeadline, "how long the leader retries renewing before it gives up leadership (and exits)")
	fs.DurationVar(&o.RetryPeriod, "leader-election-retry-period", o.RetryPeriod, "how often replicas try to acquire or renew the lease")
	fs.StringVar(&o.Shards, "shards", o.Shards, "spread objects over replicas: off (one elected leader reconciles everything) or auto (every live replica reconciles a share, chosen by consistent hashing and moved when a replica joins or dies; Flux's sharding.fluxcd.io/key label keeps objects together; give each replica its own --storage-adv-addr, such as $(POD_IP):9090, since consumers fetch artifacts from the replica that made them)")
	fs.StringVar(&o.ShardIdentity, "shard-identity", o.ShardIdentity, "this replica's name among the shard members (default: $POD_NAME, else $HOSTNAME-<pid>)")
	fs.StringVar(&o.SealedSecretsNamespace, "sealed-secrets-namespace", o.SealedSecretsNamespace, "namespace of the Sealed Secrets key pairs (Secrets labelled sealedsecrets.bitnami.com/sealed-secrets-key=active), as Bitnami's controller keeps them")
	fs.DurationVar(&o.SealedSecretsRenewPeriod, "sealed-secrets-key-renew-period", o.SealedSecretsRenewPeriod, "how often a new sealing key is made; old keys keep opening what they sealed (0 or less: never)")
	fs.DurationVar(&o.ImageUpdaterInterval, "image-updater-interval", o.ImageUpdaterInterval, "how often the images of Applications with Argo CD Image Updater's annotations are checked (its --interval)")
	fs.StringVar(&o.LogLevel, "log-level", o.LogLevel, "log level: debug, info or error")
	o.API.addFlags(fs)
	fs.StringVar(&o.MemoryLimit, "memory-limit", "auto", "soft memory limit of the Go heap, where garbage collection works harder instead of growing (a size such as 900Mi; auto: GOMEMLIMIT, else 90% of the container's cgroup memory limit; off)")
}

// clusterOptions are what remote clusters' credentials may do, and the
// request budget of their clients: the same as Tether's own client, so
// that an Argo CD cluster Secret or a Flux kubeConfig pointing at a
// cluster is as fast as the cluster Tether runs in.
func (o *Options) clusterOptions() cluster.Options {
	return cluster.Options{AllowPlugins: o.AllowKubeconfigPlugins, QPS: o.QPS, Burst: o.Burst, Budget: o.budget(), UserAgent: userAgent,
		WrapTransport: o.wrapTransport}
}
