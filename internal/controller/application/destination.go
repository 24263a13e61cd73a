package application

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	labelselection "k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/cluster"
	"github.com/tether-gitops/tether/internal/secretset"
)

// destination is the cluster an app deploys to: the one Tether runs in,
// or one registered by an Argo CD cluster Secret.
type destination struct {
	name    string           // in-cluster, or the registered name
	server  string           // its API server URL
	reader  client.Reader    // reads around any cache
	client  client.Client    // writes
	cluster *cluster.Cluster // nil for the local cluster
	clients *cluster.Clients // the cache that made client
	// as is the user that client's writes impersonate (sync
	// impersonation, impersonation.go), "(refused)" when they are all
	// refused; "" for Tether's own rights.
	as string
}

// clusterCheckTimeout bounds the connection check of a registered cluster.
const clusterCheckTimeout = 10 * time.Second

// local reports whether the destination is the cluster Tether runs in.
func (d *destination) local() bool { return d.cluster == nil }

// identity names the credentials dest's writes act with: the cluster
// ("local" or its Secret's ID) and any impersonated user. Memories of dry
// runs (the live cache's) and of comparisons hold for one identity only.
func (d *destination) identity() string {
	id := "local"
	if !d.local() {
		id = d.cluster.ID
	}
	if d.as != "" {
		id += "|as:" + d.as
	}
	return id
}

// writeAs makes dest write as user through writer, reading as before; or,
// when refused is set, refuse every write (dry runs included) with it.
func (d *destination) writeAs(user string, writer client.Client, refused error) {
	d.client = &splitClient{Client: d.client, writer: writer, refused: refused}
	d.as = user
	if refused != nil {
		d.as = "(refused)"
	}
}

// destination resolves the app's spec.destination. An unknown cluster is an
// error naming it (an InvalidSpecError); credentials never appear in it.
func (r *Reconciler) destination(ctx context.Context, app *argov1.Application) (*destination, error) {
	d := app.Spec.Destination
	if d.Server == argov1.KubernetesInternalAPIServerAddr || d.Name == argov1.InClusterName {
		return &destination{name: argov1.InClusterName, server: argov1.KubernetesInternalAPIServerAddr, reader: r.APIReader, client: r.Client}, nil
	}
	cl, err := r.registry.Lookup(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("spec.destination: %w", err)
	}
	if len(cl.Namespaces) > 0 && !slices.Contains(cl.Namespaces, d.Namespace) {
		return nil, fmt.Errorf("spec.destination: namespace %s is not managed on cluster %s (its Secret lists %v)", d.Namespace, cl.Name, cl.Namespaces)
	}
	c, err := r.clusters.For(cl.ID, cl.Config, r.Client.Scheme())
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", cl.Name, err)
	}
	return &destination{name: cl.Name, server: cl.Server, reader: c, client: c, cluster: cl, clients: &r.clusters}, nil
}

// resolvedDestination is spec.destination with both name and server
// filled in from the registry, as Argo CD checks it against projects.
func (d *destination) resolve(dest argov1.ApplicationDestination) argov1.ApplicationDestination {
	dest.Name, dest.Server = d.name, d.server
	return dest
}

// deleteAndWait deletes obj if it exists and waits until it is gone.
func (d *destination) deleteAndWait(ctx context.Context, obj *unstructured.Unstructured) error {
	live, err := d.getLive(ctx, obj)
	if err != nil || live == nil {
		return err
	}
	if err := d.client.Delete(ctx, live, client.PropagationPolicy(metav1.DeletePropagationForeground)); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return wait.PollUntilContextCancel(ctx, pollInterval, true, func(ctx context.Context) (bool, error) {
		l, err := d.getLive(ctx, obj)
		return l == nil, err
	})
}

// getLive reads obj from the API server; nil when it does not exist.
func (d *destination) getLive(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	return readLive(ctx, d.reader, obj)
}

// readLive reads obj through r; nil when it does not exist.
func readLive(ctx context.Context, r client.Reader, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(obj.GroupVersionKind())
	err := r.Get(ctx, client.ObjectKeyFromObject(obj), live)
	switch {
	case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", subjectOf(obj), err)
	}
	return live, nil
}

// defaultNamespace puts a namespaced object without a namespace into ns.
func (d *destination) defaultNamespace(obj *unstructured.Unstructured, ns string) error {
	gvk := obj.GroupVersionKind()
	m, err := d.client.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return err
	}
	if m.Scope.Name() != meta.RESTScopeNameNamespace {
		obj.SetNamespace("")
		return nil
	}
	if obj.GetNamespace() == "" {
		if ns == "" {
			return fmt.Errorf("namespaced object without metadata.namespace, and the app has no destination namespace")
		}
		obj.SetNamespace(ns)
	}
	return nil
}

// watchSecrets watches Argo CD's cluster, repository and repo-creds
// Secrets, metadata only and limited to the control-plane namespace and
// those labels (no Secret data is held in memory), so that they are
// listed with their data only when one changes, and wakes the apps on
// registered clusters when a cluster Secret is added, changed or removed,
// so the change is used at once.
func (r *Reconciler) watchSecrets(mgr ctrl.Manager, c controller.Controller) error {
	types := []string{argov1.SecretTypeCluster, argov1.SecretTypeRepository, argov1.SecretTypeRepoCreds}
	req, err := labels.NewRequirement(argov1.LabelKeySecretType, labelselection.In, types)
	if err != nil {
		return err
	}
	// The namespace is a field selector rather than DefaultNamespaces:
	// a cache limited to namespaces hides its informer's resource
	// version, which secretset reads to know that nothing changed.
	sc, err := cache.New(mgr.GetConfig(), cache.Options{Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper(),
		DefaultFieldSelector: fields.OneTermEqualSelector("metadata.namespace", r.ControlPlaneNamespace),
		DefaultLabelSelector: labels.NewSelector().Add(*req)})
	if err != nil {
		return fmt.Errorf("argo cd secret cache: %w", err)
	}
	if err := mgr.Add(sc); err != nil {
		return err
	}
	set := func(typ string) *secretset.Set {
		return &secretset.Set{Reader: r.APIReader, Index: sc, Namespace: r.ControlPlaneNamespace,
			Labels: client.MatchingLabels{argov1.LabelKeySecretType: typ}}
	}
	r.registry = &cluster.Registry{Secrets: set(argov1.SecretTypeCluster), Options: r.Clusters}
	r.repoSecrets, r.repoCreds = set(argov1.SecretTypeRepository), set(argov1.SecretTypeRepoCreds)
	secret := &metav1.PartialObjectMetadata{}
	secret.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	return c.Watch(source.Kind[client.Object](sc, secret, handler.EnqueueRequestsFromMapFunc(r.remoteApps)))
}

// remoteApps are the apps whose destination is not the local cluster, when
// obj is a cluster Secret.
func (r *Reconciler) remoteApps(ctx context.Context, obj client.Object) []reconcile.Request {
	if obj.GetLabels()[argov1.LabelKeySecretType] != argov1.SecretTypeCluster {
		return nil
	}
	r.forgetClusters(ctx)
	var apps argov1.ApplicationList
	if err := r.Client.List(ctx, &apps); err != nil {
		return nil
	}
	var out []reconcile.Request
	for _, a := range apps.Items {
		d := a.Spec.Destination
		if d.Server != argov1.KubernetesInternalAPIServerAddr && d.Name != argov1.InClusterName {
			out = append(out, reconcile.Request{NamespacedName: keyOf(&a)})
		}
	}
	return out
}

// check asks a registered cluster for its version, so that a bad
// credential or an unreachable server is reported as such, naming the
// cluster (never the credential), before anything else is tried.
func (d *destination) check(ctx context.Context) error {
	if d.local() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, clusterCheckTimeout)
	defer cancel()
	err := d.clients.Version(ctx, d.cluster.ID, d.cluster.Config, d.client.Scheme())
	switch {
	case err == nil:
		return nil
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("cluster %s (%s): authentication failed (401 Unauthorized): check the credentials in its Secret %s", d.name, d.server, d.cluster.Secret)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("cluster %s (%s): access denied (403 Forbidden) to the credentials in its Secret %s", d.name, d.server, d.cluster.Secret)
	}
	return fmt.Errorf("cluster %s (%s): unreachable: %v", d.name, d.server, err)
}
