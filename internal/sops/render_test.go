package sops_test

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tether-gitops/tether/internal/render"
	"github.com/tether-gitops/tether/internal/sops"
	"github.com/tether-gitops/tether/internal/sops/sopstest"
)

// writeSource writes files (path: content) under a new folder.
func writeSource(t *testing.T, files map[string][]byte) string {
	t.Helper()
	root := t.TempDir()
	for name, data := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// TestRenderDecryptsSecretsAndGeneratorFiles renders a kustomization as
// Flux users write it: an encrypted Secret manifest and a secretGenerator
// fed by an encrypted dotenv file and an encrypted file.
func TestRenderDecryptsSecretsAndGeneratorFiles(t *testing.T) {
	d, recipient := ageDecryptor(t)
	age := sopstest.Options{AgeRecipients: []string{recipient}}
	root := writeSource(t, map[string][]byte{
		"apps/kustomization.yaml": []byte(`resources: [db.yaml]
secretGenerator:
- name: api
  envs: [api.enc.env]
  files: [token.txt]
generatorOptions:
  disableNameSuffixHash: true
`),
		"apps/db.yaml":      sopstest.Encrypt(t, "db.yaml", []byte(secretYAML), sopstest.Options{AgeRecipients: age.AgeRecipients, EncryptedRegex: "^(data|stringData)$"}),
		"apps/api.enc.env":  sopstest.Encrypt(t, "api.enc.env", []byte("API_KEY=abc-123-very-secret\nMODE=live\n"), sopstest.Options{AgeRecipients: age.AgeRecipients, Format: "dotenv"}),
		"apps/token.txt":    sopstest.Encrypt(t, "token.txt", []byte("tok-456-very-secret"), age),
		"apps/unrelated.md": []byte("not read"),
	})
	objs, err := render.NewRenderer(0).Render(context.Background(), root, "k1", render.Options{Path: "apps", Decryptor: d})
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	got := map[string]map[string]any{}
	for _, o := range objs {
		if o.Obj.GetKind() != "Secret" {
			t.Fatalf("unexpected %s", o.Obj.GetKind())
		}
		if _, ok := o.Obj.Object["sops"]; ok {
			t.Fatalf("%s still has its sops metadata", o.Obj.GetName())
		}
		got[o.Obj.GetName()] = o.Obj.Object
	}
	if pw, _ := got["db"]["stringData"].(map[string]any)["password"].(string); pw != "hunter2-very-secret" {
		t.Errorf("db password = %q", pw)
	}
	data, _ := got["api"]["data"].(map[string]any)
	want := map[string]string{"API_KEY": "abc-123-very-secret", "MODE": "live", "token.txt": "tok-456-very-secret"}
	for k, v := range want {
		if data[k] != base64.StdEncoding.EncodeToString([]byte(v)) {
			t.Errorf("api data %s = %v, want base64 of %q", k, data[k], v)
		}
	}
	if len(data) != len(want) {
		t.Errorf("api data has %d keys, want %d (sops metadata must not become keys): %v", len(data), len(want), data)
	}
}

func TestRenderRefusals(t *testing.T) {
	d, recipient := ageDecryptor(t)
	age := sopstest.Options{AgeRecipients: []string{recipient}}
	secretEnv := sopstest.Encrypt(t, "db.env", []byte("PASSWORD=abc-123-very-secret\n"), age)
	tests := []struct {
		name  string
		files map[string][]byte
		dec   render.Decryptor
		want  string
	}{
		{
			name: "no decryption configured",
			files: map[string][]byte{
				"apps/kustomization.yaml": []byte("secretGenerator:\n- name: db\n  envs: [db.env]\n"),
				"apps/db.env":             secretEnv,
			},
			dec:  sops.Refuse("set spec.decryption"),
			want: "apps/db.env is SOPS-encrypted and no decryption is configured: set spec.decryption",
		},
		{
			name: "a ConfigMap from an encrypted file",
			files: map[string][]byte{
				"apps/kustomization.yaml": []byte("configMapGenerator:\n- name: db\n  envs: [db.env]\n"),
				"apps/db.env":             secretEnv,
			},
			dec:  d,
			want: "takes key 'PASSWORD' from the SOPS-encrypted apps/db.env; only Secrets may hold decrypted values",
		},
		{
			name: "an encrypted manifest of another kind",
			files: map[string][]byte{
				"apps/kustomization.yaml": []byte("resources: [cm.yaml]\n"),
				"apps/cm.yaml":            sopstest.Encrypt(t, "cm.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: abc-123-very-secret\n"), age),
			},
			dec:  d,
			want: "apps/cm.yaml: a SOPS-encrypted ConfigMap; only Secrets may be encrypted",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeSource(t, tt.files)
			objs, err := render.NewRenderer(0).Render(context.Background(), root, "k-"+tt.name, render.Options{Path: "apps", Decryptor: tt.dec})
			if err == nil {
				t.Fatalf("Render succeeded with %d objects", len(objs))
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "abc-123-very-secret") {
				t.Fatalf("the error leaks a decrypted value: %v", err)
			}
		})
	}
}

func TestFinishMasksDecryptedValues(t *testing.T) {
	d, recipient := ageDecryptor(t)
	enc := sopstest.Encrypt(t, "db.yaml", []byte(secretYAML), sopstest.Options{AgeRecipients: []string{recipient}})
	if _, err := d.Open("apps/db.yaml", enc); err != nil {
		t.Fatal(err)
	}
	err := d.Finish(nil, errors.New("apply Secret apps/db: invalid value \"hunter2-very-secret\" (aHVudGVyMi12ZXJ5LXNlY3JldA==)"))
	if err == nil {
		t.Fatal("Finish dropped the error")
	}
	if got, want := err.Error(), `apply Secret apps/db: invalid value "***" (***)`; got != want {
		t.Fatalf("Finish = %q, want %q (a whole encrypted manifest's kind and name are not secret)", got, want)
	}
}
