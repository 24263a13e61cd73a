package sealedsecrets

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/tether-gitops/tether/api/bitnami/v1alpha1"
	"github.com/tether-gitops/tether/internal/testenv"
)

// TestKubesealCodeOpens: a Secret sealed by Bitnami's own kubeseal code
// (kubeseal.ParseKey and kubeseal.Seal of github.com/bitnami/sealed-secrets
// v0.40.0, built from hack/kubeseal-vector) opens with Unseal into the
// Secret that went in, for every scope, and with the newest of two keys.
func TestKubesealCodeOpens(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Bitnami's kubeseal code (about a minute when not cached)")
	}
	bin, err := testenv.KubesealVectorBinary()
	if err != nil {
		t.Fatal(err)
	}
	secrets, keys := keyPairs(t)
	cert := filepath.Join(t.TempDir(), "cert.pem")
	if err := os.WriteFile(cert, secrets[1].Data[corev1.TLSCertKey], 0o600); err != nil {
		t.Fatal(err)
	}
	const secret = `apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: prod
  labels: {app: db}
type: kubernetes.io/basic-auth
data:
  password: aHVudGVyMg==
stringData:
  username: admin
`
	for _, scope := range []Scope{StrictScope, NamespaceWideScope, ClusterWideScope} {
		t.Run(scope.String(), func(t *testing.T) {
			cmd := exec.Command(bin, "--cert", cert, "--scope", scope.String())
			cmd.Stdin = strings.NewReader(secret)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("kubeseal-vector: %v\n%s", err, stderr.String())
			}
			var ss v1alpha1.SealedSecret
			if err := yaml.Unmarshal(out, &ss); err != nil {
				t.Fatalf("kubeseal's output: %v\n%s", err, out)
			}
			if ScopeOf(ss.Annotations) != scope || strings.Contains(string(out), "hunter2") {
				t.Fatalf("kubeseal's output is not what was asked:\n%s", out)
			}
			got, err := Unseal(&ss, keys[:2], UnsealOptions{})
			if err != nil {
				t.Fatalf("kubeseal's SealedSecret does not open: %v", err)
			}
			if string(got.Data["password"]) != "hunter2" || string(got.Data["username"]) != "admin" ||
				got.Type != corev1.SecretTypeBasicAuth || got.Labels["app"] != "db" {
				t.Errorf("opened into %s %v %q", got.Type, got.Labels, got.Data)
			}
			if _, err := Unseal(&ss, keys[:1], UnsealOptions{}); err == nil {
				t.Error("it opens with a key it was not sealed for")
			}
		})
	}
}
