package seal

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	ssv1 "github.com/tether-gitops/tether/api/bitnami/v1alpha1"
	"github.com/tether-gitops/tether/internal/cli/connect"
	"github.com/tether-gitops/tether/internal/sealedsecrets"
)

// TestReEncryptAndCertURL: --cert takes /v1/cert.pem's URL; --re-encrypt
// posts the SealedSecret to /v1/rotate with the login token and writes
// the answer; a refusal says which right is missing. The server here is a
// stand-in speaking the API's shapes (the e2e test uses the real one).
func TestReEncryptAndCertURL(t *testing.T) {
	var keys []*rsa.PrivateKey
	var certs [][]byte
	for range 2 {
		s, err := sealedsecrets.GenerateKeySecret(sealedsecrets.KeyOptions{Namespace: "kube-system", Bits: 2048})
		if err != nil {
			t.Fatal(err)
		}
		key, _, err := sealedsecrets.ReadKeySecret(s)
		if err != nil {
			t.Fatal(err)
		}
		keys, certs = append(keys, key), append(certs, s.Data[corev1.TLSCertKey])
	}
	oldKey, newKey := keys[0], keys[1]
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/cert.pem", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(certs[0]) })
	mux.HandleFunc("POST /v1/rotate", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"error":"permission denied","code":7,"message":"permission denied"}`)
			return
		}
		body, _ := io.ReadAll(r.Body)
		ss, err := sealedsecrets.ParseSealedSecret(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out, err := sealedsecrets.Reseal(ss, []*rsa.PrivateKey{newKey, oldKey}, &newKey.PublicKey)
		if err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		_ = json.NewEncoder(w).Encode(out)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	in := filepath.Join(dir, "secret.yaml")
	if err := os.WriteFile(in, []byte(secretYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	sealedFile := filepath.Join(dir, "sealed.yaml")
	if err := Run(context.Background(), &Options{CertFile: srv.URL + "/v1/cert.pem", Scope: "strict", InFile: in, OutFile: sealedFile}, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	sealed, err := os.ReadFile(sealedFile)
	if err != nil {
		t.Fatal(err)
	}
	conn := &connect.Options{ConfigPath: filepath.Join(dir, "none"), Server: srv.URL, AuthToken: "tok"}
	var out bytes.Buffer
	if err := Run(context.Background(), &Options{ReEncrypt: true}, conn, bytes.NewReader(sealed), &out); err != nil {
		t.Fatal(err)
	}
	var ss ssv1.SealedSecret
	if err := yaml.Unmarshal(out.Bytes(), &ss); err != nil {
		t.Fatal(err)
	}
	secret, err := sealedsecrets.Unseal(&ss, []*rsa.PrivateKey{newKey}, sealedsecrets.UnsealOptions{})
	if err != nil || string(secret.Data["password"]) != "s3cr3t" {
		t.Fatalf("the re-encrypted SealedSecret opens with the new key into %q, %v", secret.Data, err)
	}
	if _, err := sealedsecrets.Unseal(&ss, []*rsa.PrivateKey{oldKey}, sealedsecrets.UnsealOptions{}); err == nil {
		t.Error("the re-encrypted SealedSecret still opens with the old key")
	}

	conn.AuthToken = "other"
	err = Run(context.Background(), &Options{ReEncrypt: true}, conn, bytes.NewReader(sealed), &out)
	if err == nil || !strings.Contains(err.Error(), `"sealedsecrets, rotate, production/db"`) {
		t.Errorf("a refused re-encrypt: %v", err)
	}
	for _, tt := range []struct {
		name string
		o    Options
		conn *connect.Options
		in   string
		want string
	}{
		{"a Secret to re-encrypt", Options{ReEncrypt: true}, conn, secretYAML, "not bitnami.com/v1alpha1 SealedSecret"},
		{"no server", Options{ReEncrypt: true}, nil, string(sealed), "tether login"},
		{"both", Options{ReEncrypt: true, Validate: true}, conn, string(sealed), "not both"},
	} {
		if err := Run(context.Background(), &tt.o, tt.conn, strings.NewReader(tt.in), &out); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error about %q", tt.name, err, tt.want)
		}
	}
}
