// Package server is Tether's API server: Argo CD's REST shapes for
// sessions, Applications, AppProjects and live streams, with Argo CD's
// logins and RBAC, served over HTTPS by `tether run` and `tether server`.
//
// Reads come from the controller manager's cache (Applications and
// AppProjects) and from watched settings (argocd-cm, argocd-rbac-cm,
// argocd-secret); nothing a caller sends reaches the cluster before the
// caller's token and rights are checked.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path"
	"runtime/debug"
	"sync"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	enginesync "github.com/tether-gitops/tether/internal/engine/sync"
	"github.com/tether-gitops/tether/internal/server/rbac"
	"github.com/tether-gitops/tether/internal/server/session"
	"github.com/tether-gitops/tether/internal/server/settings"
	"github.com/tether-gitops/tether/internal/ui"
)

// Config is the server's configuration, from flags.
type Config struct {
	// Addr is the address to listen on (--server-addr).
	Addr string
	// Insecure serves plain HTTP (--server-insecure).
	Insecure bool
	// TLSCertFile and TLSKeyFile are the server's certificate and key; a
	// self-signed certificate is made when both are empty.
	TLSCertFile, TLSKeyFile string
	// Namespace is Argo CD's control-plane namespace: settings live there,
	// and Applications there are named without their namespace.
	Namespace string
	// AppNamespaces are more namespaces (globs) whose Applications are
	// served, as the controller's --application-namespaces.
	AppNamespaces []string
}

// Deps are what the server reads and writes through.
type Deps struct {
	// Client reads Applications and AppProjects from the manager's cache
	// and writes through the API server.
	Client client.Client
	// APIReader reads around the cache, before a write that must not be
	// based on a stale copy.
	APIReader client.Reader
	// Cache is the manager's cache, for watching Applications.
	Cache cache.Cache
	// Kube, when set, makes what a first start needs (the token signing
	// key and the admin password; see settings.Bootstrap) before serving.
	Kube kubernetes.Interface
	// Settings are the watched argocd-cm, argocd-rbac-cm and argocd-secret.
	Settings *settings.Store
	// Sessions logs callers in and verifies their tokens.
	Sessions *session.Manager
	// Progress is the sync engine's event hub; nil: no progress stream.
	Progress *enginesync.Hub
	// Inspector, when set, renders and compares apps for
	// managed-resources, manifests and resource-tree.
	Inspector Inspector
	// Kustomizations, when set, renders and compares Kustomizations for
	// their diff.
	Kustomizations KustomizationInspector
	// HelmReleases, when set, compares HelmReleases' releases with their
	// cluster for their diff.
	HelmReleases HelmReleaseInspector
	// SSO, when set, serves single sign-on under /auth/ (login,
	// callback).
	SSO http.Handler
	// Webhook, when set, serves Git providers' push events at
	// POST /api/webhook (Argo CD's path).
	Webhook http.Handler
	// Receivers, when set, serves Flux Receivers' paths under /hook/.
	Receivers http.Handler
	// SealedSecrets, when set, serves Bitnami's /v1/cert.pem (public),
	// /v1/verify and /v1/rotate (logged in, with the sealedsecrets right).
	SealedSecrets SealedSecrets
	// Logger logs requests that fail on the server's side.
	Logger logr.Logger
}

// Server serves the API. Make one with New; it is a manager Runnable.
type Server struct {
	cfg     Config
	deps    Deps
	handler http.Handler
	apps    *appWatch

	policyMu  sync.Mutex
	policyKey string
	policy    *rbac.Policy

	// sealing holds a token per verify or rotate request decrypting now.
	sealing chan struct{}

	// ready is closed once Start listens; addr is then set.
	ready chan struct{}
	addr  net.Addr
}

// New returns a server; it listens when started.
func New(cfg Config, deps Deps) (*Server, error) {
	if deps.Client == nil || deps.APIReader == nil || deps.Settings == nil || deps.Sessions == nil {
		return nil, errors.New("api server: client, API reader, settings and sessions are required")
	}
	s := &Server{cfg: cfg, deps: deps, ready: make(chan struct{}), sealing: make(chan struct{}, maxSealingAtOnce)}
	s.apps = newAppWatch(s.served)
	s.handler = s.routes()
	return s, nil
}

// Handler is the server's HTTP handler (for tests in process).
func (s *Server) Handler() http.Handler { return s.handler }

// NeedLeaderElection is false: every replica serves the API.
func (s *Server) NeedLeaderElection() bool { return false }

// Addr is the address the server listens on, once it does.
func (s *Server) Addr(ctx context.Context) (net.Addr, error) {
	select {
	case <-s.ready:
		return s.addr, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Start serves until ctx ends.
func (s *Server) Start(ctx context.Context) error {
	if s.deps.Kube != nil {
		go s.bootstrap(ctx)
	}
	if err := s.deps.Settings.Start(ctx); err != nil {
		return fmt.Errorf("api server: %w", err)
	}
	if s.deps.Cache != nil {
		if err := s.apps.start(ctx, s.deps.Cache); err != nil {
			return err
		}
	}
	l, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("api server: %w", err)
	}
	scheme := "https"
	if s.cfg.Insecure {
		scheme = "http"
	} else {
		tc, err := tlsConfig(s.cfg.TLSCertFile, s.cfg.TLSKeyFile)
		if err != nil {
			l.Close()
			return err
		}
		l = tls.NewListener(l, tc)
	}
	s.addr = l.Addr()
	close(s.ready)
	s.deps.Logger.Info("api server listening", "url", scheme+"://"+l.Addr().String())
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("api server: %w", err)
	}
	return nil
}

// bootstrap makes the signing key and the admin password, retrying until
// it can (the control-plane namespace may not exist yet, as in a
// Flux-only cluster): the API serves meanwhile, and the controllers of
// the same process never stop for it.
// While the namespace does not exist it only reads, and ever less
// often (10 s doubling to 5 minutes): an idle Tether on a Flux-only
// cluster writes nothing, not even a create that fails.
func (s *Server) bootstrap(ctx context.Context) {
	wait := 10 * time.Second
	for {
		_, err := s.deps.Kube.CoreV1().Namespaces().Get(ctx, s.cfg.Namespace, metav1.GetOptions{})
		if !apierrors.IsNotFound(err) { // a forbidden read does not stop the attempt
			done, err := settings.Bootstrap(ctx, s.deps.Kube, s.cfg.Namespace)
			if err == nil {
				if done.GeneratedAdminPassword {
					s.deps.Logger.Info("generated the admin password", "secret", s.cfg.Namespace+"/"+settings.InitialAdminSecretName)
				}
				return
			}
			s.deps.Logger.Info("api server: cannot make its settings yet; retrying", "in", wait.String(), "error", err.Error())
		} else {
			s.deps.Logger.Info("api server: waiting for its namespace to make its settings", "namespace", s.cfg.Namespace, "in", wait.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Minute)
	}
}

// routes maps every endpoint.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/version", s.version)
	mux.HandleFunc("GET /api/v1/settings", s.getSettings)
	mux.HandleFunc("POST /api/v1/session", s.login)
	mux.HandleFunc("DELETE /api/v1/session", s.logout)
	mux.HandleFunc("GET /api/v1/session/userinfo", s.userInfo)
	mux.HandleFunc("GET /api/v1/applications", s.authed(s.listApplications))
	mux.HandleFunc("GET /api/v1/applications/{name}", s.authed(s.getApplication))
	mux.HandleFunc("POST /api/v1/applications", s.authed(s.createApplication))
	mux.HandleFunc("PUT /api/v1/applications/{name}", s.authed(s.updateApplication))
	mux.HandleFunc("DELETE /api/v1/applications/{name}", s.authed(s.deleteApplication))
	mux.HandleFunc("POST /api/v1/applications/{name}/sync", s.authed(s.syncApplication))
	mux.HandleFunc("POST /api/v1/applications/{name}/rollback", s.authed(s.rollbackApplication))
	mux.HandleFunc("DELETE /api/v1/applications/{name}/operation", s.authed(s.terminateOperation))
	mux.HandleFunc("GET /api/v1/applications/{name}/managed-resources", s.authed(s.managedResources))
	mux.HandleFunc("GET /api/v1/applications/{name}/manifests", s.authed(s.manifests))
	mux.HandleFunc("GET /api/v1/applications/{name}/resource-tree", s.authed(s.resourceTree))
	mux.HandleFunc("GET /api/v1/applications/{name}/events", s.authed(s.applicationEvents))
	mux.HandleFunc("GET /api/v1/stream/applications", s.authed(s.streamApplications))
	mux.HandleFunc("GET /api/v1/stream/progress", s.authed(s.streamProgress))
	mux.HandleFunc("GET /api/v1/apps", s.authed(s.listApps))
	mux.HandleFunc("GET /api/v1/flux/{kind}", s.authed(s.listFlux))
	mux.HandleFunc("GET /api/v1/flux/{kind}/{namespace}/{name}", s.authed(s.getFlux))
	mux.HandleFunc("GET /api/v1/flux/{kind}/{namespace}/{name}/events", s.authed(s.fluxEvents))
	mux.HandleFunc("GET /api/v1/flux/{kind}/{namespace}/{name}/tree", s.authed(s.fluxTree))
	mux.HandleFunc("GET /api/v1/flux/{kind}/{namespace}/{name}/resource", s.authed(s.fluxResource))
	mux.HandleFunc("GET /api/v1/flux/{kind}/{namespace}/{name}/diff", s.authed(s.fluxDiff))
	mux.HandleFunc("POST /api/v1/flux/{kind}/{namespace}/{name}/{action}", s.authed(s.fluxAction))
	mux.HandleFunc("GET /api/v1/account", s.authed(s.listAccounts))
	mux.HandleFunc("GET /api/v1/account/{name}", s.authed(s.getAccount))
	mux.HandleFunc("POST /api/v1/account/{name}/token", s.authed(s.createAccountToken))
	mux.HandleFunc("DELETE /api/v1/account/{name}/token/{id}", s.authed(s.deleteAccountToken))
	mux.HandleFunc("PUT /api/v1/account/password", s.authed(s.updatePassword))
	mux.HandleFunc("GET /api/v1/account/can-i/{resource}/{action}/{object...}", s.authed(s.canI))
	mux.HandleFunc("GET /api/v1/clusters", s.authed(s.listClusters))
	mux.HandleFunc("GET /api/v1/repositories", s.authed(s.listRepositories))
	mux.HandleFunc("GET /api/v1/applicationsets", s.authed(s.listApplicationSets))
	mux.HandleFunc("GET /api/v1/applicationsets/{name}", s.authed(s.getApplicationSet))
	mux.HandleFunc("DELETE /api/v1/applicationsets/{name}", s.authed(s.deleteApplicationSet))
	mux.HandleFunc("GET /api/v1/projects", s.authed(s.listProjects))
	mux.HandleFunc("GET /api/v1/projects/{name}", s.authed(s.getProject))
	mux.HandleFunc("POST /api/v1/projects/{project}/roles/{role}/token", s.authed(s.createProjectToken))
	if s.deps.SSO != nil {
		mux.Handle("/auth/", s.deps.SSO)
	}
	if s.deps.Webhook != nil {
		mux.Handle("POST /api/webhook", s.deps.Webhook)
	}
	if s.deps.Receivers != nil {
		mux.Handle("/hook/", s.deps.Receivers)
	}
	s.sealedSecretRoutes(mux)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, codeNotFound, "Not Found")
	})
	mux.Handle("/", ui.Handler())
	return s.recoverer(mux)
}

// recoverer answers 500 instead of dropping the connection when a handler
// panics, and logs the stack.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.deps.Logger.Error(fmt.Errorf("%v", v), "api handler panicked", "path", r.URL.Path, "stack", string(debug.Stack()))
				writeError(w, codeInternal, "internal error")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// served reports whether Applications in namespace ns are served.
func (s *Server) served(ns string) bool {
	if ns == s.cfg.Namespace {
		return true
	}
	for _, glob := range s.cfg.AppNamespaces {
		if ok, _ := path.Match(glob, ns); ok {
			return true
		}
	}
	return false
}

// rbacPolicy returns the policy for the current settings and projects,
// built again only when one of them changed.
func (s *Server) rbacPolicy(ctx context.Context) (*rbac.Policy, error) {
	var projects argov1.AppProjectList
	if err := s.deps.Client.List(ctx, &projects, client.InNamespace(s.cfg.Namespace)); err != nil {
		return nil, fmt.Errorf("list AppProjects: %w", err)
	}
	key := fmt.Sprint(s.deps.Settings.Version())
	for _, p := range projects.Items {
		key += "," + p.Name + "@" + p.ResourceVersion
	}
	s.policyMu.Lock()
	defer s.policyMu.Unlock()
	if s.policy != nil && s.policyKey == key {
		return s.policy, nil
	}
	policy, err := rbac.Build(rbac.Inputs{RBAC: s.deps.Settings.RBAC(), Projects: projects.Items})
	if err != nil {
		return nil, err
	}
	for _, p := range policy.Problems {
		s.deps.Logger.Info("rbac policy line ignored", "problem", p)
	}
	s.policy, s.policyKey = policy, key
	return policy, nil
}

func (s *Server) version(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"Version": buildVersion()})
}
