package application

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/project"
	"github.com/tether-gitops/tether/internal/sops"
)

// decryptor returns the SOPS decryptor of app's project: with the keys of
// the Secret its project names (project.DecryptionSecretAnnotation), or
// one that refuses encrypted files, so that ciphertext is never applied.
func (r *Reconciler) decryptor(ctx context.Context, app *argov1.Application) (*sops.Decryptor, error) {
	proj, err := r.project(ctx, app.Spec.Project)
	if err != nil {
		return nil, err
	}
	if proj.DecryptionSecret == "" {
		return sops.Refuse(fmt.Sprintf("annotate AppProject '%s' with %s: <Secret with the private key>", proj.Name, project.DecryptionSecretAnnotation)), nil
	}
	key := client.ObjectKey{Namespace: r.ControlPlaneNamespace, Name: proj.DecryptionSecret}
	var s corev1.Secret
	if err := r.APIReader.Get(ctx, key, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("decryption Secret '%s' of project '%s' not found", key, proj.Name)
		}
		return nil, fmt.Errorf("read decryption Secret '%s' of project '%s': %w", key, proj.Name, err)
	}
	keys, err := sops.ParseKeys(key.String(), s.Data)
	if err != nil {
		return nil, err
	}
	return sops.New(keys), nil
}
