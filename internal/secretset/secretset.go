// Package secretset keeps the Secrets of one namespace that carry given
// labels (Argo CD's cluster, repository and repo-creds Secrets) without a
// request per use: a metadata-only watch, whose cache holds no Secret
// data, says when one was added, changed or removed, and only then are
// they listed again with their data.
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

	mu      sync.Mutex
	listed  bool   // secrets holds a listing (possibly of none)
	stamp   string // names and resource versions of secrets
	secrets []corev1.Secret
}

// List returns the Secrets sorted by name, listed afresh only when the
// index shows a change since the last listing. The result is shared:
// callers must not modify it.
func (s *Set) List(ctx context.Context) ([]corev1.Secret, error) {
	stamp, err := s.indexStamp(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Index != nil && s.listed && stamp == s.stamp {
		return s.secrets, nil
	}
	var list corev1.SecretList
	if err := s.Reader.List(ctx, &list, client.InNamespace(s.Namespace), s.Labels); err != nil {
		return nil, fmt.Errorf("list secrets %s in %s: %w", labelText(s.Labels), s.Namespace, err)
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	// The listing is remembered under its own versions: when the index
	// lags behind it, the next call lists again.
	metas := make([]metav1.ObjectMeta, len(list.Items))
	for i := range list.Items {
		metas[i] = list.Items[i].ObjectMeta
	}
	s.stamp, s.secrets, s.listed = stampOf(metas), list.Items, true
	return s.secrets, nil
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
