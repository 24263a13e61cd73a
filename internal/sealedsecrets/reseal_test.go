package sealedsecrets

import (
	"crypto/rsa"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/api/bitnami/v1alpha1"
)

// TestReseal: for every scope, a value sealed with the old key is sealed
// again for the new one: it opens with the new key alone, no longer with
// the old one, under the same scope; the template (and its data
// templates) is kept, what the API server set is dropped.
func TestReseal(t *testing.T) {
	_, keys := keyPairs(t)
	oldKey, newKey := keys[0], keys[1]
	for _, scope := range []Scope{StrictScope, NamespaceWideScope, ClusterWideScope} {
		t.Run(scope.String(), func(t *testing.T) {
			ss := sealedSecret(t, &oldKey.PublicKey, scope, "prod", "db", map[string]string{"username": "admin", "password": "hunter2"})
			ss.ResourceVersion, ss.Generation = "42", 3
			ss.Annotations[corev1.LastAppliedConfigAnnotation] = `{"spec":{"encryptedData":{"password":"old"}}}`
			ss.Spec.Template.Data = map[string]string{"dsn": "{{ .username }}:{{ .password }}"}
			ss.Status = &v1alpha1.SealedSecretStatus{ObservedGeneration: 3}

			got, err := Reseal(ss, []*rsa.PrivateKey{newKey, oldKey}, &newKey.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			if got.UID != "" || got.ResourceVersion != "" || got.Generation != 0 || got.Status != nil || got.Annotations[corev1.LastAppliedConfigAnnotation] != "" {
				t.Errorf("server-set fields kept: %+v", got.ObjectMeta)
			}
			if got.Kind != "SealedSecret" || got.APIVersion != "bitnami.com/v1alpha1" || ScopeOf(got.Annotations) != scope {
				t.Errorf("kind %s/%s scope %s", got.APIVersion, got.Kind, ScopeOf(got.Annotations))
			}
			if got.Spec.Template.Data["dsn"] != ss.Spec.Template.Data["dsn"] || got.Spec.Template.Labels["app"] != "db" {
				t.Errorf("template changed: %+v", got.Spec.Template)
			}
			for k, v := range got.Spec.EncryptedData {
				if v == ss.Spec.EncryptedData[k] {
					t.Errorf("encryptedData[%s] was not sealed again", k)
				}
			}
			secret, err := Unseal(got, []*rsa.PrivateKey{newKey}, UnsealOptions{})
			if err != nil {
				t.Fatalf("the resealed SealedSecret does not open with the new key: %v", err)
			}
			if string(secret.Data["password"]) != "hunter2" || string(secret.Data["dsn"]) != "admin:hunter2" {
				t.Errorf("opened into %q", secret.Data)
			}
			if _, err := Unseal(got, []*rsa.PrivateKey{oldKey}, UnsealOptions{}); !errors.Is(err, ErrCannotDecrypt) {
				t.Errorf("the resealed SealedSecret opens with the old key: %v", err)
			}
		})
	}
}

// TestResealDeprecatedData: the deprecated spec.data blob is sealed again
// as a whole.
func TestResealDeprecatedData(t *testing.T) {
	_, keys := keyPairs(t)
	blob, err := Seal(&keys[0].PublicKey, StrictScope, "prod", "db", []byte(`{"data":{"password":"aHVudGVyMg=="}}`))
	if err != nil {
		t.Fatal(err)
	}
	ss := &v1alpha1.SealedSecret{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "db"}, Spec: v1alpha1.SealedSecretSpec{Data: blob}}
	got, err := Reseal(ss, keys[:2], &keys[1].PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := Unseal(got, keys[1:2], UnsealOptions{})
	if err != nil || string(secret.Data["password"]) != "hunter2" {
		t.Fatalf("opened %q, %v", secret.Data, err)
	}
}

// TestReseal_CVE_2026_22728: Bitnami's rotate took the scope of the
// result from spec.template.metadata.annotations, so a caller could send a
// victim's strict value with sealedsecrets.bitnami.com/cluster-wide=true
// in the template and get back a cluster-wide value to open under any name
// anywhere. Here the scope comes from the SealedSecret's own annotations:
// the result stays strict and opens nowhere else.
func TestReseal_CVE_2026_22728(t *testing.T) {
	_, keys := keyPairs(t)
	victim := sealedSecret(t, &keys[0].PublicKey, StrictScope, "prod", "db", map[string]string{"password": "hunter2"})
	victim.Spec.Template.Annotations = map[string]string{
		v1alpha1.AnnotationClusterWide:   "true",
		v1alpha1.AnnotationNamespaceWide: "true",
	}
	got, err := Reseal(victim, keys[:2], &keys[1].PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if s := ScopeOf(got.Annotations); s != StrictScope {
		t.Fatalf("the resealed value is %s, not strict", s)
	}
	for _, move := range []struct{ ns, name string }{{"attacker", "db"}, {"prod", "stolen"}, {"attacker", "stolen"}} {
		moved := got.DeepCopy()
		moved.Namespace, moved.Name = move.ns, move.name
		if _, err := Unseal(moved, keys, UnsealOptions{}); !errors.Is(err, ErrCannotDecrypt) {
			t.Errorf("moved to %s/%s it opens: %v", move.ns, move.name, err)
		}
		// Claiming the wider scope on the object itself does not help either.
		moved.Annotations = ScopeAnnotations(moved.Annotations, ClusterWideScope)
		if _, err := Unseal(moved, keys, UnsealOptions{}); !errors.Is(err, ErrCannotDecrypt) {
			t.Errorf("moved to %s/%s as cluster-wide it opens: %v", move.ns, move.name, err)
		}
	}
	// Nor can the victim's value be resealed after the object's own scope
	// annotation is changed: it no longer opens under that label.
	widened := victim.DeepCopy()
	widened.Annotations = ScopeAnnotations(widened.Annotations, ClusterWideScope)
	if _, err := Reseal(widened, keys, &keys[1].PublicKey); !errors.Is(err, ErrCannotDecrypt) {
		t.Errorf("a strict value resealed as cluster-wide: %v", err)
	}
}

// TestVerify: verify answers whether every value opens, and does not run
// templates, so that a template failing on some plaintexts cannot turn it
// into an oracle.
func TestVerify(t *testing.T) {
	_, keys := keyPairs(t)
	ss := sealedSecret(t, &keys[0].PublicKey, StrictScope, "prod", "db", map[string]string{"password": "hunter2"})
	if err := Verify(ss, keys); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	probe := ss.DeepCopy()
	probe.Spec.Template.Data = map[string]string{"x": `{{ if hasPrefix "h" .password }}{{ fail "yes" }}{{ end }}`}
	if err := Verify(probe, keys); err != nil {
		t.Errorf("Verify ran a template: %v", err)
	}
	moved := ss.DeepCopy()
	moved.Name = "other"
	err := Verify(moved, keys)
	if !errors.Is(err, ErrCannotDecrypt) || !strings.Contains(err.Error(), "encryptedData[password]") {
		t.Errorf("Verify of a moved value: %v", err)
	}
	if err := Verify(ss, keys[2:]); !errors.Is(err, ErrCannotDecrypt) {
		t.Errorf("Verify with an unrelated key: %v", err)
	}
}

func TestParseSealedSecret(t *testing.T) {
	const good = "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: db, namespace: prod}\nspec:\n  encryptedData: {password: QUJD}\n"
	tests := []struct {
		name, in, err string
	}{
		{"yaml", good, ""},
		{"json", `{"apiVersion":"bitnami.com/v1alpha1","kind":"SealedSecret","metadata":{"name":"db","namespace":"prod"},"spec":{"encryptedData":{}}}`, ""},
		{"leading separator and comment", "---\n# sealed\n" + good, ""},
		{"cluster-wide without a namespace", "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: db\n  annotations: {sealedsecrets.bitnami.com/cluster-wide: \"true\"}\nspec: {encryptedData: {}}\n", ""},
		{"two documents", good + "---\n" + good, "more than one document"},
		{"a Secret", "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\ndata: {password: TOPSECRET}\n", "not bitnami.com/v1alpha1 SealedSecret"},
		{"no namespace", "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: db}\nspec: {encryptedData: {}}\n", "metadata.namespace"},
		{"empty", "\n", "empty"},
		{"not yaml", "{TOPSECRET: [", "not YAML or JSON"},
		{"wrong shape", "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: db, namespace: prod}\nspec: {encryptedData: TOPSECRET}\n", "not a SealedSecret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ss, err := ParseSealedSecret([]byte(tt.in))
			if tt.err == "" {
				if err != nil || ss.Name != "db" {
					t.Fatalf("got %v, %v", ss, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v, want %q", err, tt.err)
			}
			if strings.Contains(err.Error(), "TOPSECRET") {
				t.Errorf("the error quotes the input: %v", err)
			}
		})
	}
}
