package argo

import (
	"encoding/base64"
	"reflect"
	"testing"
	"time"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

func TestParseLifetime(t *testing.T) {
	for in, want := range map[string]time.Duration{"0s": 0, "12h": 12 * time.Hour, "7d": 7 * 24 * time.Hour, "90m": 90 * time.Minute} {
		if got, err := parseLifetime(in); err != nil || got != want {
			t.Errorf("parseLifetime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "soon", "-1h", "xd", "-2d"} {
		if _, err := parseLifetime(in); err == nil {
			t.Errorf("parseLifetime(%q) was accepted", in)
		}
	}
}

func TestTokenClaims(t *testing.T) {
	payload := base64.RawURLEncoding.EncodeToString([]byte(`{"jti":"abc","iat":1700000000,"exp":1700003600,"sub":"proj:p:r"}`))
	got := tokenClaims("eyJhbGciOiJIUzI1NiJ9." + payload + ".sig")
	if want := (jwtClaims{ID: "abc", IssuedAt: 1700000000, ExpiresAt: 1700003600}); got != want {
		t.Errorf("claims %+v, want %+v", got, want)
	}
	if got := tokenClaims("not-a-jwt"); got != (jwtClaims{}) {
		t.Errorf("claims of garbage %+v", got)
	}
}

func TestProjectRow(t *testing.T) {
	p := &argov1.AppProject{}
	p.Name = "production"
	p.Spec.Description = "Production project"
	p.Spec.SourceRepos = []string{"https://a", "https://b"}
	p.Spec.Destinations = []argov1.ApplicationDestination{{Server: "https://kubernetes.default.svc", Namespace: "production"}}
	p.Spec.ClusterResourceWhitelist = []argov1.ClusterResourceRestrictionItem{{Kind: "Namespace"}}
	want := []string{"production", "Production project", "https://kubernetes.default.svc,production", "2 repos", "/Namespace",
		"<none>", "<none>", "disabled"}
	if got := projectRow(p); !reflect.DeepEqual(got, want) {
		t.Errorf("row\n got %q\nwant %q", got, want)
	}
}
