package settings

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"golang.org/x/crypto/bcrypt"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// Keys of argocd-secret and argocd-cm that the bootstrap reads or writes.
const (
	// KeySecretKey signs the server's tokens.
	KeySecretKey = "server.secretkey"
	// KeyAdminPassword is the admin's bcrypt password hash.
	KeyAdminPassword = "admin.password"
	// KeyAdminPasswordMtime is when the admin password last changed
	// (RFC 3339); tokens issued before it are refused.
	KeyAdminPasswordMtime = "admin.passwordMtime"
	// KeyAdminEnabled in argocd-cm disables the admin account when "false".
	KeyAdminEnabled = "admin.enabled"
)

// Bootstrapped says what Bootstrap did.
type Bootstrapped struct {
	// CreatedSecret is true when argocd-secret did not exist.
	CreatedSecret bool
	// GeneratedSigningKey is true when server.secretkey was made.
	GeneratedSigningKey bool
	// GeneratedAdminPassword is true when an admin password was made and
	// written to argocd-initial-admin-secret.
	GeneratedAdminPassword bool
}

// Bootstrap makes what a first start needs, the way Argo CD's server does:
// a random token signing key in argocd-secret, and, unless argocd-cm
// disables the admin, a random admin password stored as a bcrypt hash in
// argocd-secret and in clear in argocd-initial-admin-secret. What exists is
// never changed. Replicas starting together converge: writes are guarded
// by resourceVersion and retried on conflict.
func Bootstrap(ctx context.Context, client kubernetes.Interface, namespace string) (Bootstrapped, error) {
	var done Bootstrapped
	adminEnabled := true
	cm, err := client.CoreV1().ConfigMaps(namespace).Get(ctx, ConfigMapName, metav1.GetOptions{})
	switch {
	case err == nil:
		adminEnabled = cm.Data[KeyAdminEnabled] != "false"
	case !apierrors.IsNotFound(err):
		return done, fmt.Errorf("read %s/%s: %w", namespace, ConfigMapName, err)
	}
	var password string
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		done = Bootstrapped{}
		password = ""
		secrets := client.CoreV1().Secrets(namespace)
		secret, err := secrets.Get(ctx, SecretName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			secret = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: SecretName, Namespace: namespace,
				Labels: map[string]string{"app.kubernetes.io/name": SecretName, "app.kubernetes.io/part-of": "argocd"}}}
			done.CreatedSecret = true
		} else if err != nil {
			return fmt.Errorf("read %s/%s: %w", namespace, SecretName, err)
		}
		if secret.Data == nil {
			secret.Data = map[string][]byte{}
		}
		if len(secret.Data[KeySecretKey]) == 0 {
			key := make([]byte, 32)
			if _, err := rand.Read(key); err != nil {
				return err
			}
			secret.Data[KeySecretKey] = []byte(base64.StdEncoding.EncodeToString(key))
			done.GeneratedSigningKey = true
		}
		if adminEnabled && len(secret.Data[KeyAdminPassword]) == 0 {
			password = randomPassword()
			hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
			if err != nil {
				return fmt.Errorf("hash the admin password: %w", err)
			}
			secret.Data[KeyAdminPassword] = hash
			secret.Data[KeyAdminPasswordMtime] = []byte(time.Now().UTC().Format(time.RFC3339))
			done.GeneratedAdminPassword = true
		}
		switch {
		case done.CreatedSecret:
			_, err = secrets.Create(ctx, secret, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				// Another replica made it first: read theirs.
				return apierrors.NewConflict(corev1.Resource("secrets"), SecretName, err)
			}
		case done.GeneratedSigningKey || done.GeneratedAdminPassword:
			_, err = secrets.Update(ctx, secret, metav1.UpdateOptions{})
		}
		if err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return done, fmt.Errorf("bootstrap %s/%s: %w", namespace, SecretName, err)
	}
	if password != "" {
		if err := writeInitialAdmin(ctx, client, namespace, password); err != nil {
			return done, err
		}
	}
	return done, nil
}

// writeInitialAdmin stores the generated admin password in clear in
// argocd-initial-admin-secret, replacing an older one.
func writeInitialAdmin(ctx context.Context, client kubernetes.Interface, namespace, password string) error {
	secrets := client.CoreV1().Secrets(namespace)
	initial := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: InitialAdminSecretName, Namespace: namespace},
		Data:       map[string][]byte{"password": []byte(password)},
	}
	_, err := secrets.Create(ctx, initial, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
			old, err := secrets.Get(ctx, InitialAdminSecretName, metav1.GetOptions{})
			if err != nil {
				return err
			}
			old.Data = initial.Data
			_, err = secrets.Update(ctx, old, metav1.UpdateOptions{})
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("write %s/%s: %w", namespace, InitialAdminSecretName, err)
	}
	return nil
}

// randomPassword returns 16 random characters of base32's alphabet (80
// bits).
func randomPassword() string {
	return rand.Text()[:16]
}
