package sso_test

import (
	"testing"

	"github.com/tether-gitops/tether/internal/server/sso"
)

func TestReturnURL(t *testing.T) {
	tests := []struct{ raw, base, want string }{
		{"", "https://t.example", "/"},
		{"/applications", "https://t.example", "/applications"},
		{"/applications/prod-web?view=tree#x", "https://t.example", "/applications/prod-web?view=tree#x"},
		{"https://t.example/applications", "https://t.example", "https://t.example/applications"},
		{"HTTPS://T.EXAMPLE/applications", "https://t.example", "HTTPS://T.EXAMPLE/applications"},
		// Open redirects.
		{"https://evil.example/", "https://t.example", "/"},
		{"//evil.example/x", "https://t.example", "/"},
		{"/\\evil.example", "https://t.example", "/"},
		{"\\\\evil.example", "https://t.example", "/"},
		{"http://t.example/applications", "https://t.example", "/"},
		{"https://t.example.evil.example/", "https://t.example", "/"},
		{"https://t.example@evil.example/", "https://t.example", "/"},
		{"https://user@t.example/", "https://t.example", "/"},
		{"javascript:alert(1)", "https://t.example", "/"},
		{"applications", "https://t.example", "/"},
		{"/\t/evil.example", "https://t.example", "/"},
		{"/x\r\nSet-Cookie: a=b", "https://t.example", "/"},
		{"https://t.example:8443/x", "https://t.example", "/"},
		// Under a root path.
		{"/argocd/applications", "https://t.example/argocd", "/argocd/applications"},
		{"/other", "https://t.example/argocd", "/argocd/"},
		{"", "https://t.example/argocd/", "/argocd/"},
		{"https://t.example/argocd", "https://t.example/argocd", "https://t.example/argocd"},
		{"/argocdx", "https://t.example/argocd", "/argocd/"},
		// No url: paths only.
		{"/applications", "", "/applications"},
		{"https://t.example/applications", "", "/"},
	}
	for _, tt := range tests {
		if got := sso.ReturnURL(tt.raw, tt.base); got != tt.want {
			t.Errorf("ReturnURL(%q, %q) = %q, want %q", tt.raw, tt.base, got, tt.want)
		}
	}
}
