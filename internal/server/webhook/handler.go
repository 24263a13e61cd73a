package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/api/meta"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
)

// Keys of argocd-secret and argocd-cm that the push handler reads.
const (
	// GitHubSecretKey verifies GitHub's X-Hub-Signature-256.
	GitHubSecretKey = "webhook.github.secret"
	// GitLabSecretKey is compared with GitLab's X-Gitlab-Token.
	GitLabSecretKey = "webhook.gitlab.secret"
	// BitbucketUUIDKey is compared with Bitbucket Cloud's X-Hook-UUID.
	BitbucketUUIDKey = "webhook.bitbucket.uuid"
	// GogsSecretKey verifies X-Gogs-Signature (and X-Gitea-Signature when
	// GiteaSecretKey is not set).
	GogsSecretKey = "webhook.gogs.secret"
	// GiteaSecretKey verifies X-Gitea-Signature.
	GiteaSecretKey = "webhook.gitea.secret"
	// MaxPayloadKey in argocd-cm caps a body, in MiB.
	MaxPayloadKey = "webhook.maxPayloadSizeMB"
)

// DefaultMaxPayloadMB is the body cap without MaxPayloadKey (Argo CD's).
const DefaultMaxPayloadMB = 50

// Defaults of Options.
const (
	// DefaultMaxPending bounds the refreshes queued or running.
	DefaultMaxPending = 64
	// DefaultRefreshTimeout bounds one event's listing and writes.
	DefaultRefreshTimeout = 2 * time.Minute
	// refreshWriters is how many objects one event patches at once.
	refreshWriters = 8
)

// Settings are Argo CD's watched settings (settings.Store).
type Settings interface {
	// Secret returns argocd-secret's data.
	Secret() map[string][]byte
	// ConfigMap returns argocd-cm's data.
	ConfigMap() map[string]string
}

// Options configure a Handler.
type Options struct {
	// Client lists Applications and GitRepositories (the manager's cached
	// client) and patches them.
	Client client.Client
	// Settings hold the webhook secrets and the payload cap.
	Settings Settings
	// Namespace is Argo CD's control-plane namespace; its Applications
	// are refreshed.
	Namespace string
	// AppNamespaces are more namespaces (globs) whose Applications are.
	AppNamespaces []string
	// Rewrite, when set, maps a spec URL to the one fetched
	// (--url-rewrite), so a push reported by a mirror matches too.
	Rewrite func(string) string
	// Logger logs each event's outcome (never a secret or a body).
	Logger logr.Logger
	// Now is the clock of GitRepositories' requestedAt; time.Now if nil.
	Now func() time.Time
	// Readers bounds the bodies read at once; DefaultReaders if 0.
	Readers int
	// MaxPending bounds the events being refreshed; DefaultMaxPending
	// if 0. Past it, requests are answered 503.
	MaxPending int
	// RefreshTimeout bounds one event's work; DefaultRefreshTimeout if 0.
	RefreshTimeout time.Duration
}

// Handler serves POST /api/webhook: Git providers' push events.
type Handler struct {
	opts    Options
	readers *readers

	mu      sync.Mutex
	pending map[string]bool // events being refreshed, by key
	wg      sync.WaitGroup
}

// NewHandler returns a push handler.
func NewHandler(opts Options) (*Handler, error) {
	if opts.Client == nil || opts.Settings == nil {
		return nil, errors.New("webhook handler: client and settings are required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = DefaultMaxPending
	}
	if opts.RefreshTimeout <= 0 {
		opts.RefreshTimeout = DefaultRefreshTimeout
	}
	return &Handler{opts: opts, readers: newReaders(opts.Readers), pending: map[string]bool{}}, nil
}

// ServeHTTP answers at once: 200 once the event is verified and its
// refresh queued, 400 for an unknown event or a failed verification, 413
// for a body over the cap, 503 when too many are in flight.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	provider, event := detect(r.Header)
	if provider == "" {
		http.Error(w, "Unknown webhook event", http.StatusBadRequest)
		return
	}
	release, ok := h.readers.acquire(r.Context())
	if !ok {
		busy(w)
		return
	}
	defer release()
	body, err := readBody(w, r, h.maxPayload())
	if err != nil {
		bodyError(w, err)
		return
	}
	if err := h.verify(provider, r.Header, body); err != nil {
		h.opts.Logger.Info("webhook refused", "provider", provider, "reason", err.Error())
		http.Error(w, "Webhook processing failed: "+err.Error(), http.StatusBadRequest)
		return
	}
	switch kind := pushKind(provider, event); kind {
	case "ping":
		_, _ = w.Write([]byte("pong\n"))
		return
	case "":
		http.Error(w, "Unknown webhook event", http.StatusBadRequest)
		return
	}
	pushes, err := ParsePush(provider, body)
	if err != nil {
		http.Error(w, "Webhook processing failed: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(pushes) == 0 {
		_, _ = w.Write([]byte("nothing to refresh\n"))
		return
	}
	switch h.enqueue(pushes) {
	case queueFull:
		busy(w)
	default:
		w.WriteHeader(http.StatusOK)
	}
}

// Wait waits for the refreshes under way (for tests and shutdown).
func (h *Handler) Wait() { h.wg.Wait() }

// detect names the provider and event of a request from its headers.
// Gitea and Gogs are asked first: they also send X-GitHub-Event.
func detect(hd http.Header) (provider, event string) {
	switch {
	case hd.Get("X-Gitea-Event") != "":
		return Gitea, hd.Get("X-Gitea-Event")
	case hd.Get("X-Gogs-Event") != "":
		return Gogs, hd.Get("X-Gogs-Event")
	case hd.Get("X-GitHub-Event") != "":
		return GitHub, hd.Get("X-GitHub-Event")
	case hd.Get("X-Gitlab-Event") != "":
		return GitLab, hd.Get("X-Gitlab-Event")
	case hd.Get("X-Hook-UUID") != "" && hd.Get("X-Event-Key") != "":
		return Bitbucket, hd.Get("X-Event-Key")
	}
	return "", ""
}

// pushKind classifies an event: "push", "ping" or "" (not handled).
func pushKind(provider, event string) string {
	switch {
	case provider == GitHub && event == "ping":
		return "ping"
	case (provider == GitHub || provider == Gitea || provider == Gogs) && event == "push",
		provider == GitLab && (event == "Push Hook" || event == "Tag Push Hook"),
		provider == Bitbucket && event == "repo:push":
		return "push"
	}
	return ""
}

// verify checks the request against provider's secret. A provider whose
// secret is not set is accepted unsigned only while no webhook secret is
// set at all, as in a fresh Argo CD; once one is, an unsigned provider
// could otherwise be used to bypass it.
func (h *Handler) verify(provider string, hd http.Header, body []byte) error {
	data := h.opts.Settings.Secret()
	get := func(key string) string { return strings.TrimSpace(string(data[key])) }
	secret := ""
	switch provider {
	case GitHub:
		secret = get(GitHubSecretKey)
	case GitLab:
		secret = get(GitLabSecretKey)
	case Bitbucket:
		secret = get(BitbucketUUIDKey)
	case Gitea:
		if secret = get(GiteaSecretKey); secret == "" {
			secret = get(GogsSecretKey)
		}
	case Gogs:
		secret = get(GogsSecretKey)
	}
	if secret == "" {
		for _, key := range []string{GitHubSecretKey, GitLabSecretKey, BitbucketUUIDKey, GogsSecretKey, GiteaSecretKey} {
			if get(key) != "" {
				return fmt.Errorf("no webhook secret is set for %s while others are: set it in argocd-secret", provider)
			}
		}
		return nil
	}
	switch provider {
	case GitHub:
		return VerifyGitHub(hd.Get("X-Hub-Signature-256"), hd.Get("X-Hub-Signature"), body, secret)
	case GitLab:
		return VerifyToken(hd.Get("X-Gitlab-Token"), secret)
	case Bitbucket:
		return VerifyToken(hd.Get("X-Hook-UUID"), secret)
	case Gitea:
		return VerifyHMAC(hd.Get("X-Gitea-Signature"), body, secret, false)
	}
	return VerifyHMAC(hd.Get("X-Gogs-Signature"), body, secret, false)
}

// maxPayload is the body cap in bytes, from argocd-cm.
func (h *Handler) maxPayload() int64 {
	mb := DefaultMaxPayloadMB
	if v, err := strconv.Atoi(strings.TrimSpace(h.opts.Settings.ConfigMap()[MaxPayloadKey])); err == nil && v > 0 && v <= 1<<20 {
		mb = v
	}
	return int64(mb) << 20
}

type queued int

const (
	queueStarted queued = iota
	queueMerged
	queueFull
)

// enqueue starts the refresh of pushes, unless the same event is already
// being refreshed (a redelivery) or too many are.
func (h *Handler) enqueue(pushes []Push) queued {
	keys := make([]string, 0, len(pushes))
	for _, p := range pushes {
		keys = append(keys, NormalizeRepoURL(p.URLs[0])+" "+p.Ref+" "+p.After)
	}
	key := strings.Join(keys, "\n")
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.pending[key]:
		return queueMerged
	case len(h.pending) >= h.opts.MaxPending:
		return queueFull
	}
	h.pending[key] = true
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer func() {
			h.mu.Lock()
			delete(h.pending, key)
			h.mu.Unlock()
		}()
		ctx, cancel := context.WithTimeout(context.Background(), h.opts.RefreshTimeout)
		defer cancel()
		h.refresh(ctx, pushes)
	}()
	return queueStarted
}

// refresh asks every affected Application and GitRepository to reconcile.
func (h *Handler) refresh(ctx context.Context, pushes []Push) {
	log := h.opts.Logger.WithValues("provider", pushes[0].Provider, "repo", NormalizeRepoURL(pushes[0].URLs[0]), "ref", pushes[0].Ref)
	apps, err := h.affectedApps(ctx, pushes)
	if err != nil {
		log.Error(err, "webhook: list Applications")
	}
	repos, err := h.affectedRepos(ctx, pushes)
	if err != nil {
		log.Error(err, "webhook: list GitRepositories")
	}
	appPatch := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"annotations":{"`+argov1.AnnotationKeyRefresh+`":"normal"}}}`))
	repoPatch := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"annotations":{"`+meta.ReconcileRequestAnnotation+`":"`+h.opts.Now().UTC().Format(time.RFC3339Nano)+`"}}}`))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(refreshWriters)
	var failed sync.Map
	for _, objs := range []struct {
		list  []client.Object
		patch client.Patch
	}{{apps, appPatch}, {repos, repoPatch}} {
		for _, obj := range objs.list {
			g.Go(func() error {
				if err := h.opts.Client.Patch(gctx, obj, objs.patch); client.IgnoreNotFound(err) != nil {
					failed.Store(fmt.Sprintf("%T %s/%s", obj, obj.GetNamespace(), obj.GetName()), err.Error())
				}
				return nil
			})
		}
	}
	_ = g.Wait()
	failed.Range(func(k, v any) bool {
		log.Error(errors.New(v.(string)), "webhook: refresh request not written", "object", k)
		return true
	})
	log.Info("webhook push", "applications", len(apps), "gitRepositories", len(repos))
	if log.V(1).Enabled() {
		for _, o := range append(apps, repos...) {
			log.V(1).Info("webhook refresh requested", "kind", fmt.Sprintf("%T", o), "namespace", o.GetNamespace(), "name", o.GetName())
		}
	}
}

// affectedApps lists, from the cache, the served Applications that a push
// affects; one already asked to refresh is left as it is.
func (h *Handler) affectedApps(ctx context.Context, pushes []Push) ([]client.Object, error) {
	var list argov1.ApplicationList
	if err := h.opts.Client.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("list Applications: %w", err)
	}
	var out []client.Object
	for i := range list.Items {
		app := &list.Items[i]
		if !h.served(app.Namespace) {
			continue
		}
		if _, asked := app.Annotations[argov1.AnnotationKeyRefresh]; asked {
			continue
		}
		for j := range pushes {
			if AppAffected(app, &pushes[j], h.opts.Rewrite) {
				out = append(out, &argov1.Application{ObjectMeta: objectMeta(app.Namespace, app.Name)})
				break
			}
		}
	}
	return out, nil
}

// affectedRepos lists, from the cache, the GitRepositories a push affects.
func (h *Handler) affectedRepos(ctx context.Context, pushes []Push) ([]client.Object, error) {
	var list sourcev1.GitRepositoryList
	if err := h.opts.Client.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("list GitRepositories: %w", err)
	}
	var out []client.Object
	for i := range list.Items {
		repo := &list.Items[i]
		for j := range pushes {
			if GitRepositoryAffected(repo, &pushes[j], h.opts.Rewrite) {
				out = append(out, &sourcev1.GitRepository{ObjectMeta: objectMeta(repo.Namespace, repo.Name)})
				break
			}
		}
	}
	return out, nil
}

// served reports whether Applications of namespace ns are Tether's.
func (h *Handler) served(ns string) bool {
	if ns == h.opts.Namespace {
		return true
	}
	for _, glob := range h.opts.AppNamespaces {
		if ok, _ := path.Match(glob, ns); ok {
			return true
		}
	}
	return false
}
