package ocirepository

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/internal/connsecret"
	"github.com/tether-gitops/tether/internal/source/oci"
)

// options gathers what the registry requests need from the spec and its
// Secrets: credentials (spec.secretRef, else the imagePullSecrets of
// spec.serviceAccountName), TLS (spec.certSecretRef), spec.insecure, the
// proxy (spec.proxySecretRef) and spec.timeout. A missing or malformed
// Secret fails with AuthenticationFailed and is retried, so fixing the
// Secret is enough.
func (r *Reconciler) options(ctx context.Context, obj *sourcev1.OCIRepository) (oci.Options, error) {
	opts := oci.Options{Insecure: obj.Spec.Insecure, Timeout: obj.GetTimeout(), MaxLayerSize: r.MaxArtifactSize}
	fail := func(err error) error {
		return &failure{reason: sourcev1.AuthenticationFailedReason, condition: sourcev1.FetchFailedCondition, err: err}
	}
	read := func(field, name string) (*corev1.Secret, error) {
		var s corev1.Secret
		key := types.NamespacedName{Namespace: obj.Namespace, Name: name}
		if err := r.APIReader.Get(ctx, key, &s); err != nil {
			return nil, fail(fmt.Errorf("%s: failed to get secret '%s': %w", field, key, err))
		}
		return &s, nil
	}
	if ref := obj.Spec.SecretRef; ref != nil {
		s, err := read("spec.secretRef", ref.Name)
		if err != nil {
			return opts, err
		}
		data, ok := s.Data[corev1.DockerConfigJsonKey]
		if !ok {
			return opts, fail(fmt.Errorf("spec.secretRef: secret '%s/%s' has no '%s' key: create it with kubectl create secret docker-registry",
				obj.Namespace, ref.Name, corev1.DockerConfigJsonKey))
		}
		opts.DockerConfigJSON = data
	}
	if sa := obj.Spec.ServiceAccountName; sa != "" && opts.DockerConfigJSON == nil {
		data, err := r.pullSecret(ctx, obj.Namespace, sa)
		if err != nil {
			return opts, fail(err)
		}
		opts.DockerConfigJSON = data
	}
	if ref := obj.Spec.CertSecretRef; ref != nil {
		s, err := read("spec.certSecretRef", ref.Name)
		if err != nil {
			return opts, err
		}
		if opts.TLS, err = connsecret.TLS(s.Data, "ca.crt", corev1.TLSCertKey, corev1.TLSPrivateKeyKey); err != nil {
			return opts, fail(fmt.Errorf("spec.certSecretRef: secret '%s/%s': %w", obj.Namespace, ref.Name, err))
		}
	}
	if ref := obj.Spec.ProxySecretRef; ref != nil {
		s, err := read("spec.proxySecretRef", ref.Name)
		if err != nil {
			return opts, err
		}
		if opts.Proxy, err = connsecret.Proxy(s.Data); err != nil {
			return opts, fail(fmt.Errorf("spec.proxySecretRef: secret '%s/%s': %w", obj.Namespace, ref.Name, err))
		}
	}
	return opts, nil
}

// pullSecret returns the .dockerconfigjson of the first image pull
// secret of the ServiceAccount that has one, or nil.
func (r *Reconciler) pullSecret(ctx context.Context, namespace, name string) ([]byte, error) {
	var sa corev1.ServiceAccount
	if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, &sa); err != nil {
		return nil, fmt.Errorf("spec.serviceAccountName: failed to get ServiceAccount '%s/%s': %w", namespace, name, err)
	}
	for _, ps := range sa.ImagePullSecrets {
		var s corev1.Secret
		if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: ps.Name}, &s); err != nil {
			return nil, fmt.Errorf("spec.serviceAccountName: image pull secret '%s/%s': %w", namespace, ps.Name, err)
		}
		if data, ok := s.Data[corev1.DockerConfigJsonKey]; ok {
			return data, nil
		}
	}
	return nil, nil
}
