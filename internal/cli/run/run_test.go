package run

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestEveryFlagHasHelpAndDefault(t *testing.T) {
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	DefaultOptions().AddFlags(fs)
	optional := map[string]bool{ // empty by default on purpose
		"kubeconfig": true, "url-rewrite": true, "url-rewrite-configmap": true,
		"storage-adv-addr": true, "git-cache-dir": true, "leader-election-namespace": true,
		"allow-kubeconfig-plugins": true, "application-namespaces": true,
		"tls-cert-file": true, "tls-key-file": true, "server-insecure": true,
		"no-cross-namespace-refs": true, "default-service-account": true, "shard-identity": true,
	}
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Usage == "" {
			t.Errorf("--%s has no help text", f.Name)
		}
		if !optional[f.Name] && (f.DefValue == "" || f.DefValue == "[]") {
			t.Errorf("--%s has no default", f.Name)
		}
	})
	if err := fs.Parse([]string{"--url-rewrite", "https://a/=http://b/", "--url-rewrite", "https://c/=http://d/"}); err != nil {
		t.Fatal(err)
	}
}

func TestLeaderElectionIsOnWithANamespaceEverywhere(t *testing.T) {
	if !DefaultOptions().LeaderElection {
		t.Error("leader election is off by default")
	}
	tests := []struct {
		flag      string
		inCluster bool
		want      string
	}{
		{"", false, "default"},      // outside a cluster: a namespace every cluster has
		{"", true, ""},              // in a pod: controller-runtime reads the pod's
		{"tether", false, "tether"}, // the flag wins
		{"tether", true, "tether"},
	}
	for _, tt := range tests {
		if got := leaderElectionNamespace(tt.flag, func() bool { return tt.inCluster }); got != tt.want {
			t.Errorf("leaderElectionNamespace(%q, inCluster=%v) = %q, want %q", tt.flag, tt.inCluster, got, tt.want)
		}
	}
}

func TestListenStorageAdvertisesTheRealPort(t *testing.T) {
	tests := []struct{ addr, adv, wantPrefix string }{
		{"127.0.0.1:0", "", "127.0.0.1:"},
		{":0", "", "localhost:"},
		{"127.0.0.1:0", "source-controller.flux-system.svc.cluster.local.", "source-controller.flux-system.svc.cluster.local."},
	}
	for _, tt := range tests {
		opts := DefaultOptions()
		opts.StorageAddr, opts.StorageAdvAddr = tt.addr, tt.adv
		l, adv, err := listenStorage(opts)
		if err != nil {
			t.Fatal(err)
		}
		l.Close()
		if !strings.HasPrefix(adv, tt.wantPrefix) || strings.HasSuffix(adv, ":0") {
			t.Errorf("listenStorage(%q, %q) advertises %q", tt.addr, tt.adv, adv)
		}
	}
}

func TestNewLoggerLevels(t *testing.T) {
	for _, level := range []string{"debug", "info", "error"} {
		if _, err := newLogger(level); err != nil {
			t.Errorf("newLogger(%q): %v", level, err)
		}
	}
	if _, err := newLogger("trace"); err == nil || !strings.Contains(err.Error(), "trace") {
		t.Errorf("newLogger(trace) error = %v", err)
	}
	// V(4) and deeper are where client-go prints request bodies.
	l, _ := newLogger("debug")
	if l.V(4).Enabled() {
		t.Error("debug logging enables V(4), which prints API request bodies (Secrets included)")
	}
	if !l.V(1).Enabled() {
		t.Error("debug logging does not enable V(1)")
	}
}
