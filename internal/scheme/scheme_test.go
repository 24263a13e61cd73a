package scheme

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestNewKnowsEveryServedKind(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, gvk := range []schema.GroupVersionKind{
		{Group: "", Version: "v1", Kind: "Secret"},
		{Group: "argoproj.io", Version: "v1alpha1", Kind: "Application"},
		{Group: "argoproj.io", Version: "v1alpha1", Kind: "AppProject"},
		{Group: "source.toolkit.fluxcd.io", Version: "v1beta1", Kind: "GitRepository"},
		{Group: "source.toolkit.fluxcd.io", Version: "v1", Kind: "OCIRepository"},
		{Group: "kustomize.toolkit.fluxcd.io", Version: "v1beta1", Kind: "Kustomization"},
		{Group: "helm.toolkit.fluxcd.io", Version: "v2beta1", Kind: "HelmRelease"},
		{Group: "image.toolkit.fluxcd.io", Version: "v1beta1", Kind: "ImageUpdateAutomation"},
		{Group: "notification.toolkit.fluxcd.io", Version: "v1beta3", Kind: "Provider"},
		{Group: "notification.toolkit.fluxcd.io", Version: "v1", Kind: "Receiver"},
		{Group: "bitnami.com", Version: "v1alpha1", Kind: "SealedSecret"},
	} {
		if !s.Recognizes(gvk) {
			t.Errorf("scheme does not know %s", gvk)
		}
	}
}
