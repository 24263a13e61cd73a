package argo

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// DefaultMaxAge is how long settings read from the API server are used
// before they are read again.
const DefaultMaxAge = 3 * time.Second

// Loader reads the settings around the cache (the manager caches no
// ConfigMap or Secret), at most once per MaxAge, and parses them again
// only when their resourceVersions change.
type Loader struct {
	// Reader reads the ConfigMap and the Secret (the manager's API reader).
	Reader client.Reader
	// Namespace is Argo CD's namespace.
	Namespace string
	// MaxAge is how long a read is used (DefaultMaxAge when 0).
	MaxAge time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	mu      sync.Mutex
	cfg     *Config // nil until the ConfigMap is found
	version string  // the resourceVersions cfg was parsed from
	readAt  time.Time
}

// Get returns the current settings: nil (and no error) when the
// ConfigMap does not exist, which turns notifications off.
func (l *Loader) Get(ctx context.Context) (*Config, error) {
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	maxAge := l.MaxAge
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.readAt.IsZero() && now().Sub(l.readAt) < maxAge {
		return l.cfg, nil
	}
	var cm corev1.ConfigMap
	err := l.Reader.Get(ctx, types.NamespacedName{Namespace: l.Namespace, Name: ConfigMapName}, &cm)
	if apierrors.IsNotFound(err) {
		l.cfg, l.version, l.readAt = nil, "", now()
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read ConfigMap %s/%s: %w", l.Namespace, ConfigMapName, err)
	}
	var secret corev1.Secret
	err = l.Reader.Get(ctx, types.NamespacedName{Namespace: l.Namespace, Name: SecretName}, &secret)
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("read Secret %s/%s: %w", l.Namespace, SecretName, err)
	}
	version := cm.ResourceVersion + "/" + secret.ResourceVersion
	if l.cfg == nil || version != l.version {
		l.cfg, l.version = Parse(cm.Data, secret.Data), version
	}
	l.readAt = now()
	return l.cfg, nil
}

// Version identifies the settings last read ("" when there are none).
func (l *Loader) Version() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.version
}
