package localbuild

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tether-gitops/tether/internal/engine"
	"github.com/tether-gitops/tether/internal/redact"
)

func object(apiVersion, kind, name string, data map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": apiVersion, "kind": kind,
		"metadata": map[string]any{"name": name, "namespace": "apps"},
		"data":     data,
	}}
}

func TestWriteReport(t *testing.T) {
	changes := []engine.Change{
		{Subject: "ConfigMap/apps/same", Action: engine.ActionUnchanged},
		{Subject: "ConfigMap/apps/new", Action: engine.ActionCreated},
		{Subject: "ConfigMap/apps/skipped", Action: engine.ActionSkipped},
		{Subject: "ConfigMap/apps/settings", Action: engine.ActionConfigured,
			Live:    object("v1", "ConfigMap", "settings", map[string]any{"level": "info", "token": "tok-from-secret"}),
			Desired: object("v1", "ConfigMap", "settings", map[string]any{"level": "debug", "token": "tok-from-secret"})},
		{Subject: "Secret/apps/creds", Action: engine.ActionConfigured,
			Live:    object("v1", "Secret", "creds", map[string]any{"password": "b2xkLXBhc3M=", "user": "YWRtaW4="}),
			Desired: object("v1", "Secret", "creds", map[string]any{"password": "bmV3LXBhc3M=", "user": "YWRtaW4="})},
	}
	deleted := []engine.ObjectRef{{APIVersion: "v1", Kind: "ConfigMap", Namespace: "apps", Name: "gone"}}
	var out bytes.Buffer
	n, err := writeReport(&out, changes, deleted, redact.New("tok-from-secret", "x"))
	if err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if n != 4 {
		t.Errorf("%d objects reported, want 4:\n%s", n, got)
	}
	var heads []string
	for _, l := range strings.Split(got, "\n") {
		if strings.HasPrefix(l, "► ") {
			heads = append(heads, l)
		}
	}
	want := []string{"► ConfigMap/apps/new created", "► ConfigMap/apps/settings drifted", "► Secret/apps/creds drifted", "► ConfigMap/apps/gone deleted"}
	if strings.Join(heads, "\n") != strings.Join(want, "\n") {
		t.Errorf("headings:\n%s\nwant:\n%s", strings.Join(heads, "\n"), strings.Join(want, "\n"))
	}
	for _, line := range []string{"-  level: info", "+  level: debug", "   token: ***",
		"-  password: ++++++++", "+  password: ++++++++++++", "--- Secret/apps/creds (cluster)", "+++ Secret/apps/creds (local)"} {
		if !strings.Contains(got, line+"\n") {
			t.Errorf("output lacks line %q:\n%s", line, got)
		}
	}
	for _, leak := range []string{"tok-from-secret", "b2xkLXBhc3M=", "bmV3LXBhc3M=", "YWRtaW4="} {
		if strings.Contains(got, leak) {
			t.Errorf("output shows %q:\n%s", leak, got)
		}
	}
	if !strings.Contains(got, "   user: ++++++++\n") {
		t.Errorf("an unchanged Secret key is not shown masked alike on both sides:\n%s", got)
	}

	out.Reset()
	if n, err := writeReport(&out, changes[:1], nil, nil); err != nil || n != 0 || out.Len() != 0 {
		t.Errorf("nothing to report: n=%d err=%v output %q", n, err, out.String())
	}
}

func TestRunDiffRefusesDryRun(t *testing.T) {
	err := RunDiff(context.Background(), &Options{Name: "app", Path: "testdata/app", DryRun: true})
	if err == nil || errors.Is(err, ErrDifferences) {
		t.Errorf("err = %v", err)
	}
}

func TestMasker(t *testing.T) {
	m := redact.New("ab", "secret", "secret-long", "secret")
	if got := m.String("x=secret-long y=secret z=ab"); got != "x=*** y=*** z=ab" {
		t.Errorf("text = %q", got)
	}
	err := m.Error(errors.New("bad value secret"))
	if err.Error() != "bad value ***" {
		t.Errorf("error = %q", err)
	}
	if m.Error(nil) != nil {
		t.Error("nil error masked into one")
	}
}
