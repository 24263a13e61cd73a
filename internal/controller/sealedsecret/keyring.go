package sealedsecret

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssv1 "github.com/tether-gitops/tether/api/bitnami/v1alpha1"
	"github.com/tether-gitops/tether/internal/sealedsecrets"
)

// keysTTL is how long loaded keys are used before they are read again.
const keysTTL = 30 * time.Second

// Keyring reads the sealing keys of one namespace, at most every keysTTL,
// and serves what Bitnami's controller serves over HTTP with them: the
// newest key's certificate (/v1/cert.pem), whether a SealedSecret opens
// (/v1/verify) and a SealedSecret sealed again with the newest key
// (/v1/rotate). The Reconciler opens SealedSecrets with the same keys, so
// that what /v1/cert.pem gives is what the controller opens.
type Keyring struct {
	// Reader lists the key Secrets (not cached: Secrets are not watched).
	Reader client.Reader
	// Namespace holds the key Secrets (--sealed-secrets-namespace).
	Namespace string

	mu       sync.Mutex
	pairs    []sealedsecrets.KeyPair
	loadedAt time.Time
}

// keyPairs returns the key pairs, newest first, read at most every
// keysTTL; sealedsecrets.ErrNoKey (wrapped) while there is none.
func (k *Keyring) keyPairs(ctx context.Context) ([]sealedsecrets.KeyPair, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.pairs) > 0 && time.Since(k.loadedAt) < keysTTL {
		return k.pairs, nil
	}
	secrets, err := k.secrets(ctx)
	if err != nil {
		return nil, err
	}
	pairs, err := sealedsecrets.KeyPairs(secrets)
	if len(pairs) == 0 {
		if err == nil {
			err = sealedsecrets.ErrNoKey
		}
		return nil, fmt.Errorf("sealing keys in %s: %w", k.Namespace, err)
	}
	k.pairs, k.loadedAt = pairs, time.Now()
	return pairs, nil
}

// forget makes the next use read the keys again (after a new one is made).
func (k *Keyring) forget() {
	k.mu.Lock()
	k.pairs = nil
	k.mu.Unlock()
}

// secrets lists the active key Secrets of the namespace.
func (k *Keyring) secrets(ctx context.Context) ([]corev1.Secret, error) {
	var list corev1.SecretList
	if err := k.Reader.List(ctx, &list, client.InNamespace(k.Namespace)); err != nil {
		return nil, fmt.Errorf("list the sealing keys in %s: %w", k.Namespace, err)
	}
	var out []corev1.Secret
	for _, s := range list.Items {
		if sealedsecrets.IsActiveKey(&s, "") {
			out = append(out, s)
		}
	}
	return out, nil
}

// Certificate returns the PEM certificate of the newest key, as Bitnami's
// /v1/cert.pem serves it. It is public.
func (k *Keyring) Certificate(ctx context.Context) ([]byte, error) {
	pairs, err := k.keyPairs(ctx)
	if err != nil {
		return nil, err
	}
	return pairs[0].CertificatePEM, nil
}

// Verify returns nil when every sealed value of ss opens with the keys
// (sealedsecrets.Verify: templates are not run), and an error wrapping
// sealedsecrets.ErrCannotDecrypt when one does not.
func (k *Keyring) Verify(ctx context.Context, ss *ssv1.SealedSecret) error {
	pairs, err := k.keyPairs(ctx)
	if err != nil {
		return err
	}
	return sealedsecrets.Verify(ss, sealedsecrets.PrivateKeysOf(pairs))
}

// Rotate returns ss with every sealed value sealed again with the newest
// key, under the scope of ss's own annotations (sealedsecrets.Reseal).
func (k *Keyring) Rotate(ctx context.Context, ss *ssv1.SealedSecret) (*ssv1.SealedSecret, error) {
	pairs, err := k.keyPairs(ctx)
	if err != nil {
		return nil, err
	}
	return sealedsecrets.Reseal(ss, sealedsecrets.PrivateKeysOf(pairs), &pairs[0].Key.PublicKey)
}
