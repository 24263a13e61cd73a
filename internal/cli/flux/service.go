// Package flux implements the CLI's Flux habits: `get`, `reconcile`,
// `suspend`, `resume`, `tree`, `events` and `logs`, with flux's flags and
// columns.
package flux

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/internal/cli/apiclient"
	"github.com/tether-gitops/tether/internal/cli/connect"
)

// kind is a Flux kind the CLI knows: its names on the command line, its
// kind and version, and its segment in the API's /api/v1/flux paths.
type kind struct {
	names   []string
	gvk     schema.GroupVersionKind
	segment string
	// source is true for source kinds.
	source bool
}

var (
	gitRepository  = kind{[]string{"git", "gitrepository", "gitrepositories"}, schema.GroupVersionKind{Group: "source.toolkit.fluxcd.io", Version: "v1", Kind: "GitRepository"}, "gitrepositories", true}
	helmRepository = kind{[]string{"helm", "helmrepository", "helmrepositories"}, schema.GroupVersionKind{Group: "source.toolkit.fluxcd.io", Version: "v1", Kind: "HelmRepository"}, "helmrepositories", true}
	ociRepository  = kind{[]string{"oci", "ocirepository", "ocirepositories"}, schema.GroupVersionKind{Group: "source.toolkit.fluxcd.io", Version: "v1", Kind: "OCIRepository"}, "ocirepositories", true}
	bucket         = kind{[]string{"bucket", "buckets"}, schema.GroupVersionKind{Group: "source.toolkit.fluxcd.io", Version: "v1", Kind: "Bucket"}, "buckets", true}
	helmChart      = kind{[]string{"chart", "helmchart", "helmcharts"}, schema.GroupVersionKind{Group: "source.toolkit.fluxcd.io", Version: "v1", Kind: "HelmChart"}, "helmcharts", true}
	kustomization  = kind{[]string{"ks", "kustomization", "kustomizations"}, schema.GroupVersionKind{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Kind: "Kustomization"}, "kustomizations", false}
	helmRelease    = kind{[]string{"hr", "helmrelease", "helmreleases"}, schema.GroupVersionKind{Group: "helm.toolkit.fluxcd.io", Version: "v2", Kind: "HelmRelease"}, "helmreleases", false}

	sourceKinds = []kind{gitRepository, helmRepository, ociRepository, bucket, helmChart}
	allKinds    = []kind{gitRepository, helmRepository, ociRepository, bucket, helmChart, kustomization, helmRelease}
)

// kindByKind finds a kind by its Kubernetes kind name.
func kindByKind(k string) (kind, bool) {
	for _, x := range allKinds {
		if strings.EqualFold(x.gvk.Kind, k) {
			return x, true
		}
	}
	return kind{}, false
}

// fluxAPI is what the Flux commands need, through the API server or
// straight from the cluster.
type fluxAPI interface {
	// List lists k in namespace ("" for all).
	List(ctx context.Context, k kind, namespace string) ([]unstructured.Unstructured, error)
	Get(ctx context.Context, k kind, namespace, name string) (*unstructured.Unstructured, error)
	// Act asks for "reconcile", "suspend" or "resume" and returns the
	// object as written.
	Act(ctx context.Context, k kind, namespace, name, action string) (*unstructured.Unstructured, error)
	Events(ctx context.Context, k kind, namespace, name string) ([]corev1.Event, error)
}

func newFluxAPI(conn *connect.Options) (fluxAPI, error) {
	if conn.UseCore() {
		c, err := conn.Kube()
		if err != nil {
			return nil, err
		}
		return &coreFlux{c: c}, nil
	}
	c, err := conn.API()
	if err != nil {
		return nil, err
	}
	return &serverFlux{c: c}, nil
}

type serverFlux struct{ c *apiclient.Client }

func objectPath(k kind, ns, name string) string {
	return "/api/v1/flux/" + k.segment + "/" + apiclient.Escape(ns) + "/" + apiclient.Escape(name)
}

func (s *serverFlux) List(ctx context.Context, k kind, ns string) ([]unstructured.Unstructured, error) {
	path := "/api/v1/flux/" + k.segment
	if ns != "" {
		path += "?namespace=" + url.QueryEscape(ns)
	}
	var list unstructured.UnstructuredList
	var raw struct {
		Items []map[string]any `json:"items"`
	}
	if err := s.c.Do(ctx, http.MethodGet, path, nil, &raw); err != nil {
		return nil, err
	}
	for _, it := range raw.Items {
		list.Items = append(list.Items, unstructured.Unstructured{Object: it})
	}
	return list.Items, nil
}

func (s *serverFlux) Get(ctx context.Context, k kind, ns, name string) (*unstructured.Unstructured, error) {
	var obj map[string]any
	if err := s.c.Do(ctx, http.MethodGet, objectPath(k, ns, name), nil, &obj); err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: obj}, nil
}

func (s *serverFlux) Act(ctx context.Context, k kind, ns, name, action string) (*unstructured.Unstructured, error) {
	var obj map[string]any
	if err := s.c.Do(ctx, http.MethodPost, objectPath(k, ns, name)+"/"+action, nil, &obj); err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: obj}, nil
}

func (s *serverFlux) Events(ctx context.Context, k kind, ns, name string) ([]corev1.Event, error) {
	var list corev1.EventList
	return list.Items, s.c.Do(ctx, http.MethodGet, objectPath(k, ns, name)+"/events", nil, &list)
}

// coreFlux reads and writes the objects with the user's own rights.
type coreFlux struct{ c client.Client }

func (k *coreFlux) List(ctx context.Context, kd kind, ns string) ([]unstructured.Unstructured, error) {
	var list unstructured.UnstructuredList
	list.SetGroupVersionKind(kd.gvk.GroupVersion().WithKind(kd.gvk.Kind + "List"))
	if err := k.c.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	sort.Slice(list.Items, func(i, j int) bool {
		a, b := list.Items[i], list.Items[j]
		return a.GetNamespace()+"/"+a.GetName() < b.GetNamespace()+"/"+b.GetName()
	})
	return list.Items, nil
}

func (k *coreFlux) Get(ctx context.Context, kd kind, ns, name string) (*unstructured.Unstructured, error) {
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(kd.gvk)
	return obj, k.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj)
}

// requestedAtAnnotation asks a Flux controller to reconcile now.
const requestedAtAnnotation = "reconcile.fluxcd.io/requestedAt"

func (k *coreFlux) Act(ctx context.Context, kd kind, ns, name, action string) (*unstructured.Unstructured, error) {
	now := time.Now().Format(time.RFC3339Nano)
	var patch string
	switch action {
	case "reconcile":
		patch = fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, requestedAtAnnotation, now)
	case "suspend":
		patch = `{"spec":{"suspend":true}}`
	case "resume":
		patch = fmt.Sprintf(`{"spec":{"suspend":false},"metadata":{"annotations":{%q:%q}}}`, requestedAtAnnotation, now)
	default:
		return nil, fmt.Errorf("unknown action %s", action)
	}
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(kd.gvk)
	obj.SetNamespace(ns)
	obj.SetName(name)
	return obj, k.c.Patch(ctx, obj, client.RawPatch("application/merge-patch+json", []byte(patch)))
}

func (k *coreFlux) Events(ctx context.Context, kd kind, ns, name string) ([]corev1.Event, error) {
	obj, err := k.Get(ctx, kd, ns, name)
	if err != nil {
		return nil, err
	}
	var list corev1.EventList
	if err := k.c.List(ctx, &list, client.InNamespace(ns), client.MatchingFields{"involvedObject.uid": string(obj.GetUID())}); err != nil {
		return nil, err
	}
	out := list.Items
	sort.SliceStable(out, func(i, j int) bool { return eventTime(out[i]).Before(eventTime(out[j])) })
	return out, nil
}

// eventTime is when an event last happened.
func eventTime(e corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}
