package receiver

import (
	"strings"
	"testing"

	"github.com/tether-gitops/tether/api/meta"
	notificationv1 "github.com/tether-gitops/tether/api/notification/v1"
)

func TestValidate(t *testing.T) {
	ref := &meta.LocalObjectReference{Name: "token"}
	for _, tc := range []struct {
		name string
		spec notificationv1.ReceiverSpec
		err  string
	}{
		{"generic", notificationv1.ReceiverSpec{Type: "generic", SecretRef: ref}, ""},
		{"github", notificationv1.ReceiverSpec{Type: "github", SecretRef: ref}, ""},
		{"unsupported", notificationv1.ReceiverSpec{Type: "quay", SecretRef: ref}, `type "quay" is not supported`},
		{"oidc", notificationv1.ReceiverSpec{Type: "generic-oidc"}, `type "generic-oidc" is not supported`},
		{"no secret", notificationv1.ReceiverSpec{Type: "gitlab"}, "spec.secretRef is required"},
		{"resource filter", notificationv1.ReceiverSpec{Type: "generic", SecretRef: ref, ResourceFilter: "true"}, "resourceFilter"},
		{"per-resource filter", notificationv1.ReceiverSpec{Type: "generic", SecretRef: ref, Resources: []notificationv1.ReceiverResource{
			{CrossNamespaceObjectReference: notificationv1.CrossNamespaceObjectReference{Kind: "GitRepository", Name: "x"}, Filter: "true"}}}, "filter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validate(&notificationv1.Receiver{Spec: tc.spec})
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("validate = %v, want %q", err, tc.err)
			}
		})
	}
}
