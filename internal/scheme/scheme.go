// Package scheme builds the runtime.Scheme that knows every kind Tether
// reads or writes: Kubernetes' built-in kinds and every served version of
// the Argo CD, Flux and Sealed Secrets APIs.
//
//	s, err := scheme.New()
//	c, err := client.New(cfg, client.Options{Scheme: s})
package scheme

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	argov1alpha1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	bitnamiv1alpha1 "github.com/tether-gitops/tether/api/bitnami/v1alpha1"
	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	helmv2beta1 "github.com/tether-gitops/tether/api/helm/v2beta1"
	helmv2beta2 "github.com/tether-gitops/tether/api/helm/v2beta2"
	imagev1 "github.com/tether-gitops/tether/api/image/v1"
	imagev1beta1 "github.com/tether-gitops/tether/api/image/v1beta1"
	imagev1beta2 "github.com/tether-gitops/tether/api/image/v1beta2"
	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	kustomizev1beta1 "github.com/tether-gitops/tether/api/kustomize/v1beta1"
	kustomizev1beta2 "github.com/tether-gitops/tether/api/kustomize/v1beta2"
	notificationv1 "github.com/tether-gitops/tether/api/notification/v1"
	notificationv1beta1 "github.com/tether-gitops/tether/api/notification/v1beta1"
	notificationv1beta2 "github.com/tether-gitops/tether/api/notification/v1beta2"
	notificationv1beta3 "github.com/tether-gitops/tether/api/notification/v1beta3"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	sourcev1beta1 "github.com/tether-gitops/tether/api/source/v1beta1"
	sourcev1beta2 "github.com/tether-gitops/tether/api/source/v1beta2"
)

// New returns a scheme with Kubernetes' kinds and all of Tether's served
// kinds and versions.
func New() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme,
		argov1alpha1.AddToScheme,
		bitnamiv1alpha1.AddToScheme,
		sourcev1.AddToScheme, sourcev1beta2.AddToScheme, sourcev1beta1.AddToScheme,
		kustomizev1.AddToScheme, kustomizev1beta2.AddToScheme, kustomizev1beta1.AddToScheme,
		helmv2.AddToScheme, helmv2beta2.AddToScheme, helmv2beta1.AddToScheme,
		imagev1.AddToScheme, imagev1beta2.AddToScheme, imagev1beta1.AddToScheme,
		notificationv1.AddToScheme, notificationv1beta3.AddToScheme, notificationv1beta2.AddToScheme, notificationv1beta1.AddToScheme,
	} {
		if err := add(s); err != nil {
			return nil, fmt.Errorf("build scheme: %w", err)
		}
	}
	return s, nil
}
