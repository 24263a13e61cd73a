package imageupdate

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	imagev1 "github.com/tether-gitops/tether/api/image/v1"
	"github.com/tether-gitops/tether/internal/image/setters"
)

// seedTemplate is seed 08's messageTemplate as written.
const seedTemplate = `Automated image update by FluxCD
Automation name: {{ .AutomationObject }}
Image tag: {{ .Image.Tag }}
Image digest: {{ .Image.Digest }}
Updated manifests:
{{ range .Updated.Files -}}
- {{ . }}
{{ end -}}
`

func TestMessage(t *testing.T) {
	res := &setters.Result{
		Changes: []setters.Change{{File: "b.yaml", OldValue: "6.0.0", NewValue: "6.0.1", Setter: "flux-system:podinfo:tag"},
			{File: "a.yaml", OldValue: "x:6.0.0", NewValue: "x:6.0.1", Setter: "flux-system:podinfo"}},
		Images: map[string]setters.Image{"flux-system:podinfo": {Name: "ghcr.io/stefanprodan/podinfo", Tag: "6.0.1", Digest: "sha256:abc"}},
	}
	auto := func(tpl string, values map[string]string) *imagev1.ImageUpdateAutomation {
		return &imagev1.ImageUpdateAutomation{ObjectMeta: metav1.ObjectMeta{Namespace: "flux-system", Name: "flux-system"},
			Spec: imagev1.ImageUpdateAutomationSpec{GitSpec: &imagev1.GitSpec{Commit: imagev1.CommitSpec{MessageTemplate: tpl, MessageTemplateValues: values}}}}
	}
	tests := []struct {
		name, tpl string
		values    map[string]string
		want      string
		err       string
	}{
		{"the seed's template", seedTemplate, nil, "Automated image update by FluxCD\nAutomation name: flux-system/flux-system\nImage tag: 6.0.1\nImage digest: sha256:abc\nUpdated manifests:\n- a.yaml\n- b.yaml\n", ""},
		{"the default", "", nil, DefaultMessageTemplate, ""},
		{"v1's .Changed and .Values", "{{ .Values.env }}:{{ range .Changed.Changes }} {{ .OldValue }}->{{ .NewValue }}{{ end }}", map[string]string{"env": "prod"},
			"prod: 6.0.0->6.0.1 x:6.0.0->x:6.0.1", ""},
		{"sprig, but not the environment", `{{ env "HOME" }}`, nil, "", "env"},
		{"an unknown field", "{{ .Nope }}", nil, "", "Nope"},
		{"an empty result", "{{ \"\" }}", nil, "", "empty"},
	}
	for _, tt := range tests {
		got, err := message(auto(tt.tpl, tt.values), res)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s: err %v, want one about %q", tt.name, err, tt.err)
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("%s: %q (err %v), want %q", tt.name, got, err, tt.want)
		}
	}
}
