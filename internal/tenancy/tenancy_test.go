package tenancy

import (
	"fmt"
	"testing"
)

func TestReference(t *testing.T) {
	for _, tc := range []struct {
		name      string
		policy    Policy
		namespace string
		denied    bool
	}{
		{"same namespace", Policy{NoCrossNamespaceRefs: true}, "team-a", false},
		{"namespace left empty", Policy{NoCrossNamespaceRefs: true}, "", false},
		{"another namespace, locked", Policy{NoCrossNamespaceRefs: true}, "flux-system", true},
		{"another namespace, open", Policy{}, "flux-system", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.policy.Reference("team-a", "GitRepository", tc.namespace, "platform")
			if IsAccessDenied(err) != tc.denied {
				t.Fatalf("err = %v, denied want %v", err, tc.denied)
			}
			if tc.denied {
				if want := "can't access 'GitRepository/flux-system/platform', cross-namespace references have been blocked"; err.Error() != want {
					t.Errorf("message %q, want %q", err, want)
				}
				if !IsAccessDenied(fmt.Errorf("source: %w", err)) {
					t.Error("a wrapped refusal is not recognised")
				}
			}
		})
	}
}

func TestServiceAccount(t *testing.T) {
	locked := Policy{DefaultServiceAccount: "tenant"}
	for _, tc := range []struct {
		policy      Policy
		named, want string
	}{
		{locked, "", "tenant"},
		{locked, "deployer", "deployer"},
		{Policy{}, "", ""},
		{Policy{}, "deployer", "deployer"},
	} {
		if got := tc.policy.ServiceAccount(tc.named); got != tc.want {
			t.Errorf("%+v.ServiceAccount(%q) = %q, want %q", tc.policy, tc.named, got, tc.want)
		}
	}
}
