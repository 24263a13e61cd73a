package seal

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	ssv1 "github.com/tether-gitops/tether/api/bitnami/v1alpha1"
	"github.com/tether-gitops/tether/internal/sealedsecrets"
)

const secretYAML = `apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: production
  labels: {app: db}
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"data":{"password":"c2VjcmV0"}}'
type: Opaque
data:
  password: czNjcjN0
stringData:
  user: admin
`

// TestSealThenOpen: what `tether seal --cert` writes opens, with the
// controller's code, into the Secret that went in, and holds no value in
// clear; --raw seals one value.
func TestSealThenOpen(t *testing.T) {
	keySecret, err := sealedsecrets.GenerateKeySecret(sealedsecrets.KeyOptions{Namespace: "kube-system", Bits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := sealedsecrets.ReadKeySecret(keySecret)
	if err != nil {
		t.Fatal(err)
	}
	certFile := filepath.Join(t.TempDir(), "cert.pem")
	if err := os.WriteFile(certFile, keySecret.Data[corev1.TLSCertKey], 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Run(context.Background(), &Options{CertFile: certFile, Scope: "strict"}, nil, strings.NewReader(secretYAML), &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "czNjcjN0") || strings.Contains(out.String(), "s3cr3t") || strings.Contains(out.String(), "c2VjcmV0") {
		t.Fatalf("the output holds a value in clear:\n%s", out.String())
	}
	var ss ssv1.SealedSecret
	if err := yaml.Unmarshal(out.Bytes(), &ss); err != nil {
		t.Fatal(err)
	}
	if _, err := sealedsecrets.Unseal(&ss, nil, sealedsecrets.UnsealOptions{}); err == nil {
		t.Fatal("opened without a key")
	}
	secret, err := sealedsecrets.Unseal(&ss, []*rsa.PrivateKey{key}, sealedsecrets.UnsealOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(secret.Data["password"]) != "s3cr3t" || string(secret.Data["user"]) != "admin" || secret.Labels["app"] != "db" ||
		secret.Namespace != "production" || secret.Name != "db" {
		t.Errorf("opened %s/%s %v labels %v", secret.Namespace, secret.Name, secret.Data, secret.Labels)
	}
	if _, ok := ss.Spec.Template.Annotations[corev1.LastAppliedConfigAnnotation]; ok {
		t.Error("kubectl's last-applied annotation (it holds the values) was kept in the template")
	}

	out.Reset()
	if err := Run(context.Background(), &Options{CertFile: certFile, Scope: "namespace-wide", Raw: true, Namespace: "production"}, nil,
		strings.NewReader("just-this"), &out); err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := sealedsecrets.Open([]*rsa.PrivateKey{key}, sealedsecrets.NamespaceWideScope, "production", "any-name", raw); err != nil || string(v) != "just-this" {
		t.Errorf("--raw value opens as %q, %v", v, err)
	}

	for _, tt := range []struct {
		name string
		o    Options
		in   string
		want string
	}{
		{"no certificate", Options{Scope: "strict"}, secretYAML, "--cert"},
		{"a bad scope", Options{CertFile: certFile, Scope: "galaxy"}, secretYAML, "--scope"},
		{"not a Secret", Options{CertFile: certFile, Scope: "strict"}, "kind: ConfigMap\nmetadata: {name: x, namespace: y}\n", "ConfigMap"},
		{"no namespace", Options{CertFile: certFile, Scope: "strict"}, "kind: Secret\nmetadata: {name: x}\n", "namespace"},
		{"raw without a name", Options{CertFile: certFile, Scope: "strict", Raw: true, Namespace: "p"}, "v", "--name"},
	} {
		if err := Run(context.Background(), &tt.o, nil, strings.NewReader(tt.in), &out); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error about %q", tt.name, err, tt.want)
		}
	}
}
