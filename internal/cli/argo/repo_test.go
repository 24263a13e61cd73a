package argo

import (
	"strings"
	"testing"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

func TestRepoSecret(t *testing.T) {
	for _, tc := range []struct {
		name    string
		spec    repoSpec
		want    map[string]string
		wantErr string
	}{
		{name: "git over https with a password", spec: repoSpec{URL: "https://git.example.com/a.git", Username: "bot", Password: "pw", Project: "team"},
			want: map[string]string{"url": "https://git.example.com/a.git", "type": "git", "username": "bot", "password": "pw", "project": "team"}},
		{name: "git over ssh, insecure", spec: repoSpec{URL: "git@git.example.com:a.git", SSHPrivateKey: "KEY", Insecure: true},
			want: map[string]string{"url": "git@git.example.com:a.git", "type": "git", "sshPrivateKey": "KEY", "insecure": "true"}},
		{name: "helm OCI", spec: repoSpec{URL: "registry.example.com/charts", Type: "helm", Name: "charts", EnableOCI: true},
			want: map[string]string{"url": "registry.example.com/charts", "type": "helm", "name": "charts", "enableOCI": "true"}},
		{name: "helm without a name", spec: repoSpec{URL: "https://charts.example.com", Type: "helm"}, wantErr: "--name"},
		{name: "unknown type", spec: repoSpec{URL: "https://x", Type: "svn"}, wantErr: "--type"},
		{name: "OCI on git", spec: repoSpec{URL: "https://x", EnableOCI: true}, wantErr: "--type helm"},
		{name: "password alone", spec: repoSpec{URL: "https://x", Password: "pw"}, wantErr: "--username"},
		{name: "key and password", spec: repoSpec{URL: "git@x:a", SSHPrivateKey: "K", Username: "u"}, wantErr: "pick one"},
		{name: "key on https", spec: repoSpec{URL: "https://x/a.git", SSHPrivateKey: "K"}, wantErr: "SSH"},
		{name: "no URL", spec: repoSpec{}, wantErr: "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := repoSecret(tc.spec, "argocd")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Data) != len(tc.want) {
				t.Errorf("data keys %d, want %d", len(s.Data), len(tc.want))
			}
			for k, v := range tc.want {
				if string(s.Data[k]) != v {
					t.Errorf("data %s = %q, want %q", k, s.Data[k], v)
				}
			}
			if s.Namespace != "argocd" || !strings.HasPrefix(s.Name, "repo-") || s.Labels[argov1.LabelKeySecretType] != argov1.SecretTypeRepository {
				t.Errorf("Secret %s/%s labels %v", s.Namespace, s.Name, s.Labels)
			}
		})
	}
}
