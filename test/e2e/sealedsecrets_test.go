package e2e

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	ssv1 "github.com/tether-gitops/tether/api/bitnami/v1alpha1"
	"github.com/tether-gitops/tether/internal/sealedsecrets"
	"github.com/tether-gitops/tether/internal/testenv"
)

// TestSealedSecrets: Tether makes a sealing key in kube-system as
// Bitnami's controller does; a Secret sealed with its certificate opens
// into a Secret the SealedSecret owns, and so does one sealed by Bitnami's
// own kubeseal code with the certificate of the API server's /v1/cert.pem
// (no login); seed 10's placeholder ciphertext gives Synced=False "cannot
// decrypt" and no Secret; a strict-scope value copied under another name
// does not open; /v1/verify and /v1/rotate answer logged-in callers with
// the right only, and rotate keeps a strict value strict whatever its
// template claims (CVE-2026-22728); after a new key is added the values
// sealed with the old one still open, and `tether seal --re-encrypt` seals
// them with the new one.
func TestSealedSecrets(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	apiFixture(t, c) // carol: role:readonly
	tether := startTether(t)
	api, admin := adminSession(t, c, tether)
	carol := api.login("carol", "carol-password")
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "production"}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	var cert []byte
	eventually(t, 2*time.Minute, "a sealing key in kube-system", func(ctx context.Context) error {
		var list corev1.SecretList
		if err := c.List(ctx, &list, client.InNamespace("kube-system"), client.MatchingLabels{sealedsecrets.KeyLabel: sealedsecrets.KeyLabelActive}); err != nil {
			return err
		}
		if len(list.Items) == 0 {
			return fmt.Errorf("none yet")
		}
		cert = list.Items[0].Data[corev1.TLSCertKey]
		return nil
	})
	pub, err := sealedsecrets.PublicKeyFromCertPEM(cert, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	seal := func(ns, name, value string) string {
		out, err := sealedsecrets.Seal(pub, sealedsecrets.StrictScope, ns, name, []byte(value))
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(out)
	}
	sealedObj := func(ns, name, password string) *ssv1.SealedSecret {
		return &ssv1.SealedSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: ssv1.SealedSecretSpec{EncryptedData: map[string]string{"password": password},
				Template: ssv1.SecretTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "db"}}, Type: string(corev1.SecretTypeOpaque)}}}
	}
	t.Cleanup(func() {
		for _, n := range []string{"db-creds", "copied", "database-credentials", "after-renewal", "from-kubeseal", "from-url", "stolen"} {
			_ = c.Delete(context.Background(), &ssv1.SealedSecret{ObjectMeta: metav1.ObjectMeta{Namespace: "production", Name: n}})
		}
	})
	waitSynced := func(t *testing.T, name, status, part string) *ssv1.SealedSecret {
		t.Helper()
		var ss ssv1.SealedSecret
		eventually(t, 60*time.Second, name+" Synced="+status, func(ctx context.Context) error {
			if err := c.Get(ctx, types.NamespacedName{Namespace: "production", Name: name}, &ss); err != nil {
				return err
			}
			if ss.Status == nil {
				return fmt.Errorf("no status yet")
			}
			for _, cond := range ss.Status.Conditions {
				if cond.Type == ssv1.SealedSecretSynced && cond.Status == status && strings.Contains(cond.Message, part) {
					return nil
				}
			}
			return fmt.Errorf("conditions %+v", ss.Status.Conditions)
		})
		return &ss
	}
	secretOf := func(name string) (*corev1.Secret, error) {
		var s corev1.Secret
		err := c.Get(ctx, types.NamespacedName{Namespace: "production", Name: name}, &s)
		return &s, err
	}

	t.Run("a value sealed with the cluster's certificate opens into an owned Secret", func(t *testing.T) {
		if err := c.Create(ctx, sealedObj("production", "db-creds", seal("production", "db-creds", "s3cr3t-db-pass"))); err != nil {
			t.Fatal(err)
		}
		ss := waitSynced(t, "db-creds", "True", "")
		s, err := secretOf("db-creds")
		if err != nil {
			t.Fatal(err)
		}
		if string(s.Data["password"]) != "s3cr3t-db-pass" || s.Labels["app"] != "db" || !metav1.IsControlledBy(s, ss) {
			t.Errorf("Secret data %q labels %v owners %v", s.Data["password"], s.Labels, s.OwnerReferences)
		}
	})

	t.Run("/v1/cert.pem without login; Bitnami's kubeseal code and tether seal --cert URL seal with it", func(t *testing.T) {
		status, body, header := api.do("GET", "/v1/cert.pem", "", nil)
		if status != http.StatusOK || header.Get("Content-Type") != "application/x-pem-file" || !bytes.Equal(bytes.TrimSpace(body), bytes.TrimSpace(cert)) {
			t.Fatalf("GET /v1/cert.pem: %d %s\n%s", status, header.Get("Content-Type"), body)
		}
		certFile := filepath.Join(t.TempDir(), "cert.pem")
		if err := os.WriteFile(certFile, body, 0o600); err != nil {
			t.Fatal(err)
		}
		kubeseal, err := testenv.KubesealVectorBinary()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(kubeseal, "--cert", certFile)
		cmd.Stdin = strings.NewReader("apiVersion: v1\nkind: Secret\nmetadata: {name: from-kubeseal, namespace: production}\nstringData: {password: kubeseal-s3cr3t}\n")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("kubeseal-vector: %v", err)
		}
		applyYAML(t, string(out))
		waitSynced(t, "from-kubeseal", "True", "")
		if s, err := secretOf("from-kubeseal"); err != nil || string(s.Data["password"]) != "kubeseal-s3cr3t" {
			t.Errorf("Secret from-kubeseal: %v (err %v)", s.Data, err)
		}

		out = runSeal(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: from-url, namespace: production}\nstringData: {token: url-s3cr3t}\n",
			"--cert", api.base+"/v1/cert.pem", "--insecure")
		applyYAML(t, string(out))
		waitSynced(t, "from-url", "True", "")
		if s, err := secretOf("from-url"); err != nil || string(s.Data["token"]) != "url-s3cr3t" {
			t.Errorf("Secret from-url: %v (err %v)", s.Data, err)
		}
	})

	t.Run("/v1/verify and /v1/rotate: logged in, with the right; 409 when a value does not open", func(t *testing.T) {
		ss := liveSealed(t, c, "db-creds")
		for _, tc := range []struct {
			who, token, path string
			ss               *ssv1.SealedSecret
			want             int
		}{
			{"admin", admin, "/v1/verify", ss, http.StatusOK},
			{"carol (role:readonly)", carol, "/v1/verify", ss, http.StatusOK},
			{"no one", "", "/v1/verify", ss, http.StatusUnauthorized},
			{"admin, moved to another name", admin, "/v1/verify", renamed(ss, "copied"), http.StatusConflict},
			{"carol (role:readonly)", carol, "/v1/rotate", ss, http.StatusForbidden},
			{"no one", "", "/v1/rotate", ss, http.StatusUnauthorized},
			{"admin, moved to another name", admin, "/v1/rotate", renamed(ss, "copied"), http.StatusConflict},
			{"admin", admin, "/v1/rotate", ss, http.StatusOK},
		} {
			status, body, _ := api.do("POST", tc.path, tc.token, tc.ss)
			if status != tc.want {
				t.Errorf("%s: POST %s %s: %d %s, want %d", tc.who, tc.path, tc.ss.Name, status, body, tc.want)
			}
			if strings.Contains(string(body), "s3cr3t") {
				t.Errorf("%s: POST %s answered a value: %s", tc.who, tc.path, body)
			}
		}
	})

	t.Run("CVE-2026-22728: rotate keeps a strict value strict whatever its template says", func(t *testing.T) {
		ss := liveSealed(t, c, "db-creds")
		ss.Spec.Template.Annotations = map[string]string{ssv1.AnnotationClusterWide: "true"}
		var rotated ssv1.SealedSecret
		if err := json.Unmarshal(api.expect("POST", "/v1/rotate", admin, ss, http.StatusOK), &rotated); err != nil {
			t.Fatal(err)
		}
		if scope := sealedsecrets.ScopeOf(rotated.Annotations); scope != sealedsecrets.StrictScope {
			t.Fatalf("rotate answered a %s value", scope)
		}
		// The attacker's next step: the value under a name of theirs,
		// claiming cluster-wide on the object. It must not open.
		stolen := renamed(&rotated, "stolen")
		stolen.Annotations = sealedsecrets.ScopeAnnotations(stolen.Annotations, sealedsecrets.ClusterWideScope)
		if err := c.Create(ctx, stolen); err != nil {
			t.Fatal(err)
		}
		waitSynced(t, "stolen", "False", "cannot decrypt")
		if _, err := secretOf("stolen"); !apierrors.IsNotFound(err) {
			t.Errorf("the stolen value opened: %v", err)
		}
	})

	t.Run("seed 10's placeholder ciphertext: Synced=False, cannot decrypt, no Secret", func(t *testing.T) {
		for _, o := range seedObjects(t, filepath.Join(seedDir, "10-sealed-secret.yaml")) {
			checkAppliedAsWritten(t, newApplier(t), o)
		}
		waitSynced(t, "database-credentials", "False", "cannot decrypt")
		if _, err := secretOf("database-credentials"); !apierrors.IsNotFound(err) {
			t.Errorf("a Secret exists for an unopenable SealedSecret: %v", err)
		}
	})

	t.Run("a strict-scope value under another name does not open", func(t *testing.T) {
		if err := c.Create(ctx, sealedObj("production", "copied", seal("production", "db-creds", "s3cr3t-db-pass"))); err != nil {
			t.Fatal(err)
		}
		waitSynced(t, "copied", "False", "cannot decrypt")
		if _, err := secretOf("copied"); !apierrors.IsNotFound(err) {
			t.Errorf("the copied value opened: %v", err)
		}
	})

	var newKey *corev1.Secret
	t.Run("after a new key, old values still open and new ones use it", func(t *testing.T) {
		var err error
		newKey, err = sealedsecrets.GenerateKeySecret(sealedsecrets.KeyOptions{Namespace: "kube-system", Bits: 2048, Now: time.Now().Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Create(ctx, newKey); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Delete(context.Background(), newKey) })
		newPub, err := sealedsecrets.PublicKeyFromCertPEM(newKey.Data[corev1.TLSCertKey], time.Now().Add(2*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		out, err := sealedsecrets.Seal(newPub, sealedsecrets.StrictScope, "production", "after-renewal", []byte("rotated"))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(31 * time.Second) // the controller reads keys every 30 s
		if err := c.Create(ctx, sealedObj("production", "after-renewal", base64.StdEncoding.EncodeToString(out))); err != nil {
			t.Fatal(err)
		}
		waitSynced(t, "after-renewal", "True", "")
		// The old one, changed, opens again with the old key.
		var old ssv1.SealedSecret
		if err := c.Get(ctx, types.NamespacedName{Namespace: "production", Name: "db-creds"}, &old); err != nil {
			t.Fatal(err)
		}
		old.Spec.Template.Labels = map[string]string{"app": "db", "rev": "2"}
		if err := c.Update(ctx, &old); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, "db-creds opened again", func(ctx context.Context) error {
			s, err := secretOf("db-creds")
			if err != nil {
				return err
			}
			if s.Labels["rev"] != "2" || string(s.Data["password"]) != "s3cr3t-db-pass" {
				return fmt.Errorf("labels %v", s.Labels)
			}
			return nil
		})
	})

	t.Run("after a new key, tether seal --re-encrypt seals with it and the value still opens", func(t *testing.T) {
		if newKey == nil {
			t.Skip("no new key")
		}
		eventually(t, 45*time.Second, "/v1/cert.pem serves the new key", func(context.Context) error {
			if _, body, _ := api.do("GET", "/v1/cert.pem", "", nil); !bytes.Equal(bytes.TrimSpace(body), bytes.TrimSpace(newKey.Data[corev1.TLSCertKey])) {
				return fmt.Errorf("still another certificate")
			}
			return nil
		})
		newPriv, _, err := sealedsecrets.ReadKeySecret(newKey)
		if err != nil {
			t.Fatal(err)
		}
		live := liveSealed(t, c, "db-creds")
		in, err := yaml.Marshal(live)
		if err != nil {
			t.Fatal(err)
		}
		login := []string{"--server", api.base, "--auth-token", admin, "--insecure"}
		out := runSeal(t, string(in), append([]string{"--re-encrypt"}, login...)...)
		var rotated ssv1.SealedSecret
		if err := yaml.Unmarshal(out, &rotated); err != nil {
			t.Fatal(err)
		}
		raw, err := base64.StdEncoding.DecodeString(rotated.Spec.EncryptedData["password"])
		if err != nil {
			t.Fatal(err)
		}
		if v, err := sealedsecrets.Open([]*rsa.PrivateKey{newPriv}, sealedsecrets.StrictScope, "production", "db-creds", raw); err != nil || string(v) != "s3cr3t-db-pass" {
			t.Fatalf("the re-encrypted value is not sealed with the new key: %v", err)
		}
		runSeal(t, string(out), append([]string{"--validate"}, login...)...)
		live.Spec.EncryptedData = rotated.Spec.EncryptedData
		if err := c.Update(ctx, live); err != nil {
			t.Fatal(err)
		}
		eventually(t, 60*time.Second, "db-creds opened from the re-encrypted value", func(ctx context.Context) error {
			ss := liveSealed(t, c, "db-creds")
			if ss.Status == nil || ss.Status.ObservedGeneration != ss.Generation {
				return fmt.Errorf("generation %d not observed yet", ss.Generation)
			}
			for _, cond := range ss.Status.Conditions {
				if cond.Type == ssv1.SealedSecretSynced && cond.Status != "True" {
					return fmt.Errorf("Synced=%s %s", cond.Status, cond.Message)
				}
			}
			s, err := secretOf("db-creds")
			if err != nil || string(s.Data["password"]) != "s3cr3t-db-pass" {
				return fmt.Errorf("Secret db-creds: %v", err)
			}
			return nil
		})
	})

	t.Run("tether seal --fetch-cert: kubeseal's job, from a Secret on stdin", func(t *testing.T) {
		out := runSeal(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: from-cli, namespace: production}\nstringData: {token: cli-s3cr3t}\n", "--fetch-cert")
		if strings.Contains(string(out), "cli-s3cr3t") {
			t.Fatalf("the SealedSecret holds the value in clear:\n%s", out)
		}
		applyYAML(t, string(out))
		t.Cleanup(func() {
			_ = c.Delete(context.Background(), &ssv1.SealedSecret{ObjectMeta: metav1.ObjectMeta{Namespace: "production", Name: "from-cli"}})
		})
		waitSynced(t, "from-cli", "True", "")
		if s, err := secretOf("from-cli"); err != nil || string(s.Data["token"]) != "cli-s3cr3t" {
			t.Errorf("Secret from-cli: %v (err %v)", s.Data, err)
		}
	})

	for _, v := range []string{"s3cr3t-db-pass", "rotated\"", "kubeseal-s3cr3t", "url-s3cr3t", "cli-s3cr3t"} {
		if strings.Contains(tether.Logs.String(), v) {
			t.Errorf("a secret value (%s) is in tether's log", v)
		}
	}
}

// runSeal runs `tether seal args...` with stdin and the cluster's
// kubeconfig, and returns its standard output.
func runSeal(t *testing.T, stdin string, args ...string) []byte {
	t.Helper()
	bin, err := testenv.TetherBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"seal", "--config", filepath.Join(t.TempDir(), "config")}, args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+cluster(t).KubeconfigPath)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tether seal %s: %v\n%s", strings.Join(args[:1], " "), err, stderr.String())
	}
	return out
}

// liveSealed reads the SealedSecret name of production, with its kind.
func liveSealed(t *testing.T, c client.Client, name string) *ssv1.SealedSecret {
	t.Helper()
	var ss ssv1.SealedSecret
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: "production", Name: name}, &ss); err != nil {
		t.Fatal(err)
	}
	ss.APIVersion, ss.Kind = ssv1.GroupVersion.String(), "SealedSecret"
	return &ss
}

// renamed is ss under another name, as a new object.
func renamed(ss *ssv1.SealedSecret, name string) *ssv1.SealedSecret {
	out := ss.DeepCopy()
	out.ObjectMeta = metav1.ObjectMeta{Namespace: ss.Namespace, Name: name, Labels: out.Labels, Annotations: out.Annotations}
	out.Status = nil
	return out
}
