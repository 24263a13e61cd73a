package webhook

import (
	"crypto/sha1" //nolint:gosec // generic-hmac's sha1 form under test
	"crypto/sha256"
	"crypto/sha512"
	"net/http"
	"testing"

	notificationv1 "github.com/tether-gitops/tether/api/notification/v1"
)

func TestVerifyReceiver(t *testing.T) {
	const token = "receiver-token"
	body := []byte(`{"ref":"refs/heads/main"}`)
	recv := func(typ string, events ...string) *notificationv1.Receiver {
		return &notificationv1.Receiver{Spec: notificationv1.ReceiverSpec{Type: typ, Events: events}}
	}
	for _, tc := range []struct {
		name    string
		recv    *notificationv1.Receiver
		headers map[string]string
		act, ok bool
	}{
		{"generic", recv("generic"), nil, true, true},
		{"generic-hmac sha256", recv("generic-hmac"), map[string]string{"X-Signature": "sha256=" + sign(sha256.New, token, body)}, true, true},
		{"generic-hmac sha1", recv("generic-hmac"), map[string]string{"X-Signature": "sha1=" + sign(sha1.New, token, body)}, true, true},
		{"generic-hmac sha512", recv("generic-hmac"), map[string]string{"X-Signature": "sha512=" + sign(sha512.New, token, body)}, true, true},
		{"generic-hmac wrong key", recv("generic-hmac"), map[string]string{"X-Signature": "sha256=" + sign(sha256.New, "x", body)}, false, false},
		{"generic-hmac missing", recv("generic-hmac"), nil, false, false},
		{"github push", recv("github", "push"), map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign(sha256.New, token, body)}, true, true},
		{"github event case-insensitive", recv("github", "Push"), map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign(sha256.New, token, body)}, true, true},
		{"github event not allowed", recv("github", "push"), map[string]string{"X-GitHub-Event": "issues", "X-Hub-Signature-256": "sha256=" + sign(sha256.New, token, body)}, true, false},
		{"github ping", recv("github", "push"), map[string]string{"X-GitHub-Event": "ping", "X-Hub-Signature-256": "sha256=" + sign(sha256.New, token, body)}, false, true},
		{"github unsigned ping", recv("github"), map[string]string{"X-GitHub-Event": "ping"}, false, false},
		{"github bad signature", recv("github"), map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=00"}, false, false},
		{"gitlab", recv("gitlab", "Push Hook"), map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": token}, true, true},
		{"gitlab wrong token", recv("gitlab"), map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "x"}, false, false},
		{"gitlab event not allowed", recv("gitlab", "Tag Push Hook"), map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": token}, true, false},
		{"bitbucket", recv("bitbucket", "repo:refs_changed"), map[string]string{"X-Event-Key": "repo:refs_changed", "X-Hub-Signature": "sha256=" + sign(sha256.New, token, body)}, true, true},
		{"bitbucket ping", recv("bitbucket"), map[string]string{"X-Event-Key": "diagnostics:ping", "X-Hub-Signature": "sha256=" + sign(sha256.New, token, body)}, false, true},
		{"harbor", recv("harbor"), map[string]string{"Authorization": token}, true, true},
		{"harbor wrong", recv("harbor"), map[string]string{"Authorization": "Bearer " + token}, true, false},
		{"unsupported type", recv("quay"), nil, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hd := http.Header{}
			for k, v := range tc.headers {
				hd.Set(k, v)
			}
			act, err := VerifyReceiver(tc.recv, token, hd, body)
			if (err == nil) != tc.ok || (err == nil && act != tc.act) {
				t.Errorf("VerifyReceiver = %v, %v; want act %v, ok %v", act, err, tc.act, tc.ok)
			}
		})
	}
}

func TestIsWebhookPath(t *testing.T) {
	r := &notificationv1.Receiver{}
	r.Name, r.Namespace = "github-receiver", "flux-system"
	p := r.GetWebhookPath("token")
	// Flux computes the path as hex(sha256(token+name+namespace)).
	sum := sha256.Sum256([]byte("token" + "github-receiver" + "flux-system"))
	if p != "/hook/"+hexString(sum[:]) {
		t.Errorf("GetWebhookPath = %s", p)
	}
	for _, tc := range []struct {
		p  string
		ok bool
	}{
		{p, true},
		{p + "/", false},
		{p[:len(p)-1], false},
		{"/hook/" + hexString(sum[:])[:63] + "G", false},
		{"/hook/../api/v1/session", false},
		{"/hook/", false},
	} {
		if got := isWebhookPath(tc.p); got != tc.ok {
			t.Errorf("isWebhookPath(%q) = %v, want %v", tc.p, got, tc.ok)
		}
	}
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}
