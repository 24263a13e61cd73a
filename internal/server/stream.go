package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	enginesync "github.com/tether-gitops/tether/internal/engine/sync"
	"github.com/tether-gitops/tether/internal/server/rbac"
)

// Stream tuning.
const (
	// streamBuffer is how many events a stream may fall behind by before
	// it is ended (the client reconnects and gets a fresh snapshot, which
	// is better than a silent gap).
	streamBuffer = 1024
	// keepAlive is how often an idle stream writes a comment line, so
	// proxies keep it open.
	keepAlive = 30 * time.Second
)

// Event types of the application stream, as Kubernetes watches name them.
const (
	eventAdded    = "ADDED"
	eventModified = "MODIFIED"
	eventDeleted  = "DELETED"
)

// appEvent is one change of an Application.
type appEvent struct {
	Type        string              `json:"type"`
	Application *argov1.Application `json:"application"`
}

// appWatch fans the manager cache's Application changes out to streams.
type appWatch struct {
	served func(namespace string) bool

	mu   sync.Mutex
	subs map[chan appEvent]struct{}
}

func newAppWatch(served func(string) bool) *appWatch {
	return &appWatch{served: served, subs: map[chan appEvent]struct{}{}}
}

// start registers with the cache's Application informer.
func (w *appWatch) start(ctx context.Context, c cache.Cache) error {
	inf, err := c.GetInformer(ctx, &argov1.Application{})
	if err != nil {
		return fmt.Errorf("api server: watch Applications: %w", err)
	}
	_, err = inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { w.publish(eventAdded, o) },
		UpdateFunc: func(_, o any) { w.publish(eventModified, o) },
		DeleteFunc: func(o any) {
			if d, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
				o = d.Obj
			}
			w.publish(eventDeleted, o)
		},
	})
	return err
}

func (w *appWatch) publish(typ string, o any) {
	app, ok := o.(*argov1.Application)
	if !ok || !w.served(app.Namespace) {
		return
	}
	e := appEvent{Type: typ, Application: app}
	w.mu.Lock()
	defer w.mu.Unlock()
	for ch := range w.subs {
		select {
		case ch <- e:
		default: // too slow: end its stream
			delete(w.subs, ch)
			close(ch)
		}
	}
}

// subscribe returns a channel of changes and a function that ends it.
func (w *appWatch) subscribe() (<-chan appEvent, func()) {
	ch := make(chan appEvent, streamBuffer)
	w.mu.Lock()
	w.subs[ch] = struct{}{}
	w.mu.Unlock()
	return ch, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if _, ok := w.subs[ch]; ok {
			delete(w.subs, ch)
			close(ch)
		}
	}
}

// sse writes server-sent events.
type sse struct {
	w       http.ResponseWriter
	flusher http.Flusher
}

func newSSE(w http.ResponseWriter) (*sse, bool) {
	f, ok := w.(http.Flusher)
	if !ok {
		return nil, false
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	f.Flush()
	return &sse{w: w, flusher: f}, true
}

// send writes one event, {"result": v}, as Argo CD's gateway does.
func (s *sse) send(v any) error {
	data, err := json.Marshal(map[string]any{"result": v})
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(s.w, "data: %s\n\n", data); err != nil {
		return err
	}
	s.flusher.Flush()
	return nil
}

func (s *sse) ping() error {
	if _, err := fmt.Fprint(s.w, ": keep-alive\n\n"); err != nil {
		return err
	}
	s.flusher.Flush()
	return nil
}

// streamApplications is GET /api/v1/stream/applications: server-sent
// events of the caller's visible Applications that match the query
// (parameters as the list's). Without resourceVersion, every matching app
// is sent first as ADDED; then each change as it happens.
func (s *Server) streamApplications(w http.ResponseWriter, r *http.Request) {
	query, err := parseAppQuery(r)
	if err != nil {
		writeError(w, codeInvalidArgument, err.Error())
		return
	}
	ctx := r.Context()
	policy, err := s.rbacPolicy(ctx)
	if err != nil {
		s.internalError(w, err, "rbac policy")
		return
	}
	events, stop := s.apps.subscribe()
	defer stop()
	var snapshot argov1.ApplicationList
	if r.URL.Query().Get("resourceVersion") == "" {
		if err := s.deps.Client.List(ctx, &snapshot); err != nil {
			s.internalError(w, err, "list Applications")
			return
		}
	}
	out, ok := newSSE(w)
	if !ok {
		writeError(w, codeInternal, "streaming not supported")
		return
	}
	sub := subject(caller(ctx))
	visible := func(app *argov1.Application) bool {
		return s.served(app.Namespace) && query.matches(app) && policy.Allow(sub, resApplications, actGet, s.appObject(app))
	}
	sort.Slice(snapshot.Items, func(i, j int) bool { return appKey(&snapshot.Items[i]) < appKey(&snapshot.Items[j]) })
	for i := range snapshot.Items {
		if app := &snapshot.Items[i]; visible(app) {
			appForAPI(app)
			if out.send(appEvent{Type: eventAdded, Application: app}) != nil {
				return
			}
		}
	}
	pump(ctx, out, events, func(e appEvent) (any, bool) {
		if p, err := s.rbacPolicy(ctx); err == nil {
			policy = p // rights follow policy changes while streaming
		}
		if !visible(e.Application) {
			return nil, false
		}
		app := e.Application.DeepCopy()
		appForAPI(app)
		return appEvent{Type: e.Type, Application: app}, true
	})
}

// pump sends events through out, as send turns them into messages (false:
// skip), until ctx ends, events closes or the client goes away; an idle
// stream pings every keepAlive.
func pump[E any](ctx context.Context, out *sse, events <-chan E, send func(E) (any, bool)) {
	ticker := time.NewTicker(keepAlive)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			if out.ping() != nil {
				return
			}
		case e, open := <-events:
			if !open {
				return
			}
			if msg, ok := send(e); ok && out.send(msg) != nil {
				return
			}
		}
	}
}

// progressEvent is a sync engine event as the progress stream sends it.
type progressEvent struct {
	Time    time.Time         `json:"time"`
	App     string            `json:"app"`
	Object  *enginesync.Ref   `json:"object,omitempty"`
	Phase   enginesync.Phase  `json:"phase,omitempty"`
	Wave    int               `json:"wave"`
	Action  enginesync.Action `json:"action"`
	Result  enginesync.Result `json:"result"`
	Message string            `json:"message,omitempty"`
}

// streamProgress is GET /api/v1/stream/progress (Tether's own): the sync
// engine's progress events (object applied, hook running, wave waiting)
// of every app the caller may read, or of one app with
// app=<Kind>/<namespace>/<name>, as server-sent events.
func (s *Server) streamProgress(w http.ResponseWriter, r *http.Request) {
	if s.deps.Progress == nil {
		writeError(w, codeUnavailable, "this server runs no controllers: no progress to stream")
		return
	}
	ctx := r.Context()
	events, stop := s.deps.Progress.Subscribe(r.URL.Query().Get("app"), streamBuffer)
	defer stop()
	out, ok := newSSE(w)
	if !ok {
		writeError(w, codeInternal, "streaming not supported")
		return
	}
	sub := subject(caller(ctx))
	pump(ctx, out, events, func(e enginesync.Event) (any, bool) {
		policy, err := s.rbacPolicy(ctx)
		if err != nil || !s.mayReadApp(ctx, policy, sub, e.App) {
			return nil, false
		}
		return progressEvent{Time: e.Time, App: e.App, Object: e.Object, Phase: e.Phase, Wave: e.Wave,
			Action: e.Action, Result: e.Result, Message: e.Message}, true
	})
}

// mayReadApp checks get on an app named as progress events name it:
// "<Kind>/<namespace>/<name>". Flux objects are checked with their
// namespace as the project.
func (s *Server) mayReadApp(ctx context.Context, policy *rbac.Policy, sub rbac.Subject, app string) bool {
	kind, rest, _ := strings.Cut(app, "/")
	ns, name, _ := strings.Cut(rest, "/")
	switch kind {
	case "Application":
		var a argov1.Application
		if err := s.deps.Client.Get(ctx, keyOf(ns, name), &a); err != nil || !s.served(ns) {
			return false
		}
		return policy.Allow(sub, resApplications, actGet, s.appObject(&a))
	case "Kustomization":
		return policy.Allow(sub, "kustomizations", actGet, ns+"/"+name)
	case "HelmRelease":
		return policy.Allow(sub, "helmreleases", actGet, ns+"/"+name)
	}
	return false
}
