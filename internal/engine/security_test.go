package engine

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The values in testdata/secret/secret.yaml.
const (
	password = "hunter2-correct-horse"
	token    = "super-secret-token"
)

// leaks fails when s holds a value of the test Secret, plain or base64.
func leaks(t *testing.T, what, s string, values ...string) {
	t.Helper()
	for _, v := range append([]string{password, token}, values...) {
		for _, form := range []string{v, base64.StdEncoding.EncodeToString([]byte(v))} {
			if strings.Contains(s, form) {
				t.Errorf("%s holds the secret value %q:\n%s", what, form, s)
			}
		}
	}
}

// TestCVE_2025_23216_SecretValuesNotInErrors: an invalid Secret must not
// have its values echoed in an error (GHSA-274v-mgcv-cm8j, CVE-2025-23216,
// CVE-2021-23135). The API server's own messages do not quote Secret
// data, but admission policies and webhooks may: here a
// ValidatingAdmissionPolicy quotes the password (base64, as the API
// server holds it) in its denial.
func TestCVE_2025_23216_SecretValuesNotInErrors(t *testing.T) {
	needCluster(t)
	ctx := testContext(t)
	ns := namespace(t, "engine-secret-echo")
	echoPolicy(t, ns)
	eng, reqs := newEngine(t, env.Config, ownerNamed("secrets"))
	in := load(t, "secret/secret.yaml", "invalid/configmap.yaml")
	in[0].Obj.SetName("echo")

	var err error
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) { // the policy takes a moment to load
		if _, err = eng.Diff(ctx, in, ApplyOptions{DefaultNamespace: ns}); err != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err == nil {
		t.Fatal("the policy never denied the Secret")
	}
	t.Logf("error: %v", err)
	mustContain(t, err.Error(), "testdata/secret/secret.yaml: Secret/engine-secret-echo/echo: ", "rejected secret with password ***")
	leaks(t, "Diff error", err.Error())

	reqs.Reset()
	_, err = eng.Apply(ctx, in, ApplyOptions{DefaultNamespace: ns})
	if err == nil {
		t.Fatal("apply succeeded")
	}
	leaks(t, "Apply error", err.Error())
	leaks(t, "Apply error, formatted with %+v", fmt.Sprintf("%+v", err))
	for e := err; e != nil; {
		leaks(t, "wrapped error", e.Error())
		u, ok := e.(interface{ Unwrap() []error })
		if ok {
			for _, inner := range u.Unwrap() {
				leaks(t, "joined error", inner.Error())
				if oe, ok := inner.(*ObjectError); ok {
					leaks(t, "ObjectError cause", oe.Err.Error())
				}
			}
			break
		}
		e = nil
	}
	if w := reqs.Writes(); len(w) != 0 {
		t.Errorf("wrote %v", w)
	}

	// A Secret the API server itself rejects: its error names the field.
	bad := load(t, "secret/secret.yaml")
	set(t, bad[0].Obj, "kubernetes.io/tls", "type")
	_, err = eng.Apply(ctx, bad, ApplyOptions{DefaultNamespace: ns})
	if err == nil {
		t.Fatal("apply of a TLS Secret without tls.crt succeeded")
	}
	t.Logf("error: %v", err)
	mustContain(t, err.Error(), "testdata/secret/secret.yaml: Secret/engine-secret-echo/db: data[tls.crt]: Required value")
	leaks(t, "error", err.Error())
}

// echoPolicy denies Secrets named "echo" in ns, quoting their password.
func echoPolicy(t *testing.T, ns string) {
	t.Helper()
	fail := admissionv1.Fail
	policy := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "engine-echo-secret"},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
					Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"secrets"}},
				},
			}}},
			Validations: []admissionv1.Validation{{
				Expression:        "object.metadata.name != 'echo'",
				MessageExpression: "'rejected secret with password ' + string(object.data.password)",
			}},
		},
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "engine-echo-secret"},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        policy.Name,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
			MatchResources: &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{corev1.LabelMetadataName: ns},
			}},
		},
	}
	for _, o := range []client.Object{policy, binding} {
		if err := admin(t).Create(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = admin(t).Delete(context.Background(), o) })
	}
}

// TestCVE_2026_42880_DiffMasksSecretValues: a server-side diff must not
// reveal a Secret's contents, old or new.
func TestCVE_2026_42880_DiffMasksSecretValues(t *testing.T) {
	needCluster(t)
	ctx := testContext(t)
	ns := namespace(t, "engine-secret-diff")
	eng, _ := newEngine(t, env.Config, ownerNamed("secrets"))
	in := load(t, "secret/secret.yaml")
	if _, err := eng.Apply(ctx, in, ApplyOptions{DefaultNamespace: ns}); err != nil {
		t.Fatal(err)
	}
	const rotated = "rotated-battery-staple"
	set(t, in[0].Obj, map[string]any{"password": rotated}, "stringData")

	changes, err := eng.Diff(ctx, in, ApplyOptions{DefaultNamespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || changes[0].Action != ActionConfigured || changes[0].Live == nil || changes[0].Desired == nil {
		t.Fatalf("diff = %+v, want the Secret configured with live and desired", changes)
	}
	out, err := json.Marshal(changes)
	if err != nil {
		t.Fatal(err)
	}
	leaks(t, "diff", string(out), rotated)
	mustContain(t, string(out), `"password":"*** (before)"`, `"password":"*** (after)"`, `"token":"***"`)
}

// TestCVE_2023_40029_LastAppliedSecretNotExposed: kubectl's
// last-applied-configuration annotation holds a Secret in clear. The
// engine never writes it, masks it in diffs and removes it when it
// writes the Secret.
func TestCVE_2023_40029_LastAppliedSecretNotExposed(t *testing.T) {
	needCluster(t)
	ctx := testContext(t)
	ns := namespace(t, "engine-secret-lastapplied")
	eng, _ := newEngine(t, env.Config, ownerNamed("secrets"))

	in := load(t, "secret/secret.yaml")
	if _, err := eng.Apply(ctx, in, ApplyOptions{DefaultNamespace: ns}); err != nil {
		t.Fatal(err)
	}
	if a := get(t, "v1", "Secret", ns, "db").GetAnnotations(); a[corev1.LastAppliedConfigAnnotation] != "" {
		t.Errorf("engine wrote %s", corev1.LastAppliedConfigAnnotation)
	}

	// A Secret that kubectl applied client-side before Tether took over.
	const legacy = "legacy-kubectl-password"
	old := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "legacy", Namespace: ns, Annotations: map[string]string{
		corev1.LastAppliedConfigAnnotation: `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"legacy"},"stringData":{"password":"` + legacy + `"}}`,
	}}, StringData: map[string]string{"password": legacy}}
	if err := admin(t).Create(ctx, old); err != nil {
		t.Fatal(err)
	}
	in[0].Obj.SetName("legacy")
	changes, err := eng.Diff(ctx, in, ApplyOptions{DefaultNamespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(changes)
	leaks(t, "diff", string(out), legacy)

	res, err := eng.Apply(ctx, in, ApplyOptions{DefaultNamespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	if res.ChangeSet[0].Action != ActionConfigured {
		t.Errorf("%s, want configured", res.ChangeSet[0])
	}
	if a := get(t, "v1", "Secret", ns, "legacy").GetAnnotations(); a[corev1.LastAppliedConfigAnnotation] != "" {
		t.Errorf("%s left on the Secret", corev1.LastAppliedConfigAnnotation)
	}
}
