package cluster

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/secretset"
)

func TestCheckKubeconfigRefusesFilesAndPlugins(t *testing.T) {
	inline := func() *clientcmdapi.Config {
		c := clientcmdapi.NewConfig()
		c.Clusters["c"] = &clientcmdapi.Cluster{Server: "https://remote:6443", CertificateAuthorityData: []byte("ca")}
		c.AuthInfos["u"] = &clientcmdapi.AuthInfo{Token: "t"}
		return c
	}
	tests := []struct {
		name    string
		edit    func(*clientcmdapi.Config)
		plugins bool
		want    string
	}{
		{name: "inline data is fine", edit: func(*clientcmdapi.Config) {}},
		{name: "tokenFile (Tether's own service account token)", edit: func(c *clientcmdapi.Config) {
			c.AuthInfos["u"].TokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"
		}, want: "tokenFile"},
		{name: "client key file", edit: func(c *clientcmdapi.Config) { c.AuthInfos["u"].ClientKey = "/etc/key" }, want: "client-key"},
		{name: "CA file", edit: func(c *clientcmdapi.Config) { c.Clusters["c"].CertificateAuthority = "/etc/ca" }, want: "certificate-authority"},
		{name: "exec plugin refused (CVE-2022-24817)", edit: func(c *clientcmdapi.Config) {
			c.AuthInfos["u"].Exec = &clientcmdapi.ExecConfig{Command: "/bin/sh"}
		}, want: "--allow-kubeconfig-plugins"},
		{name: "exec plugin allowed when opted in", plugins: true, edit: func(c *clientcmdapi.Config) {
			c.AuthInfos["u"].Exec = &clientcmdapi.ExecConfig{Command: "aws"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kc := inline()
			tt.edit(kc)
			err := checkKubeconfig(kc, Options{AllowPlugins: tt.plugins})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func clusterSecret(name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "argocd",
		Labels: map[string]string{argov1.LabelKeySecretType: argov1.SecretTypeCluster}}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func TestFromSecret(t *testing.T) {
	const token = "s3cr3t-token-value"
	tests := []struct {
		name string
		data map[string]string
		opts Options
		want string // part of the error; "" for success
	}{
		{"bearer token and CA", map[string]string{"name": "prod", "server": "https://prod:6443",
			"config": `{"bearerToken":"` + token + `","tlsClientConfig":{"insecure":false,"caData":"Y2E="}}`}, Options{}, ""},
		{"seed placeholder CA is not base64", map[string]string{"name": "prod", "server": "https://prod:6443",
			"config": `{"bearerToken":"` + token + `","tlsClientConfig":{"caData":"<base64 encoded certificate>"}}`}, Options{}, "base64"},
		{"exec plugin refused (CVE-2022-24817)", map[string]string{"server": "https://prod:6443",
			"config": `{"execProviderConfig":{"command":"/bin/sh"}}`}, Options{}, "--allow-kubeconfig-plugins"},
		{"exec plugin allowed when opted in", map[string]string{"server": "https://prod:6443",
			"config": `{"execProviderConfig":{"command":"aws","env":{"B":"2","A":"1"}}}`}, Options{AllowPlugins: true}, ""},
		{"no server", map[string]string{"name": "prod"}, Options{}, "server is empty"},
		{"broken JSON", map[string]string{"server": "https://prod:6443", "config": `{"bearerToken": "` + token}, Options{}, "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl, err := FromSecret(clusterSecret("prod", tt.data), tt.opts)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error = %v, want it to mention %q", err, tt.want)
			case err != nil && strings.Contains(err.Error(), token):
				t.Fatalf("the error shows the token: %v", err)
			case err == nil && cl.Config.Host != tt.data["server"]:
				t.Fatalf("host %q", cl.Config.Host)
			}
		})
	}
}

func TestLookupByNameOrServer(t *testing.T) {
	c := fake.NewClientBuilder().WithObjects(
		clusterSecret("a", map[string]string{"name": "production-cluster", "server": "https://prod:6443", "namespaces": "a, b"}),
		clusterSecret("b", map[string]string{"name": "staging", "server": "https://staging:6443/"}),
	).Build()
	ctx := context.Background()
	cl, err := Lookup(ctx, c, "argocd", argov1.ApplicationDestination{Name: "production-cluster"}, Options{})
	if err != nil || cl.Server != "https://prod:6443" || strings.Join(cl.Namespaces, ",") != "a,b" {
		t.Fatalf("by name: %+v, %v", cl, err)
	}
	if cl, err := Lookup(ctx, c, "argocd", argov1.ApplicationDestination{Server: "https://staging:6443"}, Options{}); err != nil || cl.Name != "staging" {
		t.Fatalf("by server: %+v, %v", cl, err)
	}
	if _, err := Lookup(ctx, c, "argocd", argov1.ApplicationDestination{Name: "nope"}, Options{}); err == nil || !strings.Contains(err.Error(), "there are no clusters with this name: nope") {
		t.Fatalf("unknown name: %v", err)
	}
}

// TestClientsGetTheProcessBudget: configurations made from a cluster Secret
// or a kubeconfig carry Tether's request budget, not client-go's default
// of 5 requests a second (which left Applications on a registered cluster
// waiting in client-side throttling).
func TestClientsGetTheProcessBudget(t *testing.T) {
	opts := Options{QPS: 300, Burst: 600}
	cl, err := FromSecret(clusterSecret("prod", map[string]string{"server": "https://prod:6443", "config": `{"bearerToken":"t"}`}), opts)
	if err != nil {
		t.Fatal(err)
	}
	if cl.Config.QPS != 300 || cl.Config.Burst != 600 {
		t.Errorf("cluster Secret: QPS %v burst %d, want 300 and 600", cl.Config.QPS, cl.Config.Burst)
	}
	kc := []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://remote:6443"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`)
	cfg, err := FromKubeconfig(kc, opts)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.QPS != 300 || cfg.Burst != 600 {
		t.Errorf("kubeconfig: QPS %v burst %d, want 300 and 600", cfg.QPS, cfg.Burst)
	}
	if cfg, err := FromKubeconfig(kc, Options{}); err != nil || cfg.QPS != 0 || cfg.Burst != 0 {
		t.Errorf("no budget given: QPS %v burst %d (err %v), want client-go's defaults (zero)", cfg.QPS, cfg.Burst, err)
	}
}

// TestRegistry: a Registry finds clusters in its Secret set (which lists
// only on change, see package secretset) and applies its Options.
func TestRegistry(t *testing.T) {
	ctx := context.Background()
	fc := fake.NewClientBuilder().WithObjects(
		clusterSecret("a", map[string]string{"name": "prod", "server": "https://prod:6443"}),
	).Build()
	g := &Registry{Secrets: &secretset.Set{Reader: fc, Index: fc, Namespace: "argocd",
		Labels: client.MatchingLabels{argov1.LabelKeySecretType: argov1.SecretTypeCluster}}, Options: Options{QPS: 50, UserAgent: "tether"}}
	cl, err := g.Lookup(ctx, argov1.ApplicationDestination{Server: "https://prod:6443/"})
	if err != nil || cl.Name != "prod" || cl.Config.QPS != 50 || cl.Config.UserAgent != "tether" {
		t.Fatalf("lookup: %+v, %v", cl, err)
	}
	if _, err := g.Lookup(ctx, argov1.ApplicationDestination{Name: "staging"}); err == nil || !strings.Contains(err.Error(), "no clusters with this name: staging") {
		t.Errorf("unknown name: %v", err)
	}
}
