package urlrewrite

import (
	"strings"
	"testing"
)

func TestRewrite(t *testing.T) {
	rules, err := Parse([]string{
		"https://github.com/=http://127.0.0.1:8080/",
		"https://github.com/stefanprodan/=http://127.0.0.1:9090/sp/",
		"oci://ghcr.io/=oci://127.0.0.1:5000/",
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ in, want string }{
		{"https://github.com/stefanprodan/podinfo", "http://127.0.0.1:9090/sp/podinfo"},
		{"https://github.com/argoproj/argocd-example-apps.git", "http://127.0.0.1:8080/argoproj/argocd-example-apps.git"},
		{"oci://ghcr.io/stefanprodan/charts/podinfo", "oci://127.0.0.1:5000/stefanprodan/charts/podinfo"},
		{"https://gitlab.com/x/y", "https://gitlab.com/x/y"},
		{"https://github.com", "https://github.com"},
	}
	for _, tt := range tests {
		if got := rules.Rewrite(tt.in); got != tt.want {
			t.Errorf("Rewrite(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		pairs []string
		want  string
	}{
		{[]string{"https://github.com/"}, "want FROM=TO"},
		{[]string{"=http://x/"}, "want FROM=TO"},
		{[]string{"github.com=http://x/"}, "not an absolute URL"},
		{[]string{"https://github.com/=http://user:secret@mirror/"}, "must not carry a password"},
		{[]string{"https://a/=http://b/", "https://a/=http://c/"}, "rewritten twice"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.pairs)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) error = %v, want it to contain %q", tt.pairs, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("Parse(%q) error leaks the password: %v", tt.pairs, err)
		}
	}
}

func TestFromConfigMapDataAndMerge(t *testing.T) {
	cm, err := FromConfigMapData(map[string]string{"rules": "# mirrors\nhttps://github.com/=http://mirror/gh/\n\ngit@github.com:=ssh://git@mirror/gh/\n"})
	if err != nil {
		t.Fatal(err)
	}
	if cm.Len() != 2 {
		t.Fatalf("got %d rules, want 2", cm.Len())
	}
	flags, _ := Parse([]string{"https://github.com/=http://flag/"})
	merged := flags.Merge(cm)
	if got := merged.Rewrite("https://github.com/a"); got != "http://mirror/gh/a" {
		t.Errorf("ConfigMap rule should win over the flag for the same prefix; got %q", got)
	}
	if got := merged.Rewrite("git@github.com:org/repo"); got != "ssh://git@mirror/gh/org/repo" {
		t.Errorf("scp-like rewrite = %q", got)
	}
}
