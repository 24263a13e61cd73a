package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
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

	ssv1 "github.com/tether-gitops/tether/api/bitnami/v1alpha1"
	"github.com/tether-gitops/tether/internal/sealedsecrets"
	"github.com/tether-gitops/tether/internal/testenv"
)

// TestSealedSecrets: Tether makes a sealing key in kube-system as
// Bitnami's controller does; a Secret sealed with its certificate opens
// into a Secret the SealedSecret owns; seed 10's placeholder ciphertext
// gives Synced=False "cannot decrypt" and no Secret; a strict-scope value
// copied under another name does not open; after a new key is added the
// values sealed with the old one still open.
func TestSealedSecrets(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	tether := startTether(t)
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
		for _, n := range []string{"db-creds", "copied", "database-credentials", "after-renewal"} {
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

	t.Run("after a new key, old values still open and new ones use it", func(t *testing.T) {
		newKey, err := sealedsecrets.GenerateKeySecret(sealedsecrets.KeyOptions{Namespace: "kube-system", Bits: 2048, Now: time.Now().Add(time.Minute)})
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

	t.Run("tether seal --fetch-cert: kubeseal's job, from a Secret on stdin", func(t *testing.T) {
		bin, err := testenv.TetherBinary()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "seal", "--fetch-cert")
		cmd.Env = append(os.Environ(), "KUBECONFIG="+cluster(t).KubeconfigPath)
		cmd.Stdin = strings.NewReader("apiVersion: v1\nkind: Secret\nmetadata: {name: from-cli, namespace: production}\nstringData: {token: cli-s3cr3t}\n")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("tether seal: %v", err)
		}
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

	if strings.Contains(tether.Logs.String(), "s3cr3t-db-pass") || strings.Contains(tether.Logs.String(), "rotated\"") {
		t.Error("a secret value is in tether's log")
	}
}
