package helmrelease

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-logr/logr/funcr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	"github.com/tether-gitops/tether/internal/redact"
)

func TestAddSecretValues(t *testing.T) {
	tests := []struct {
		name       string
		data       string
		targetPath string
		masked     []string // each is masked in a message
		kept       []string // these are not
	}{
		{"YAML leaves", "db:\n  password: pw-0042\n  port: 5432\nname: web\n", "",
			[]string{"pw-0042", "cHctMDA0Mg==", "web"}, []string{"db", "password", "5432"}},
		{"not YAML: the whole data", "a: [b", "", []string{"a: [b"}, nil},
		{"a targetPath: the whole value, trimmed", "tok-0042\n", "auth.token", []string{"tok-0042\n", "tok-0042", "dG9rLTAwNDI="}, []string{"auth"}},
		{"a quoted targetPath value: also unquoted", `"tok 0042"`, "auth.token", []string{`"tok 0042"`, "tok 0042"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			secrets := &redact.Values{}
			addSecretValues(secrets, []byte(tc.data), tc.targetPath)
			for _, s := range tc.masked {
				if got := secrets.String("<" + s + ">"); got != "<***>" {
					t.Errorf("%q masked as %q", s, got)
				}
			}
			for _, s := range tc.kept {
				if got := secrets.String(s); got != s {
					t.Errorf("%q masked as %q", s, got)
				}
			}
		})
	}
}

func TestMaskConditions(t *testing.T) {
	obj := &helmv2.HelmRelease{}
	obj.Status.Conditions = []metav1.Condition{
		{Type: "Ready", Message: "Helm install failed: bad password pw-0042"},
		{Type: "Released", Message: "Helm install failed: bad password pw-0042"},
		{Type: "Reconciling", Message: "Running 'install' action"},
	}
	maskConditions(obj, redact.New("pw-0042"))
	want := []string{"Helm install failed: bad password ***", "Helm install failed: bad password ***", "Running 'install' action"}
	for i, c := range obj.Status.Conditions {
		if c.Message != want[i] {
			t.Errorf("%s message %q, want %q", c.Type, c.Message, want[i])
		}
	}
	maskConditions(obj, nil) // nothing to mask
}

func TestMaskedLogger(t *testing.T) {
	var lines []string
	base := funcr.New(func(prefix, args string) { lines = append(lines, prefix+" "+args) }, funcr.Options{})
	secrets := redact.New("pw-0042")
	logger := maskedLogger(base, func() *redact.Values { return secrets }).WithValues("value", "with pw-0042").WithName("hr")
	tests := []struct {
		name string
		log  func()
		want string
	}{
		{"message and values", func() { logger.Info("failed pw-0042", "error", "bad pw-0042", "count", 3) },
			`hr "level"=0 "msg"="failed ***" "value"="with ***" "error"="bad ***" "count"=3`},
		{"an error value", func() { logger.Info("failed", "error", errors.New("bad pw-0042")) },
			`hr "level"=0 "msg"="failed" "value"="with ***" "error"="bad ***"`},
		{"Error", func() { logger.Error(errors.New("bad pw-0042"), "release failed") },
			`hr "msg"="release failed" "error"="bad ***" "value"="with ***"`},
		{"nothing to mask", func() { logger.V(0).Info("fine", "n", "ok") },
			`hr "level"=0 "msg"="fine" "value"="with ***" "n"="ok"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lines = nil
			tc.log()
			if len(lines) != 1 || lines[0] != tc.want {
				t.Errorf("logged %q, want %q", lines, tc.want)
			}
		})
	}
}

func TestMaskingBeforeCutting(t *testing.T) {
	secrets := redact.New("pw-0042-long-secret")
	// The value spans both cuts: withLogs' at 497 bytes, trimErr's at 2000.
	tests := []struct {
		name string
		got  func() string
	}{
		{"event with Helm's logs", func() string {
			b := &logBuffer{lines: []string{"line with pw-0042-long-secret"}, secrets: secrets}
			return b.withLogs(strings.Repeat(".", 490) + "pw-0042-long-secret")
		}},
		{"condition message", func() string {
			return trimErr(errors.New(strings.Repeat(".", 1990)+"pw-0042-long-secret"), secrets)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.got(); strings.Contains(got, "pw-00") || !strings.Contains(got, "***") {
				t.Errorf("shows part of the secret or no mask: %q", got[max(0, len(got)-80):])
			}
		})
	}
}
