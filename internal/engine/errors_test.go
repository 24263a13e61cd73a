package engine

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	ssaerrors "github.com/fluxcd/pkg/ssa/errors"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var deployments = schema.GroupResource{Group: "apps", Resource: "deployments"}

func invalid(errs ...*field.Error) error {
	return apierrors.NewInvalid(schema.GroupKind{Group: "apps", Kind: "Deployment"}, "web", errs)
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"field errors, deduplicated", invalid(
			field.Invalid(field.NewPath("spec", "replicas"), -1, "must be greater than or equal to 0"),
			field.Required(field.NewPath("spec", "selector"), ""),
			field.Required(field.NewPath("spec", "selector"), "")),
			"spec.replicas: Invalid value: -1: must be greater than or equal to 0; spec.selector: Required value"},
		{"long values elided", invalid(field.Invalid(field.NewPath("spec", "template"), strings.Repeat("x", 500), "field is immutable")),
			`spec.template: Invalid value: "` + strings.Repeat("x", 99) + `...(elided): field is immutable`},
		{"forbidden", apierrors.NewForbidden(deployments, "web", errors.New(`User "bob" cannot patch resource "deployments" in API group "apps" in the namespace "x"`)),
			`forbidden: User "bob" cannot patch resource "deployments" in API group "apps" in the namespace "x"`},
		{"through ssa's dry-run error", ssaerrors.NewDryRunErr(apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, "x"), nil),
			`namespaces "x" not found`},
		{"no kind", &meta.NoKindMatchError{GroupKind: schema.GroupKind{Group: "x.dev", Kind: "Gizmo"}, SearchedVersions: []string{"v1"}},
			`no matches for kind "Gizmo" in version "x.dev/v1": is its CustomResourceDefinition installed?`},
		{"plain", errors.New("connection refused"), "connection refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := describe(tc.err); got != tc.want {
				t.Errorf("describe =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestImmutableOnly(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"Job template", invalid(field.Invalid(field.NewPath("spec", "template"), "…", "field is immutable")), true},
		{"Service clusterIP", invalid(field.Invalid(field.NewPath("spec", "clusterIPs").Index(0), []string{"10.0.0.1"}, "may not change once set")), true},
		{"immutable Secret", invalid(field.Forbidden(field.NewPath("data"), "field is immutable when `immutable` is set")), true},
		{"StatefulSet", invalid(field.Forbidden(field.NewPath("spec"), "updates to statefulset spec for fields other than 'replicas' are forbidden")), true},
		{"immutable and invalid", invalid(
			field.Invalid(field.NewPath("spec", "template"), "…", "field is immutable"),
			field.Invalid(field.NewPath("spec", "replicas"), -1, "must be greater than or equal to 0")), false},
		{"value that says immutable", invalid(field.Invalid(field.NewPath("metadata", "labels"), "immutable-", "a valid label must end with an alphanumeric character")), false},
		{"plain invalid", invalid(field.Invalid(field.NewPath("spec", "replicas"), -1, "must be greater than or equal to 0")), false},
		{"webhook", apierrors.NewForbidden(deployments, "web", errors.New("admission webhook denied the request: the spec is immutable")), true},
		{"forbidden", apierrors.NewForbidden(deployments, "web", errors.New("no")), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := immutableOnly(ssaerrors.NewDryRunErr(tc.err, nil)); got != tc.want {
				t.Errorf("immutableOnly(%v) = %v", tc.err, got)
			}
		})
	}
}

func TestRedactor(t *testing.T) {
	r := redactor{}.with(obj(t, `
apiVersion: v1
kind: Secret
metadata: {name: s}
data: {token: c3VwZXItc2VjcmV0LXRva2Vu}
stringData: {password: hunter2-correct-horse}
`))
	secretErr := apierrors.NewInvalid(schema.GroupKind{Kind: "Secret"}, "s", field.ErrorList{
		field.Invalid(field.NewPath("data").Key("token"), "super-secret-token", "bad"),
	})
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"plain value", errors.New("denied: hunter2-correct-horse"), "denied: ***"},
		{"base64 value", errors.New("denied: c3VwZXItc2VjcmV0LXRva2Vu"), "denied: ***"},
		{"decoded value", errors.New("denied: super-secret-token!"), "denied: ***!"},
		{"base64 of stringData", errors.New("aHVudGVyMi1jb3JyZWN0LWhvcnNl"), "***"},
		{"nothing to mask", errors.New("all fine"), "all fine"},
		{"object error keeps its API status", &ObjectError{Source: "s.yaml", Subject: "Secret/x/s", Err: secretErr},
			"s.yaml: Secret/x/s: data[token]: Invalid value: \"***\": bad"},
		{"value past the elided part of a field error", &ObjectError{Source: "s.yaml", Subject: "Secret/x/s", Err: apierrors.NewInvalid(
			schema.GroupKind{Kind: "Secret"}, "s", field.ErrorList{field.Invalid(field.NewPath("data"), strings.Repeat(".", 120)+"hunter2-correct-horse", "bad")})},
			`s.yaml: Secret/x/s: data: Invalid value: "` + strings.Repeat(".", 99) + `...(elided): bad`},
		{"joined", errors.Join(errors.New("a hunter2-correct-horse"), errors.New("b")), "a ***\nb"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := r.redactError(tc.err)
			if got.Error() != tc.want {
				t.Errorf("redacted = %q, want %q", got, tc.want)
			}
			for e := got; e != nil; e = errors.Unwrap(e) {
				if strings.Contains(fmt.Sprintf("%+v", e), "horse") || strings.Contains(e.Error(), "super-secret") {
					t.Errorf("unwrapped error leaks: %v", e)
				}
				var st apierrors.APIStatus
				if errors.As(e, &st) && strings.Contains(fmt.Sprintf("%+v", st.Status()), "horse") {
					t.Errorf("API status leaks: %+v", st.Status())
				}
			}
		})
	}
	oe := r.redactError(&ObjectError{Source: "s.yaml", Subject: "Secret/x/s", Err: secretErr})
	if !apierrors.IsInvalid(oe) {
		t.Errorf("redacted API error lost its reason: %#v", oe)
	}
	if got := (redactor{}).redactError(secretErr); got != secretErr {
		t.Error("an empty redactor changed the error")
	}
}

func TestMatchesAny(t *testing.T) {
	o := &metav1.ObjectMeta{
		Labels:      map[string]string{"tier": "Web"},
		Annotations: map[string]string{"argocd.argoproj.io/sync-options": "ServerSideApply=true, Prune=false", "kustomize.toolkit.fluxcd.io/prune": "disabled"},
	}
	tests := []struct {
		sel  map[string]string
		want bool
	}{
		{map[string]string{"argocd.argoproj.io/sync-options": "Prune=false"}, true},
		{map[string]string{"argocd.argoproj.io/sync-options": "prune=false"}, true},
		{map[string]string{"argocd.argoproj.io/sync-options": "Delete=false"}, false},
		{map[string]string{PruneDisabledAnnotation: PruneDisabledValue}, true},
		{map[string]string{"tier": "web"}, true},
		{map[string]string{"tier": ""}, false},
		{map[string]string{"missing": ""}, false},
		{nil, false},
	}
	for _, tc := range tests {
		if got := matchesAny(o, tc.sel); got != tc.want {
			t.Errorf("matchesAny(%v) = %v, want %v", tc.sel, got, tc.want)
		}
	}
}
