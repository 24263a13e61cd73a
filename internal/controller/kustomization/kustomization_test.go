package kustomization

import (
	"errors"
	"strings"
	"testing"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/tether-gitops/tether/api/meta"
)

func TestMaskedHidesSecretValuesAndKeepsTheReason(t *testing.T) {
	err := fail(meta.BuildFailedReason, errors.New("yaml: unknown anchor 'Sup3rS3cret' referenced"))
	got := masked(err, []string{"*Sup3rS3cret", "Sup3rS3cret", "ab"})
	if strings.Contains(got.Error(), "Sup3rS3cret") {
		t.Errorf("masked error still holds the secret: %v", got)
	}
	if f := asFailure(got); f.reason != meta.BuildFailedReason {
		t.Errorf("reason = %s, want %s", f.reason, meta.BuildFailedReason)
	}
	if masked(nil, []string{"x"}) != nil {
		t.Error("masked(nil) is not nil")
	}
}

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
			err := (&Reconciler{AllowKubeconfigPlugins: tt.plugins}).checkKubeconfig(kc)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}
