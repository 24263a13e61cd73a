package argo

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// testKubeconfig has three contexts for one server: a token, a client
// certificate read from files, and an exec plugin.
const testKubeconfig = `apiVersion: v1
kind: Config
current-context: token
clusters:
- name: prod
  cluster:
    server: https://prod.example.com:6443
    certificate-authority-data: Q0EtUEVN
    tls-server-name: api.prod.example.com
contexts:
- name: token
  context: {cluster: prod, user: token-user}
- name: cert
  context: {cluster: prod, user: cert-user}
- name: exec
  context: {cluster: prod, user: exec-user}
users:
- name: token-user
  user: {token: user-token}
- name: cert-user
  user: {client-certificate: client.crt, client-key: client.key}
- name: exec-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: [eks, get-token, --cluster-name, prod]
      env: [{name: AWS_PROFILE, value: prod}]
      interactiveMode: Never
`

func writeKubeconfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{"config": testKubeconfig, "client.crt": "CERT-PEM", "client.key": "KEY-PEM"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "config")
}

func TestClusterConfigFromContext(t *testing.T) {
	path := writeKubeconfig(t)
	ca := []byte("CA-PEM")
	tls := tlsClientConfig{ServerName: "api.prod.example.com", CAData: ca}
	for _, tc := range []struct {
		context, token string
		want           clusterConfig
	}{
		// A ServiceAccount's token replaces whatever the user logs in with.
		{context: "cert", token: "sa-token", want: clusterConfig{BearerToken: "sa-token", TLSClientConfig: tls}},
		{context: "token", want: clusterConfig{BearerToken: "user-token", TLSClientConfig: tls}},
		{context: "cert", want: clusterConfig{TLSClientConfig: tlsClientConfig{ServerName: tls.ServerName, CAData: ca,
			CertData: []byte("CERT-PEM"), KeyData: []byte("KEY-PEM")}}},
		{context: "exec", want: clusterConfig{TLSClientConfig: tls, ExecProviderConfig: &execProviderConfig{Command: "aws",
			Args: []string{"eks", "get-token", "--cluster-name", "prod"}, Env: map[string]string{"AWS_PROFILE": "prod"},
			APIVersion: "client.authentication.k8s.io/v1beta1"}}},
	} {
		rc, err := contextConfig(path, tc.context)
		if err != nil {
			t.Fatalf("%s: %v", tc.context, err)
		}
		if rc.Host != "https://prod.example.com:6443" {
			t.Errorf("%s: host %q", tc.context, rc.Host)
		}
		got, err := clusterConfigFor(rc, tc.token)
		if err != nil {
			t.Fatalf("%s: %v", tc.context, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s with token %q:\n got %+v\nwant %+v", tc.context, tc.token, got, tc.want)
		}
	}
	if _, err := contextConfig(path, "staging"); err == nil || !strings.Contains(err.Error(), "cert, exec, token") {
		t.Errorf("a missing context: %v", err)
	}
}

func TestClusterSecretShape(t *testing.T) {
	spec := clusterSpec{Name: "prod", Server: "https://prod.example.com:6443", Namespaces: []string{"web", "api"},
		ClusterResources: true, Project: "team", Labels: map[string]string{"env": "prod"}, Annotations: map[string]string{"owner": "sre"}}
	cfg := clusterConfig{BearerToken: "sa-token", TLSClientConfig: tlsClientConfig{CAData: []byte("CA")}}
	s, err := clusterSecret(spec, cfg, "argocd")
	if err != nil {
		t.Fatal(err)
	}
	if s.Namespace != "argocd" || !strings.HasPrefix(s.Name, "cluster-prod.example.com-") {
		t.Errorf("Secret %s/%s", s.Namespace, s.Name)
	}
	if s.Labels[argov1.LabelKeySecretType] != argov1.SecretTypeCluster || s.Labels["env"] != "prod" || s.Annotations["owner"] != "sre" {
		t.Errorf("labels %v, annotations %v", s.Labels, s.Annotations)
	}
	want := map[string]string{"name": "prod", "server": spec.Server, "namespaces": "web,api", "clusterResources": "true", "project": "team"}
	for k, v := range want {
		if string(s.Data[k]) != v {
			t.Errorf("data %s = %q, want %q", k, s.Data[k], v)
		}
	}
	var config map[string]any
	if err := json.Unmarshal(s.Data["config"], &config); err != nil {
		t.Fatal(err)
	}
	// caData is base64 in JSON, as Argo CD's []byte fields are.
	if config["bearerToken"] != "sa-token" || config["tlsClientConfig"].(map[string]any)["caData"] != "Q0E=" {
		t.Errorf("config %s", s.Data["config"])
	}
	if _, ok := config["execProviderConfig"]; ok {
		t.Errorf("config has an exec provider: %s", s.Data["config"])
	}
	// The same server always gets the same name; the spec's label map is
	// not changed.
	again, _ := clusterSecret(spec, cfg, "argocd")
	if again.Name != s.Name || len(spec.Labels) != 1 {
		t.Errorf("names %s and %s, spec labels %v", s.Name, again.Name, spec.Labels)
	}
	if _, err := clusterSecret(clusterSpec{Server: "prod.example.com"}, cfg, "argocd"); err == nil {
		t.Error("a server without a scheme was accepted")
	}
	local, err := clusterSecret(clusterSpec{Name: "in", Server: argov1.KubernetesInternalAPIServerAddr}, cfg, "argocd")
	if err != nil || !strings.HasPrefix(local.Name, "cluster-kubernetes.default.svc-") || local.Data["namespaces"] != nil {
		t.Errorf("in-cluster Secret %v: %v", local, err)
	}
}

func TestClusterConfigWithoutCredentials(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	kc := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://c.example.com', insecure-skip-tls-verify: true}\n" +
		"contexts:\n- name: anon\n  context: {cluster: c, user: nobody}\nusers:\n- name: nobody\n  user: {}\n"
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	rc, err := contextConfig(path, "anon")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := clusterConfigFor(rc, ""); err == nil {
		t.Error("a context without credentials was accepted for --context-credentials")
	}
	if cfg, err := clusterConfigFor(rc, "sa"); err != nil || !cfg.TLSClientConfig.Insecure {
		t.Errorf("insecure context with a token: %+v, %v", cfg, err)
	}
}

func TestKeyValues(t *testing.T) {
	got, err := keyValues("--label", []string{"env=prod", "empty="})
	if err != nil || !reflect.DeepEqual(got, map[string]string{"env": "prod", "empty": ""}) {
		t.Errorf("keyValues = %v, %v", got, err)
	}
	if _, err := keyValues("--label", []string{"novalue"}); err == nil {
		t.Error("a label without = was accepted")
	}
}

func TestDNSLabel(t *testing.T) {
	for in, want := range map[string]string{"Prod.Example.com": "prod.example.com", "::1": "1", "10.0.0.1": "10.0.0.1", "a_b": "a-b"} {
		if got := dnsLabel(in); got != want {
			t.Errorf("dnsLabel(%q) = %q, want %q", in, got, want)
		}
	}
}
