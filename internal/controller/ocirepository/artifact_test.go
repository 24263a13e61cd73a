package ocirepository

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/api/meta"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/internal/source/oci"
)

func TestUnsupported(t *testing.T) {
	tests := []struct {
		name       string
		spec       sourcev1.OCIRepositorySpec
		wantReason string
	}{
		{"generic", sourcev1.OCIRepositorySpec{Provider: "generic"}, ""},
		{"empty provider", sourcev1.OCIRepositorySpec{}, ""},
		{"cosign", sourcev1.OCIRepositorySpec{Verify: &sourcev1.OCIRepositoryVerification{Provider: "cosign"}}, sourcev1.VerificationError},
		{"notation", sourcev1.OCIRepositorySpec{Verify: &sourcev1.OCIRepositoryVerification{Provider: "notation"}}, sourcev1.VerificationError},
		{"aws", sourcev1.OCIRepositorySpec{Provider: "aws"}, sourcev1.InvalidProviderConfigurationReason},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := unsupported(&sourcev1.OCIRepository{Spec: tt.spec})
			if tt.wantReason == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var f *failure
			if !errors.As(err, &f) || f.reason != tt.wantReason || !f.stalled || !strings.Contains(f.Error(), "not supported") {
				t.Errorf("failure = %+v", f)
			}
		})
	}
}

func TestPullFailure(t *testing.T) {
	withSecret := &sourcev1.OCIRepository{ObjectMeta: metav1.ObjectMeta{Namespace: "ns"},
		Spec: sourcev1.OCIRepositorySpec{SecretRef: &meta.LocalObjectReference{Name: "creds"}}}
	withSA := &sourcev1.OCIRepository{ObjectMeta: metav1.ObjectMeta{Namespace: "ns"},
		Spec: sourcev1.OCIRepositorySpec{ServiceAccountName: "puller"}}
	tests := []struct {
		name       string
		obj        *sourcev1.OCIRepository
		err        error
		wantReason string
		wantText   string
	}{
		{"refused secret", withSecret, fmt.Errorf("x: %w", oci.ErrAuthentication), sourcev1.AuthenticationFailedReason, "secret 'ns/creds'"},
		{"refused service account", withSA, fmt.Errorf("x: %w", oci.ErrAuthentication), sourcev1.AuthenticationFailedReason, "ServiceAccount 'ns/puller'"},
		{"anonymous", &sourcev1.OCIRepository{}, fmt.Errorf("x: %w", oci.ErrAuthentication), sourcev1.AuthenticationFailedReason, "set spec.secretRef"},
		{"missing tag", withSecret, fmt.Errorf("x: %w", oci.ErrNotFound), sourcev1.OCIPullFailedReason, "x: not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := pullFailure(tt.obj, tt.err)
			if f.reason != tt.wantReason || f.stalled || f.condition != sourcev1.FetchFailedCondition || !strings.Contains(f.Error(), tt.wantText) {
				t.Errorf("failure = %+v (%v)", f, f.err)
			}
		})
	}
}
