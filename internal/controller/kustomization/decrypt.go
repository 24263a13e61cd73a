package kustomization

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	"github.com/tether-gitops/tether/api/meta"
	"github.com/tether-gitops/tether/internal/sops"
)

// DecryptionProviderSOPS is the only spec.decryption.provider.
const DecryptionProviderSOPS = "sops"

// Decryptor returns the SOPS decryptor of obj's spec.decryption, with the
// private keys of its secretRef read with reader from obj's namespace.
// Without spec.decryption it returns one that refuses encrypted files,
// so that ciphertext is never applied. The controller and `tether build
// ks` both use it.
func Decryptor(ctx context.Context, reader client.Reader, obj *kustomizev1.Kustomization) (*sops.Decryptor, error) {
	d := obj.Spec.Decryption
	if d == nil {
		return sops.Refuse("set spec.decryption (provider: sops, secretRef: a Secret with the private key) on the Kustomization"), nil
	}
	if d.Provider != DecryptionProviderSOPS {
		return nil, &failure{reason: meta.BuildFailedReason, stalled: true,
			err: fmt.Errorf("spec.decryption.provider '%s' is not supported: use 'sops'", d.Provider)}
	}
	if d.SecretRef == nil || d.SecretRef.Name == "" {
		return nil, &failure{reason: meta.BuildFailedReason, stalled: true,
			err: fmt.Errorf("spec.decryption.secretRef is required: Tether decrypts with age or OpenPGP keys from a Secret, not with cloud key services")}
	}
	key := types.NamespacedName{Namespace: obj.Namespace, Name: d.SecretRef.Name}
	var s corev1.Secret
	if err := reader.Get(ctx, key, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fail(meta.BuildFailedReason, fmt.Errorf("decryption Secret '%s' not found", key))
		}
		return nil, fail(meta.BuildFailedReason, fmt.Errorf("read decryption Secret '%s': %w", key, err))
	}
	keys, err := sops.ParseKeys(key.String(), s.Data)
	if err != nil {
		return nil, &failure{reason: meta.BuildFailedReason, err: err}
	}
	return sops.New(keys), nil
}
