package secretset

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

type countingReader struct {
	client.Reader
	lists int
}

func (c *countingReader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	c.lists++
	err := c.Reader.List(ctx, list, opts...)
	// An empty list comes back from the API server with no items at all
	// (nil, as protobuf decodes it), not an empty slice.
	if l, ok := list.(*corev1.SecretList); ok && len(l.Items) == 0 {
		l.Items = nil
	}
	return err
}

func secret(name, typ string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "argocd",
		Labels: map[string]string{"argocd.argoproj.io/secret-type": typ}}, Data: map[string][]byte{"url": []byte(name)}}
}

// TestSetListsOnlyOnChange: with an index, Secrets are listed with their
// data once, and again only when one of them (or the set) changes; other
// labels and namespaces are not part of the set; without an index every
// call lists.
func TestSetListsOnlyOnChange(t *testing.T) {
	ctx := context.Background()
	other := secret("elsewhere", "repository")
	other.Namespace = "default"
	fc := fake.NewClientBuilder().WithObjects(secret("b", "repository"), secret("a", "repository"), secret("c", "cluster"), other).Build()
	reader := &countingReader{Reader: fc}
	set := &Set{Reader: reader, Index: fc, Namespace: "argocd", Labels: client.MatchingLabels{"argocd.argoproj.io/secret-type": "repository"}}
	names := func() string {
		t.Helper()
		got, err := set.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		s := ""
		for _, x := range got {
			s += x.Name
		}
		return s
	}
	for range 3 {
		if got := names(); got != "ab" {
			t.Fatalf("listed %q, want ab (sorted, this label and namespace only)", got)
		}
	}
	if reader.lists != 1 {
		t.Errorf("3 calls listed %d times, want 1", reader.lists)
	}
	var a corev1.Secret
	if err := fc.Get(ctx, client.ObjectKey{Namespace: "argocd", Name: "a"}, &a); err != nil {
		t.Fatal(err)
	}
	a.Data["url"] = []byte("changed")
	if err := fc.Update(ctx, &a); err != nil {
		t.Fatal(err)
	}
	names()
	if err := fc.Delete(ctx, secret("b", "repository")); err != nil {
		t.Fatal(err)
	}
	if got := names(); got != "a" {
		t.Errorf("after a deletion: %q", got)
	}
	if reader.lists != 3 {
		t.Errorf("listed %d times, want 3 (first, after the change, after the deletion)", reader.lists)
	}
	// An empty set is a listing too: most installations have no
	// repo-creds Secrets at all.
	empty := &Set{Reader: reader, Index: fc, Namespace: "argocd", Labels: client.MatchingLabels{"argocd.argoproj.io/secret-type": "repo-creds"}}
	before := reader.lists
	for range 3 {
		if got, err := empty.List(ctx); err != nil || len(got) != 0 {
			t.Fatalf("empty set: %v, %v", got, err)
		}
	}
	if reader.lists-before != 1 {
		t.Errorf("an empty set listed %d times for 3 calls, want 1", reader.lists-before)
	}
	noIndex := &Set{Reader: reader, Namespace: "argocd", Labels: set.Labels}
	before = reader.lists
	for range 2 {
		if _, err := noIndex.List(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if reader.lists-before != 2 {
		t.Errorf("without an index: %d lists for 2 calls", reader.lists-before)
	}
}

// versionedIndex is an informer cache whose Secret informer has seen
// resource version version.
type versionedIndex struct {
	client.Reader
	version string
}

type versionedInformer struct {
	cache.Informer
	index *versionedIndex
}

func (i versionedInformer) LastSyncResourceVersion() string { return i.index.version }

func (v *versionedIndex) GetInformer(context.Context, client.Object, ...cache.InformerGetOption) (cache.Informer, error) {
	return versionedInformer{index: v}, nil
}

// TestSetFollowsInformerVersion: with an informer cache as the index, an
// unchanged set lists nothing at all (not even metadata); a new version
// seen by the informer makes the next call list again, and an informer
// that has seen nothing yet lists every time.
func TestSetFollowsInformerVersion(t *testing.T) {
	ctx := context.Background()
	fc := fake.NewClientBuilder().WithObjects(secret("a", "repository")).Build()
	reader := &countingReader{Reader: fc}
	index := &versionedIndex{Reader: fc}
	set := &Set{Reader: reader, Index: index, Namespace: "argocd", Labels: client.MatchingLabels{"argocd.argoproj.io/secret-type": "repository"}}
	for _, step := range []struct {
		version string
		lists   int // after two calls
	}{
		{"", 2},
		{"5", 3},
		{"5", 3},
		{"7", 4},
		{"", 6},
		{"7", 7},
	} {
		index.version = step.version
		for range 2 {
			if _, err := set.List(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if reader.lists != step.lists {
			t.Errorf("at version %q: %d listings, want %d", step.version, reader.lists, step.lists)
		}
	}
}
