package server

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestPublicSettings(t *testing.T) {
	const oidc = "name: Okta\nissuer: https://idp.example\nclientID: tether\ncliClientID: tether-cli\n" +
		"clientSecret: $oidc.clientSecret\nrequestedIDTokenClaims: {groups: {essential: true}}\n" +
		"allowedAudiences: [tether, tether-cli]\nenablePKCEAuthentication: true\n"
	secret := map[string][]byte{"oidc.clientSecret": []byte("very-secret-value")}
	for _, tc := range []struct {
		name string
		cm   map[string]string
		want string
	}{
		{name: "no SSO", cm: map[string]string{}, want: `{}`},
		{name: "url only", cm: map[string]string{"url": "https://tether.example"}, want: `{"url":"https://tether.example"}`},
		{name: "SSO", cm: map[string]string{"url": "https://tether.example/", "oidc.config": oidc},
			want: `{"url":"https://tether.example","oidcConfig":{"name":"Okta","issuer":"https://idp.example","clientID":"tether",` +
				`"cliClientID":"tether-cli","scopes":["openid","profile","email","groups"],"idTokenClaims":{"groups":{"essential":true}},` +
				`"enablePKCEAuthentication":true}}`},
		{name: "broken oidc.config is left out", cm: map[string]string{"url": "https://tether.example", "oidc.config": "clientID: ["},
			want: `{"url":"https://tether.example"}`},
		{name: "missing secret reference is left out", cm: map[string]string{"oidc.config": "issuer: https://idp.example\nclientID: t\nclientSecret: $nope\n"},
			want: `{}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := json.Marshal(publicSettingsOf(tc.cm, secret))
			if err != nil {
				t.Fatal(err)
			}
			if string(data) != tc.want {
				t.Errorf("got  %s\nwant %s", data, tc.want)
			}
			if strings.Contains(string(data), "very-secret-value") || strings.Contains(string(data), "allowedAudiences") {
				t.Errorf("the public settings show the client secret or the audiences: %s", data)
			}
		})
	}
}
