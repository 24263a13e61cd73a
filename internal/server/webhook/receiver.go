package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-logr/logr"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/api/meta"
	notificationv1 "github.com/tether-gitops/tether/api/notification/v1"
	"github.com/tether-gitops/tether/internal/controller/receiver"
)

// DefaultReceiverMaxPayload caps a Receiver request's body: GitHub's own
// limit on webhook payloads (25 MB).
const DefaultReceiverMaxPayload = 25 << 20

// receiverTimeout bounds the reads and writes of one Receiver request.
const receiverTimeout = 30 * time.Second

// ReceiverOptions configure a ReceiverHandler.
type ReceiverOptions struct {
	// Client finds Receivers by path through the cache index
	// receiver.WebhookPathField and patches the objects they name
	// (as unstructured objects, through its REST mapper).
	Client client.Client
	// APIReader reads the Receivers' token Secrets (not cached).
	APIReader client.Reader
	// Logger logs each request's outcome (never a token or a body).
	Logger logr.Logger
	// MaxPayload caps a body in bytes; DefaultReceiverMaxPayload if 0.
	MaxPayload int64
	// Readers bounds the bodies read at once; DefaultReaders if 0.
	Readers int
	// Now stamps reconcile.fluxcd.io/requestedAt; time.Now if nil.
	Now func() time.Time
}

// ReceiverHandler serves Flux Receivers' paths (/hook/<sha256>).
type ReceiverHandler struct {
	opts    ReceiverOptions
	readers *readers
}

// NewReceiverHandler returns a Receiver handler.
func NewReceiverHandler(opts ReceiverOptions) (*ReceiverHandler, error) {
	if opts.Client == nil || opts.APIReader == nil {
		return nil, errors.New("receiver handler: client and API reader are required")
	}
	if opts.MaxPayload <= 0 {
		opts.MaxPayload = DefaultReceiverMaxPayload
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &ReceiverHandler{opts: opts, readers: newReaders(opts.Readers)}, nil
}

// ServeHTTP answers as Flux's notification-controller does: 404 for a
// path no Receiver has, 503 for a suspended or not-ready Receiver, 400
// for a request that fails the type's verification, 200 once every
// named object was asked to reconcile.
func (h *ReceiverHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !isWebhookPath(r.URL.Path) {
		http.NotFound(w, r)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), receiverTimeout)
	defer cancel()
	recv, token, status, err := h.find(ctx, r.URL.Path)
	if err != nil {
		h.opts.Logger.Info("receiver request refused", "path", r.URL.Path, "reason", err.Error())
		http.Error(w, err.Error(), status)
		return
	}
	log := h.opts.Logger.WithValues("receiver", recv.Namespace+"/"+recv.Name, "type", recv.Spec.Type)
	release, ok := h.readers.acquire(ctx)
	if !ok {
		busy(w)
		return
	}
	defer release()
	body, err := readBody(w, r, h.opts.MaxPayload)
	if err != nil {
		bodyError(w, err)
		return
	}
	act, err := VerifyReceiver(recv, token, r.Header, body)
	if err != nil {
		log.Info("receiver request refused", "reason", err.Error())
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if !act {
		_, _ = w.Write([]byte("ok\n"))
		return
	}
	n, err := h.requestReconcile(ctx, recv)
	if err != nil {
		log.Error(err, "receiver: reconcile requests not all written", "written", n)
		http.Error(w, "not every resource could be asked to reconcile; see the server's log", http.StatusInternalServerError)
		return
	}
	log.Info("receiver handled", "resources", n)
	_, _ = w.Write([]byte("ok\n"))
}

// find returns the ready Receiver whose path is p, with its token.
func (h *ReceiverHandler) find(ctx context.Context, p string) (*notificationv1.Receiver, string, int, error) {
	var list notificationv1.ReceiverList
	if err := h.opts.Client.List(ctx, &list, client.MatchingFields{receiver.WebhookPathField: p}); err != nil {
		return nil, "", http.StatusInternalServerError, fmt.Errorf("list receivers: %w", err)
	}
	if len(list.Items) == 0 {
		return nil, "", http.StatusNotFound, errors.New("no receiver has this path")
	}
	recv := &list.Items[0]
	ready := apimeta.FindStatusCondition(recv.Status.Conditions, meta.ReadyCondition)
	switch {
	case recv.Spec.Suspend:
		return nil, "", http.StatusServiceUnavailable, errors.New("receiver is suspended")
	case ready == nil || ready.Status != "True" || recv.Status.ObservedGeneration != recv.Generation:
		return nil, "", http.StatusServiceUnavailable, errors.New("receiver is not ready")
	}
	token, err := receiver.Token(ctx, h.opts.APIReader, recv)
	if err != nil {
		return nil, "", http.StatusServiceUnavailable, errors.New("receiver is not ready: its token cannot be read")
	}
	// A rotated token retires the old path at once, before the
	// controller records the new one.
	if recv.GetWebhookPath(token) != p {
		return nil, "", http.StatusNotFound, errors.New("no receiver has this path")
	}
	return recv, token, 0, nil
}

// VerifyReceiver checks a request against recv's type and token; act is
// false for a request to acknowledge without reconciling (a ping).
func VerifyReceiver(recv *notificationv1.Receiver, token string, hd http.Header, body []byte) (act bool, err error) {
	allowed := func(event string) error {
		if len(recv.Spec.Events) == 0 {
			return nil
		}
		for _, e := range recv.Spec.Events {
			if strings.EqualFold(e, event) {
				return nil
			}
		}
		return fmt.Errorf("event %q is not in the receiver's spec.events", event)
	}
	switch recv.Spec.Type {
	case notificationv1.GenericReceiver:
		return true, nil
	case notificationv1.GenericHMACReceiver:
		return true, VerifyHMAC(hd.Get("X-Signature"), body, token, true)
	case notificationv1.GitHubReceiver:
		if err := VerifyGitHub(hd.Get("X-Hub-Signature-256"), hd.Get("X-Hub-Signature"), body, token); err != nil {
			return false, err
		}
		event := hd.Get("X-GitHub-Event")
		if event == "ping" {
			return false, nil
		}
		return true, allowed(event)
	case notificationv1.GitLabReceiver:
		if err := VerifyToken(hd.Get("X-Gitlab-Token"), token); err != nil {
			return false, err
		}
		return true, allowed(hd.Get("X-Gitlab-Event"))
	case notificationv1.BitbucketReceiver:
		if err := VerifyHMAC(hd.Get("X-Hub-Signature"), body, token, true); err != nil {
			return false, err
		}
		event := hd.Get("X-Event-Key")
		if event == "diagnostics:ping" {
			return false, nil
		}
		return true, allowed(event)
	case notificationv1.HarborReceiver:
		return true, VerifyToken(hd.Get("Authorization"), token)
	}
	return false, fmt.Errorf("receiver type %q is not supported", recv.Spec.Type)
}

// requestReconcile annotates every object recv names with
// reconcile.fluxcd.io/requestedAt; it returns how many it annotated.
// Objects in other namespaces are allowed: Tether has no
// --no-cross-namespace-refs.
func (h *ReceiverHandler) requestReconcile(ctx context.Context, recv *notificationv1.Receiver) (int, error) {
	patch := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"annotations":{"`+
		meta.ReconcileRequestAnnotation+`":"`+h.opts.Now().UTC().Format(time.RFC3339Nano)+`"}}}`))
	var errs []error
	n := 0
	for _, res := range recv.Spec.Resources {
		gvk, err := h.kindOf(res.APIVersion, res.Kind)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ns := res.Namespace
		if ns == "" {
			ns = recv.Namespace
		}
		var objs []*unstructured.Unstructured
		if res.Name == "*" {
			list := &unstructured.UnstructuredList{}
			list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
			if err := h.opts.Client.List(ctx, list, client.InNamespace(ns), client.MatchingLabels(res.MatchLabels)); err != nil {
				errs = append(errs, fmt.Errorf("list %s in %s: %w", gvk.Kind, ns, err))
				continue
			}
			for i := range list.Items {
				objs = append(objs, &list.Items[i])
			}
		} else {
			u := &unstructured.Unstructured{}
			u.SetGroupVersionKind(gvk)
			u.SetNamespace(ns)
			u.SetName(res.Name)
			objs = append(objs, u)
		}
		for _, u := range objs {
			if err := h.opts.Client.Patch(ctx, u, patch); err != nil {
				errs = append(errs, fmt.Errorf("annotate %s %s/%s: %w", gvk.Kind, u.GetNamespace(), u.GetName(), err))
				continue
			}
			n++
		}
	}
	return n, errors.Join(errs...)
}

// kindOf resolves a resource reference's kind: apiVersion when given,
// else the kind's Flux group at its preferred version.
func (h *ReceiverHandler) kindOf(apiVersion, kind string) (schema.GroupVersionKind, error) {
	mapper := h.opts.Client.RESTMapper()
	if apiVersion != "" {
		gv, err := schema.ParseGroupVersion(apiVersion)
		if err != nil {
			return schema.GroupVersionKind{}, fmt.Errorf("resource %s: apiVersion %q: %w", kind, apiVersion, err)
		}
		m, err := mapper.RESTMapping(gv.WithKind(kind).GroupKind(), gv.Version)
		if err != nil {
			return schema.GroupVersionKind{}, fmt.Errorf("resource %s %s: %w", apiVersion, kind, err)
		}
		return m.GroupVersionKind, nil
	}
	group := fluxGroup(kind)
	if group == "" {
		return schema.GroupVersionKind{}, fmt.Errorf("resource kind %q: not a Flux kind; set apiVersion", kind)
	}
	m, err := mapper.RESTMapping(schema.GroupKind{Group: group, Kind: kind})
	if err != nil {
		return schema.GroupVersionKind{}, fmt.Errorf("resource %s: %w", kind, err)
	}
	return m.GroupVersionKind, nil
}

// fluxGroup is the API group of a Flux kind a Receiver may name.
func fluxGroup(kind string) string {
	switch kind {
	case "GitRepository", "HelmRepository", "HelmChart", "OCIRepository", "Bucket", "ExternalArtifact":
		return "source.toolkit.fluxcd.io"
	case "Kustomization":
		return "kustomize.toolkit.fluxcd.io"
	case "HelmRelease":
		return "helm.toolkit.fluxcd.io"
	case "ImageRepository", "ImagePolicy", "ImageUpdateAutomation":
		return "image.toolkit.fluxcd.io"
	case "ArtifactGenerator":
		return "source.extensions.fluxcd.io"
	}
	return ""
}

// isWebhookPath reports whether p has the shape of a Receiver's path:
// /hook/ and 64 lower-case hex digits.
func isWebhookPath(p string) bool {
	sum, ok := strings.CutPrefix(p, notificationv1.ReceiverWebhookPath)
	return ok && len(sum) == 64 && strings.Trim(sum, "0123456789abcdef") == ""
}
