package admin

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Options selects what Export reads.
type Options struct {
	// ArgoNamespace is Argo CD's namespace, where its settings and its
	// cluster and repository Secrets live.
	ArgoNamespace string
}

// helmChartOwner labels a HelmChart made for a HelmRelease: the release
// makes it again, so a backup leaves it out.
const helmChartOwner = "helm.toolkit.fluxcd.io/name"

// Export reads every GitOps object of the cluster: the kinds of exported
// in every namespace, Argo CD's settings and its labelled Secrets in
// opts.ArgoNamespace, and the Secrets and ConfigMaps the Flux objects
// reference. Each is cleaned (Clean) and the result is in restore order.
// The Secrets are exported with their values: a backup is useless
// without them, so the caller keeps it as it keeps the cluster's Secrets.
func Export(ctx context.Context, c client.Client, opts Options) ([]*unstructured.Unstructured, error) {
	if opts.ArgoNamespace == "" {
		opts.ArgoNamespace = "argocd"
	}
	var objs []*unstructured.Unstructured
	refs := map[ref]bool{}
	for _, gk := range exported {
		if gk.Group == "" {
			continue // ConfigMaps and Secrets: only those named below
		}
		items, err := listAll(ctx, c, gk)
		if err != nil {
			return nil, err
		}
		for _, o := range items {
			if gk.Kind == "HelmChart" && o.GetLabels()[helmChartOwner] != "" {
				continue
			}
			if strings.HasSuffix(gk.Group, ".fluxcd.io") {
				for _, r := range referenced(o) {
					refs[r] = true
				}
			}
			objs = append(objs, o)
		}
	}
	for kind, names := range argoSettings {
		for _, name := range names {
			refs[ref{kind: kind, namespace: opts.ArgoNamespace, name: name}] = true
		}
	}
	labelled := &unstructured.UnstructuredList{}
	labelled.SetAPIVersion("v1")
	labelled.SetKind("SecretList")
	if err := c.List(ctx, labelled, client.InNamespace(opts.ArgoNamespace), client.HasLabels{argoSecretType}); err != nil {
		return nil, fmt.Errorf("list Secrets labelled %s in %s: %w", argoSecretType, opts.ArgoNamespace, err)
	}
	for i := range labelled.Items {
		objs = append(objs, &labelled.Items[i])
		delete(refs, ref{kind: "Secret", namespace: opts.ArgoNamespace, name: labelled.Items[i].GetName()})
	}
	for r := range refs {
		o := &unstructured.Unstructured{}
		o.SetAPIVersion("v1")
		o.SetKind(r.kind)
		err := c.Get(ctx, client.ObjectKey{Namespace: r.namespace, Name: r.name}, o)
		if apierrors.IsNotFound(err) {
			continue // an optional reference, or a setting never written
		}
		if err != nil {
			return nil, fmt.Errorf("get %s %s/%s: %w", r.kind, r.namespace, r.name, err)
		}
		objs = append(objs, o)
	}
	for _, o := range objs {
		Clean(o)
	}
	sortForRestore(objs, self)
	return objs, nil
}

// listAll lists gk in every namespace in the cluster's preferred version;
// nothing when the cluster does not serve gk.
func listAll(ctx context.Context, c client.Client, gk schema.GroupKind) ([]*unstructured.Unstructured, error) {
	mapping, err := c.RESTMapper().RESTMapping(gk)
	if meta.IsNoMatchError(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find %s: %w", gk, err)
	}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(mapping.GroupVersionKind.GroupVersion().WithKind(gk.Kind + "List"))
	if err := c.List(ctx, list); err != nil {
		return nil, fmt.Errorf("list %s: %w", gk, err)
	}
	out := make([]*unstructured.Unstructured, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

// ref names a ConfigMap or Secret.
type ref struct{ kind, namespace, name string }

// referenced returns the Secrets and ConfigMaps of its own namespace that
// a Flux object names.
func referenced(o *unstructured.Unstructured) []ref {
	var out []ref
	for _, f := range fluxRefs {
		if name, _, _ := unstructured.NestedString(o.Object, f.path...); name != "" {
			out = append(out, ref{kind: f.kind, namespace: o.GetNamespace(), name: name})
		}
	}
	for _, path := range fluxListRefs {
		list, _, _ := unstructured.NestedSlice(o.Object, path...)
		for _, entry := range list {
			m, _ := entry.(map[string]any)
			kind, _ := m["kind"].(string)
			name, _ := m["name"].(string)
			if (kind == "Secret" || kind == "ConfigMap") && name != "" {
				out = append(out, ref{kind: kind, namespace: o.GetNamespace(), name: name})
			}
		}
	}
	return out
}

// serverFields are the metadata fields the API server sets: a restore
// must not carry them into another cluster (an owner reference's UID,
// for one, names nothing there and would have the object collected).
var serverFields = []string{"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
	"selfLink", "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences"}

// transientAnnotations are requests and copies that must not be restored:
// kubectl's last-applied configuration (a Secret's values in clear) and a
// pending refresh.
var transientAnnotations = []string{"kubectl.kubernetes.io/last-applied-configuration", "argocd.argoproj.io/refresh"}

// Clean strips from o what describes one cluster's copy rather than the
// object: status, an Application's running operation, server-set metadata
// and transient annotations.
func Clean(o *unstructured.Unstructured) {
	delete(o.Object, "status")
	if o.GroupVersionKind().GroupKind() == (schema.GroupKind{Group: "argoproj.io", Kind: "Application"}) {
		delete(o.Object, "operation")
	}
	if md, ok := o.Object["metadata"].(map[string]any); ok {
		for _, f := range serverFields {
			delete(md, f)
		}
	}
	if a := o.GetAnnotations(); a != nil {
		for _, k := range transientAnnotations {
			delete(a, k)
		}
		if len(a) == 0 {
			a = nil
		}
		o.SetAnnotations(a)
	}
}

// sortForRestore orders items as a restore applies them: by the kind of
// their object (rank), then namespace and name.
func sortForRestore[T any](items []T, obj func(T) *unstructured.Unstructured) {
	slices.SortStableFunc(items, func(x, y T) int {
		a, b := obj(x), obj(y)
		return cmp.Or(
			cmp.Compare(rank(a.GroupVersionKind().GroupKind()), rank(b.GroupVersionKind().GroupKind())),
			cmp.Compare(a.GetNamespace(), b.GetNamespace()),
			cmp.Compare(a.GetName(), b.GetName()))
	})
}

// self is the object itself, for sortForRestore.
func self(o *unstructured.Unstructured) *unstructured.Unstructured { return o }
