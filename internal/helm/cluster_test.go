package helm

import (
	"testing"

	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
)

// countingDiscovery counts what reaches the real discovery.
type countingDiscovery struct {
	discovery.CachedDiscoveryInterface
	invalidations, versions int
}

func (d *countingDiscovery) Invalidate() { d.invalidations++ }

func (d *countingDiscovery) ServerVersion() (*version.Info, error) {
	d.versions++
	return &version.Info{GitVersion: "v1.35.0"}, nil
}

// Helm's actions each ask to forget discovery and ask the version; shared
// by many releases, only the first within DiscoveryMaxAge reaches the
// server, while a release that brought CRDs empties it at once.
func TestSharedDiscovery(t *testing.T) {
	c, err := NewCluster(&rest.Config{Host: "https://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.init(); err != nil {
		t.Fatal(err)
	}
	real := &countingDiscovery{}
	c.discovery = real
	getter, err := c.getter("default")
	if err != nil {
		t.Fatal(err)
	}
	for range 5 { // five actions, as Helm's getCapabilities does
		dc, err := getter.ToDiscoveryClient()
		if err != nil {
			t.Fatal(err)
		}
		dc.Invalidate()
		if v, err := dc.ServerVersion(); err != nil || v.GitVersion != "v1.35.0" {
			t.Fatalf("ServerVersion = %v, %v", v, err)
		}
	}
	if real.invalidations != 1 || real.versions != 1 {
		t.Errorf("five actions: %d invalidations and %d version requests reached discovery, want 1 and 1", real.invalidations, real.versions)
	}
	c.Invalidate() // a release installed CRDs
	if real.invalidations != 2 {
		t.Errorf("Cluster.Invalidate within DiscoveryMaxAge: %d invalidations, want 2", real.invalidations)
	}
	dc, _ := getter.ToDiscoveryClient()
	dc.Invalidate()
	if _, err := dc.ServerVersion(); err != nil || real.versions != 2 || real.invalidations != 2 {
		t.Errorf("the next action: %d version requests and %d invalidations, want 2 and 2 (err %v)", real.versions, real.invalidations, err)
	}
}
