package cluster

import "testing"

// FuzzFromKubeconfig: a Flux kubeConfig Secret is written by a tenant.
// Parsing it never panics, and without AllowPlugins no configuration
// that runs a credential plugin or reads Tether's own files comes out.
func FuzzFromKubeconfig(f *testing.F) {
	f.Add([]byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://10.0.0.1:6443", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: abc}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`))
	f.Add([]byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://x"}}]
users: [{name: u, user: {exec: {command: /bin/sh, apiVersion: client.authentication.k8s.io/v1}}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`))
	f.Add([]byte(`{"apiVersion":"v1","kind":"Config","users":[{"name":"u","user":{"tokenFile":"/var/run/secrets/kubernetes.io/serviceaccount/token"}}]}`))
	f.Add([]byte("clusters: [{cluster: {certificate-authority: /etc/ssl/private/key.pem}}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := FromKubeconfig(data, Options{})
		if err != nil {
			return
		}
		if cfg.ExecProvider != nil || cfg.AuthProvider != nil {
			t.Fatalf("a credential plugin passed: %+v %+v", cfg.ExecProvider, cfg.AuthProvider)
		}
		if cfg.BearerTokenFile != "" || cfg.CAFile != "" || cfg.CertFile != "" || cfg.KeyFile != "" {
			t.Fatalf("a file of Tether's own disk passed: %q %q %q %q", cfg.BearerTokenFile, cfg.CAFile, cfg.CertFile, cfg.KeyFile)
		}
	})
}
