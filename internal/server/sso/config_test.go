package sso_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/tether-gitops/tether/internal/server/sso"
)

const testCA = `-----BEGIN CERTIFICATE-----
MIIBhTCCASugAwIBAgIQIRi6zePL6mKjOipn+dNuaTAKBggqhkjOPQQDAjASMRAw
DgYDVQQKEwdBY21lIENvMB4XDTE3MTAyMDE5NDMwNloXDTE4MTAyMDE5NDMwNlow
EjEQMA4GA1UEChMHQWNtZSBDbzBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABD0d
7VNhbWvZLWPuj/RtHFjvtJBEwOkhbN/BnnE8rnZR8+sbwnc/KhCk3FhnpHZnQz7B
5aETbbIgmuvewdjvSBSjYzBhMA4GA1UdDwEB/wQEAwICpDATBgNVHSUEDDAKBggr
BgEFBQcDATAPBgNVHRMBAf8EBTADAQH/MCkGA1UdEQQiMCCCDmxvY2FsaG9zdDo1
NDUzgg4xMjcuMC4wLjE6NTQ1MzAKBggqhkjOPQQDAgNIADBFAiEA2zpJEPQyz6/l
Wf86aX6PepsntZv2GYlA5UpabfT2EZICICpJ5h/iI+i341gBmLiAFQOyTDT+/wQc
6MF9+Yw1Yy0t
-----END CERTIFICATE-----
`

func TestParseConfig(t *testing.T) {
	secret := map[string][]byte{"oidc.clientSecret": []byte(" s3cret\n"), "oidc.id": []byte("from-secret")}
	tests := []struct {
		name    string
		cm      map[string]string
		check   func(t *testing.T, c *sso.Config)
		wantErr string
	}{
		{name: "no oidc.config", cm: map[string]string{"url": "https://t.example"}},
		{name: "blank oidc.config", cm: map[string]string{"oidc.config": "  \n"}},
		{name: "defaults", cm: map[string]string{"url": "https://t.example/", "oidc.config": "issuer: https://idp.example\nclientID: tether\n"},
			check: func(t *testing.T, c *sso.Config) {
				if !slices.Equal(c.RequestedScopes, sso.DefaultScopes) {
					t.Errorf("scopes %v", c.RequestedScopes)
				}
				if !slices.Equal(c.AllowedAudiences, []string{"tether"}) {
					t.Errorf("audiences %v", c.AllowedAudiences)
				}
				if c.URL != "https://t.example" || c.RedirectURL() != "https://t.example/auth/callback" {
					t.Errorf("url %q redirect %q", c.URL, c.RedirectURL())
				}
				if c.InsecureSkipVerify || c.EnablePKCEAuthentication {
					t.Error("insecure or PKCE by default")
				}
			}},
		{name: "cli client is an audience by default", cm: map[string]string{"oidc.config": "issuer: https://idp.example\nclientID: tether\ncliClientID: tether-cli\n"},
			check: func(t *testing.T, c *sso.Config) {
				if !slices.Equal(c.AllowedAudiences, []string{"tether", "tether-cli"}) {
					t.Errorf("audiences %v", c.AllowedAudiences)
				}
			}},
		{name: "explicit audiences", cm: map[string]string{"oidc.config": "issuer: https://idp.example\nclientID: tether\ncliClientID: cli\nallowedAudiences: [api]\n"},
			check: func(t *testing.T, c *sso.Config) {
				if !slices.Equal(c.AllowedAudiences, []string{"api"}) {
					t.Errorf("audiences %v", c.AllowedAudiences)
				}
			}},
		{name: "secret references", cm: map[string]string{"oidc.config": "issuer: https://idp.example\nclientID: $argocd-secret:oidc.id\nclientSecret: $oidc.clientSecret\n"},
			check: func(t *testing.T, c *sso.Config) {
				if c.ClientSecret != "s3cret" || c.ClientID != "from-secret" {
					t.Errorf("clientID %q, secret resolved to %d bytes", c.ClientID, len(c.ClientSecret))
				}
			}},
		{name: "openid is always asked for", cm: map[string]string{"oidc.config": "issuer: https://idp.example\nclientID: t\nrequestedScopes: [email, groups]\n"},
			check: func(t *testing.T, c *sso.Config) {
				if !slices.Equal(c.RequestedScopes, []string{"openid", "email", "groups"}) {
					t.Errorf("scopes %v", c.RequestedScopes)
				}
			}},
		{name: "everything", cm: map[string]string{"oidc.tls.insecure.skip.verify": "true", "oidc.config": `name: Okta
issuer: https://idp.example/oauth2/default
clientID: tether
clientSecret: plain
requestedIDTokenClaims: {groups: {essential: true}, acr: {values: [a, b]}}
enablePKCEAuthentication: true
logoutURL: https://idp.example/logout
azure: {useWorkloadIdentity: false}
rootCA: |
` + indent(testCA)},
			check: func(t *testing.T, c *sso.Config) {
				if c.Name != "Okta" || !c.InsecureSkipVerify || !c.EnablePKCEAuthentication || c.ClientSecret != "plain" ||
					!c.RequestedIDTokenClaims["groups"].Essential || !slices.Equal(c.RequestedIDTokenClaims["acr"].Values, []string{"a", "b"}) ||
					!strings.Contains(c.RootCA, "BEGIN CERTIFICATE") {
					t.Errorf("parsed %+v", c)
				}
			}},
		{name: "missing secret key", cm: map[string]string{"oidc.config": "issuer: https://idp.example\nclientID: t\nclientSecret: $oidc.nope\n"},
			wantErr: `oidc.config.clientSecret refers to argocd-secret key "oidc.nope", which does not exist`},
		{name: "another secret", cm: map[string]string{"oidc.config": "issuer: https://idp.example\nclientID: t\nclientSecret: $my-secret:key\n"},
			wantErr: "refers to Secret my-secret: Tether resolves references in argocd-secret only"},
		{name: "not YAML", cm: map[string]string{"oidc.config": "issuer: [\n"}, wantErr: "is not valid YAML"},
		{name: "not a mapping", cm: map[string]string{"oidc.config": "- a\n"}, wantErr: "must be a YAML mapping"},
		{name: "wrong type", cm: map[string]string{"oidc.config": "issuer: https://idp.example\nclientID: t\nrequestedScopes: openid\n"},
			wantErr: "field requestedScopes must be of type []string"},
		{name: "no issuer", cm: map[string]string{"oidc.config": "clientID: t\n"}, wantErr: "issuer is required"},
		{name: "issuer not http", cm: map[string]string{"oidc.config": "issuer: ftp://idp.example\nclientID: t\n"}, wantErr: "issuer must be an https://"},
		{name: "issuer without host", cm: map[string]string{"oidc.config": "issuer: https://\nclientID: t\n"}, wantErr: "issuer must be a URL with a host"},
		{name: "no client", cm: map[string]string{"oidc.config": "issuer: https://idp.example\n"}, wantErr: "clientID is required"},
		{name: "empty audience", cm: map[string]string{"oidc.config": "issuer: https://idp.example\nclientID: t\nallowedAudiences: ['']\n"}, wantErr: "allowedAudiences must not hold an empty audience"},
		{name: "bad rootCA", cm: map[string]string{"oidc.config": "issuer: https://idp.example\nclientID: t\nrootCA: nope\n"}, wantErr: "rootCA holds no PEM certificate"},
		{name: "bad url", cm: map[string]string{"url": "tether.example", "oidc.config": "issuer: https://idp.example\nclientID: t\n"}, wantErr: "argocd-cm url must be an https://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := sso.ParseConfig(tt.cm, secret)
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Error("the error holds a secret value")
				}
			case err != nil:
				t.Fatal(err)
			case tt.check == nil && c != nil:
				t.Fatalf("config %+v, want none", c)
			case tt.check != nil:
				if c == nil {
					t.Fatal("no config")
				}
				tt.check(t, c)
			}
		})
	}
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n  ") + "\n"
}

// FuzzParseConfig: any oidc.config either fails with an error or gives a
// configuration the rest of the package can rely on.
func FuzzParseConfig(f *testing.F) {
	for _, seed := range []string{
		"issuer: https://idp.example\nclientID: tether\nclientSecret: $oidc.secret\n",
		"issuer: https://idp.example\nclientID: $argocd-secret:id\nallowedAudiences: [a, b]\nrequestedScopes: [email]\n",
		"requestedIDTokenClaims: {groups: {essential: true, values: [a]}}\nissuer: http://x\nclientID: c\n",
		"rootCA: |\n" + indent(testCA) + "issuer: https://i\nclientID: c\n",
		"- 1\n", "{", "issuer: $other:key\n", "clientID: [1, {a: $}]\n", "",
	} {
		f.Add(seed, "https://tether.example")
	}
	secret := map[string][]byte{"oidc.secret": []byte("s"), "id": []byte("from-secret")}
	f.Fuzz(func(t *testing.T, raw, url string) {
		c, err := sso.ParseConfig(map[string]string{"oidc.config": raw, "url": url}, secret)
		if err != nil || c == nil {
			return
		}
		if c.Issuer == "" || c.ClientID == "" || len(c.AllowedAudiences) == 0 || slices.Contains(c.AllowedAudiences, "") {
			t.Fatalf("accepted a config without issuer, client or audience: %+v", c)
		}
		if !slices.Contains(c.RequestedScopes, "openid") {
			t.Fatalf("scopes without openid: %v", c.RequestedScopes)
		}
		if strings.HasSuffix(c.URL, "/") {
			t.Fatalf("url %q keeps a trailing slash", c.URL)
		}
	})
}
