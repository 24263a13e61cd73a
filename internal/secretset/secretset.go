// Package secretset keeps the Secrets of one namespace that carry given
// labels (Argo CD's cluster, repository and repo-creds Secrets) without a
// request per use: a metadata-only watch, whose cache holds no Secret
// data, says when one was added, changed or removed, and only then are
// they listed again with their data. When the index is an informer cache,
// the informer's last seen resource version says whether anything changed,
// so an unchanged set costs no listing at all (a profile of 5,000 idle
// Applications found the index's listing, once per refresh, at 6 % of the
// idle CPU); other indexes are listed per call.
//
//	set := &secretset.Set{Reader: apiReader, Index: metadataCache, Namespace: "argocd",
//		Labels: client.MatchingLabels{"argocd.argoproj.io/secret-type": "repository"}}
//	secrets, err := set.List(ctx)
package secretset

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Set is the Secrets of Namespace that carry Labels. It is safe for
// concurrent use.
type Set struct {
	// Reader reads the Secrets with their data, around any cache.
	Reader client.Reader
	// Index lists the Secrets' metadata from a watch-fed cache that
	// covers Namespace and Labels; nil lists through Reader every time.
	Index client.Reader
	// Namespace holds the Secrets.
	Namespace string
	// Labels select them.
	Labels client.MatchingLabels

	mu        sync.Mutex
	listed    bool   // secrets holds a listing (possibly of none)
	stamp     string // the informer's version at the listing, else names and versions of secrets
	secrets   []corev1.Secret
	versioned versioned // the index's informer, when it has one
	plain     bool      // the index has no such informer
}

// informers is what an informer cache offers besides reading.
type informers interface {
	GetInformer(ctx context.Context, obj client.Object, opts ...cache.InformerGetOption) (cache.Informer, error)
}

// versioned is an informer that tells the resource version it has seen
// last. Its reflector records a version before the informer's store and
// handlers see the change it brings, so any code acting on a Secret's
// event finds the version already moved on.
type versioned interface {
	LastSyncResourceVersion() string
}

// List returns the Secrets sorted by name, listed afresh only when the
// index shows a change since the last listing. The result is shared:
// callers must not modify it.
func (s *Set) List(ctx context.Context) ([]corev1.Secret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if inf := s.informer(ctx); inf != nil {
		// The version is read before listing: a change during the
		// listing makes the next call list again. (Any change to a
		// Secret of the namespace moves it, and so do the watch's
		// periodic bookmarks: a listing now and then.)
		version := inf.LastSyncResourceVersion()
		if s.listed && version != "" && version == s.stamp {
			return s.secrets, nil
		}
		if err := s.list(ctx); err != nil {
			return nil, err
		}
		s.stamp = version
		return s.secrets, nil
	}
	stamp, err := s.indexStamp(ctx)
	if err != nil {
		return nil, err
	}
	if s.Index != nil && s.listed && stamp == s.stamp {
		return s.secrets, nil
	}
	if err := s.list(ctx); err != nil {
		return nil, err
	}
	return s.secrets, nil
}

// informer is the index's informer for Secrets, when the index is an
// informer cache whose informers tell their last resource version.
func (s *Set) informer(ctx context.Context) versioned {
	if s.versioned != nil || s.plain {
		return s.versioned
	}
	idx, ok := s.Index.(informers)
	if !ok {
		s.plain = true
		return nil
	}
	meta := &metav1.PartialObjectMetadata{}
	meta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	inf, err := idx.GetInformer(ctx, meta)
	if err != nil {
		return nil // the index is listed this time, and asked again next time
	}
	// A cache limited to namespaces wraps its informers in one that
	// does not tell a version: the index is then listed every time.
	s.versioned, ok = inf.(versioned)
	s.plain = !ok
	return s.versioned
}

// list reads the Secrets with their data and remembers them.
func (s *Set) list(ctx context.Context) error {
	var list corev1.SecretList
	if err := s.Reader.List(ctx, &list, client.InNamespace(s.Namespace), s.Labels); err != nil {
		return fmt.Errorf("list secrets %s in %s: %w", labelText(s.Labels), s.Namespace, err)
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	// The listing is remembered under its own versions: when the index
	// lags behind it, the next call lists again.
	metas := make([]metav1.ObjectMeta, len(list.Items))
	for i := range list.Items {
		metas[i] = list.Items[i].ObjectMeta
	}
	s.stamp, s.secrets, s.listed = stampOf(metas), list.Items, true
	return nil
}

// indexStamp names the Secrets the index holds, with their versions.
func (s *Set) indexStamp(ctx context.Context) (string, error) {
	if s.Index == nil {
		return "", nil
	}
	var list metav1.PartialObjectMetadataList
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
	if err := s.Index.List(ctx, &list, client.InNamespace(s.Namespace), s.Labels); err != nil {
		return "", fmt.Errorf("list secrets %s in %s: %w", labelText(s.Labels), s.Namespace, err)
	}
	metas := make([]metav1.ObjectMeta, len(list.Items))
	for i := range list.Items {
		metas[i] = list.Items[i].ObjectMeta
	}
	return stampOf(metas), nil
}

func stampOf(metas []metav1.ObjectMeta) string {
	parts := make([]string, len(metas))
	for i, m := range metas {
		parts[i] = m.Name + "@" + m.ResourceVersion
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func labelText(l client.MatchingLabels) string {
	parts := make([]string, 0, len(l))
	for k, v := range l {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}
