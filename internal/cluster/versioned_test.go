package cluster

import (
	"context"
	"errors"
	"slices"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// TestVersioned: a value is made once per version of a name; a new
// version replaces and closes the old value; Retain drops and closes the
// values of names that are gone; a failed make keeps nothing.
func TestVersioned(t *testing.T) {
	var closed []string
	v := Versioned[string]{Close: func(s string) { closed = append(closed, s) }}
	made := 0
	get := func(name, version string) string {
		t.Helper()
		got, err := v.Get(name, version, func() (string, error) { made++; return name + "@" + version, nil })
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := get("argocd/prod", "v1"); got != "argocd/prod@v1" {
		t.Fatalf("first get = %q", got)
	}
	get("argocd/prod", "v1")
	get("argocd/staging", "v1")
	if made != 2 || len(closed) != 0 {
		t.Fatalf("made %d, closed %v; want 2 made, none closed", made, closed)
	}
	if got := get("argocd/prod", "v2"); got != "argocd/prod@v2" || !slices.Equal(closed, []string{"argocd/prod@v1"}) {
		t.Fatalf("rotation: got %q, closed %v", got, closed)
	}
	if _, err := v.Get("argocd/dev", "v1", func() (string, error) { return "", errors.New("boom") }); err == nil {
		t.Fatal("a failed make returned no error")
	}
	if v.Len() != 2 {
		t.Fatalf("Len = %d after a failed make, want 2", v.Len())
	}
	v.Retain(func(name string) bool { return name == "argocd/staging" })
	if v.Len() != 1 || !slices.Contains(closed, "argocd/prod@v2") {
		t.Fatalf("after Retain: Len %d, closed %v", v.Len(), closed)
	}
}

// TestClientsFollowTheSecret: a changed credential digest gets a new
// client, the same digest the same one, and Retain drops the clients of
// removed Secrets. (Clients discover lazily: nothing is dialled here.)
func TestClientsFollowTheSecret(t *testing.T) {
	var c Clients
	cfg := &rest.Config{Host: "https://127.0.0.1:1"}
	scheme := runtime.NewScheme()
	a, err := c.For("argocd/prod@aaaa", cfg, scheme)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := c.For("argocd/prod@aaaa", cfg, scheme)
	rotated, _ := c.For("argocd/prod@bbbb", cfg, scheme)
	if a != again || a == rotated {
		t.Errorf("same digest gave a new client (%v) or a new digest the old one (%v)", a != again, a == rotated)
	}
	if _, err := c.For("argocd/staging@cccc", cfg, scheme); err != nil {
		t.Fatal(err)
	}
	if c.Len() != 2 {
		t.Fatalf("%d clients for two Secrets", c.Len())
	}
	c.Retain(func(name string) bool { return name == "argocd/staging" })
	if c.Len() != 1 {
		t.Errorf("%d clients after argocd/prod was removed, want 1", c.Len())
	}
}

func TestSplitID(t *testing.T) {
	for id, want := range map[string][2]string{
		"argocd/prod@0123abcd": {"argocd/prod", "0123abcd"},
		"a/b@c@d":              {"a/b@c", "d"},
		"plain":                {"plain", ""},
	} {
		if n, v := SplitID(id); n != want[0] || v != want[1] {
			t.Errorf("SplitID(%q) = %q, %q; want %q, %q", id, n, v, want[0], want[1])
		}
	}
}

func TestWithoutSecret(t *testing.T) {
	keep := WithoutSecret("remote:", "apps", "kubeconfig")
	for name, want := range map[string]bool{
		"remote:apps/kubeconfig":                false,
		"remote:apps/kubeconfig|sa:apps/deploy": false,
		"remote:apps/kubeconfig-2":              true,
		"remote:other/kubeconfig":               true,
		"local|sa:apps/deploy":                  true,
	} {
		if got := keep(name); got != want {
			t.Errorf("keep(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestResolveFluxTarget: the local cluster as a service account; a
// missing kubeconfig Secret is NotFound, for callers to drop what they
// made from it.
func TestResolveFluxTarget(t *testing.T) {
	local := &rest.Config{Host: "https://local:6443"}
	fc := fake.NewClientBuilder().Build()
	ft, err := ResolveFluxTarget(context.Background(), fc, local, "apps", "", "", "deployer", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ft.Cluster != "local" || ft.Identity != "local|sa:apps/deployer" || ft.Version != "" || ft.ClusterConfig != nil {
		t.Errorf("local target %+v", ft)
	}
	if ft.Config == local || ft.Config.Impersonate.UserName != "system:serviceaccount:apps:deployer" || local.Impersonate.UserName != "" {
		t.Errorf("impersonation %q on a copy: copy %v", ft.Config.Impersonate.UserName, ft.Config != local)
	}
	if _, err := ResolveFluxTarget(context.Background(), fc, local, "apps", "gone", "", "", Options{}); !apierrors.IsNotFound(err) {
		t.Errorf("missing kubeconfig Secret: %v, want NotFound", err)
	}
}
