// Package settings reads the API server's configuration where Argo CD keeps
// it: the argocd-cm and argocd-rbac-cm ConfigMaps and the argocd-secret
// Secret of the control-plane namespace. Each is watched on its own (a
// field selector on its name), so reading one costs no request and memory
// does not grow with the namespace's other Secrets.
package settings

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Names of the objects Argo CD keeps its settings in, in its namespace.
const (
	// ConfigMapName holds accounts, SSO and general settings.
	ConfigMapName = "argocd-cm"
	// RBACConfigMapName holds policy.csv, policy.default and scopes.
	RBACConfigMapName = "argocd-rbac-cm"
	// SecretName holds password hashes, the token signing key and webhook
	// secrets.
	SecretName = "argocd-secret"
	// InitialAdminSecretName holds the generated admin password in clear,
	// for the first login.
	InitialAdminSecretName = "argocd-initial-admin-secret"
)

// Store holds the latest argocd-cm, argocd-rbac-cm and argocd-secret of
// one namespace. The zero value is not usable; make one with New and run
// Start.
type Store struct {
	namespace string
	cm        *watched
	rbac      *watched
	secret    *watched
	// version counts changes to any of the three; readers that derive
	// something (an RBAC enforcer) key their memo on it.
	version atomic.Uint64
}

// New returns a Store for namespace.
func New(client kubernetes.Interface, namespace string) *Store {
	s := &Store{namespace: namespace}
	s.cm = s.watch(client, func(f informers.SharedInformerFactory) cache.SharedIndexInformer {
		return f.Core().V1().ConfigMaps().Informer()
	}, ConfigMapName)
	s.rbac = s.watch(client, func(f informers.SharedInformerFactory) cache.SharedIndexInformer {
		return f.Core().V1().ConfigMaps().Informer()
	}, RBACConfigMapName)
	s.secret = s.watch(client, func(f informers.SharedInformerFactory) cache.SharedIndexInformer {
		return f.Core().V1().Secrets().Informer()
	}, SecretName)
	return s
}

// watched is one object's informer.
type watched struct {
	factory  informers.SharedInformerFactory
	informer cache.SharedIndexInformer
}

func (s *Store) watch(client kubernetes.Interface, informer func(informers.SharedInformerFactory) cache.SharedIndexInformer, name string) *watched {
	f := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(s.namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
		}))
	inf := informer(f)
	bump := func(any) { s.version.Add(1) }
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: bump, DeleteFunc: bump, UpdateFunc: func(_, o any) { bump(o) },
	})
	return &watched{factory: f, informer: inf}
}

// Namespace is the namespace the settings are read from.
func (s *Store) Namespace() string { return s.namespace }

// Start watches until ctx ends. It returns once the first lists are in
// or ctx ends, whichever is first, and keeps watching in the background.
func (s *Store) Start(ctx context.Context) error {
	for _, w := range []*watched{s.cm, s.rbac, s.secret} {
		w.factory.Start(ctx.Done())
	}
	wait, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if !cache.WaitForCacheSync(wait.Done(), s.cm.informer.HasSynced, s.rbac.informer.HasSynced, s.secret.informer.HasSynced) {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("settings in namespace %s: not listed within a minute", s.namespace)
	}
	return nil
}

// Version changes whenever any of the three objects does.
func (s *Store) Version() uint64 { return s.version.Load() }

// ConfigMap returns argocd-cm's data; nil when it does not exist.
func (s *Store) ConfigMap() map[string]string { return configMapData(s.cm) }

// RBAC returns argocd-rbac-cm's data; nil when it does not exist.
func (s *Store) RBAC() map[string]string { return configMapData(s.rbac) }

// Secret returns argocd-secret's data; nil when it does not exist. The
// map is shared: callers must not change it.
func (s *Store) Secret() map[string][]byte {
	for _, o := range s.secret.informer.GetStore().List() {
		if sec, ok := o.(*corev1.Secret); ok {
			return sec.Data
		}
	}
	return nil
}

func configMapData(w *watched) map[string]string {
	for _, o := range w.informer.GetStore().List() {
		if cm, ok := o.(*corev1.ConfigMap); ok {
			return cm.Data
		}
	}
	return nil
}
