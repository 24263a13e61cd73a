package sealedsecrets

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/tether-gitops/tether/api/bitnami/v1alpha1"
)

// sealedSecret builds a SealedSecret as kubeseal's NewSealedSecret does,
// using the upstream-path encoder for its values.
func sealedSecret(t *testing.T, pub *rsa.PublicKey, scope Scope, ns, name string, data map[string]string) *v1alpha1.SealedSecret {
	t.Helper()
	ss := &v1alpha1.SealedSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-1"),
			Annotations: ScopeAnnotations(nil, scope)},
		Spec: v1alpha1.SealedSecretSpec{
			EncryptedData: map[string]string{},
			Template: v1alpha1.SecretTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
					Labels:      map[string]string{"app": "db"},
					Annotations: ScopeAnnotations(map[string]string{"note": "kept"}, scope)},
				Type: "kubernetes.io/basic-auth",
			},
		},
	}
	for k, v := range data {
		ct, err := bitnamiHybridEncrypt(rand.Reader, pub, []byte(v), bitnamiEncryptionLabel(ns, name, scope))
		if err != nil {
			t.Fatal(err)
		}
		ss.Spec.EncryptedData[k] = base64.StdEncoding.EncodeToString(ct)
	}
	return ss
}

func TestUnseal(t *testing.T) {
	_, keys := keyPairs(t)
	ss := sealedSecret(t, &keys[0].PublicKey, StrictScope, "prod", "db", map[string]string{"username": "admin", "password": "hunter2"})
	immutable := true
	ss.Spec.Template.Immutable = &immutable
	ss.Spec.Template.Data = map[string]string{
		"dsn":    "postgres://{{ .username }}:{{ .password }}@db/app",
		"upper":  "{{ .username | upper }}",
		"static": "plain",
	}
	got, err := Unseal(ss, []*rsa.PrivateKey{keys[1], keys[0]}, UnsealOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantData := map[string]string{
		"username": "admin", "password": "hunter2",
		"dsn": "postgres://admin:hunter2@db/app", "upper": "ADMIN", "static": "plain",
	}
	if len(got.Data) != len(wantData) {
		t.Errorf("data keys = %d, want %d", len(got.Data), len(wantData))
	}
	for k, v := range wantData {
		if string(got.Data[k]) != v {
			t.Errorf("data[%s] = %q, want %q", k, got.Data[k], v)
		}
	}
	if got.Name != "db" || got.Namespace != "prod" || got.Type != "kubernetes.io/basic-auth" {
		t.Errorf("name/namespace/type = %s/%s/%s", got.Namespace, got.Name, got.Type)
	}
	if got.Labels["app"] != "db" || got.Annotations["note"] != "kept" {
		t.Errorf("template metadata not copied: %v %v", got.Labels, got.Annotations)
	}
	if got.Immutable == nil || !*got.Immutable {
		t.Error("immutable not copied")
	}
	if len(got.OwnerReferences) != 1 {
		t.Fatalf("owner references = %v", got.OwnerReferences)
	}
	ref := got.OwnerReferences[0]
	if ref.APIVersion != "bitnami.com/v1alpha1" || ref.Kind != "SealedSecret" || ref.Name != "db" || ref.UID != "uid-1" || ref.Controller == nil || !*ref.Controller {
		t.Errorf("owner reference = %+v", ref)
	}
	if got.APIVersion != "v1" || got.Kind != "Secret" {
		t.Errorf("TypeMeta = %+v", got.TypeMeta)
	}
}

// TestUnsealPlaces: the scope comes from the SealedSecret's annotations and
// binds values to its name and namespace.
func TestUnsealPlaces(t *testing.T) {
	_, keys := keyPairs(t)
	tests := []struct {
		name          string
		scope         Scope
		toNS, toName  string
		wantOpen      bool
		dropScopeAnno bool
	}{
		{"strict same place", StrictScope, "prod", "db", true, false},
		{"strict renamed", StrictScope, "prod", "db2", false, false},
		{"strict moved", StrictScope, "staging", "db", false, false},
		{"namespace-wide renamed", NamespaceWideScope, "prod", "db2", true, false},
		{"namespace-wide moved", NamespaceWideScope, "staging", "db", false, false},
		{"cluster-wide anywhere", ClusterWideScope, "staging", "other", true, false},
		{"cluster-wide without its annotation", ClusterWideScope, "prod", "db", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ss := sealedSecret(t, &keys[0].PublicKey, tt.scope, "prod", "db", map[string]string{"password": "hunter2"})
			ss.Namespace, ss.Name = tt.toNS, tt.toName
			if tt.dropScopeAnno {
				ss.Annotations = nil
			}
			got, err := Unseal(ss, keys, UnsealOptions{})
			if !tt.wantOpen {
				if !errors.Is(err, ErrCannotDecrypt) {
					t.Fatalf("Unseal error = %v, want ErrCannotDecrypt", err)
				}
				if !strings.Contains(err.Error(), "encryptedData[password]") || strings.Contains(err.Error(), "hunter2") {
					t.Errorf("error %q should name the key and not the value", err)
				}
				return
			}
			if err != nil || string(got.Data["password"]) != "hunter2" || got.Namespace != tt.toNS || got.Name != tt.toName {
				t.Fatalf("Unseal = %v, %v", got, err)
			}
		})
	}
}

func TestUnsealSkipOwnerReferences(t *testing.T) {
	_, keys := keyPairs(t)
	ss := sealedSecret(t, &keys[0].PublicKey, StrictScope, "prod", "db", map[string]string{"a": "b"})
	ss.Spec.Template.Annotations[AnnotationSkipSetOwnerReferences] = "true"
	got, err := Unseal(ss, keys, UnsealOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.OwnerReferences) != 0 {
		t.Errorf("owner references = %v, want none", got.OwnerReferences)
	}
}

func TestUnsealTemplateErrors(t *testing.T) {
	_, keys := keyPairs(t)
	tests := []struct{ name, tmpl string }{
		{"parse", "{{ .password "},
		{"exec", "{{ fail .password }}"},
		{"env removed", "{{ env \"HOME\" }}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ss := sealedSecret(t, &keys[0].PublicKey, StrictScope, "prod", "db", map[string]string{"password": "hunter2"})
			ss.Spec.Template.Data = map[string]string{"out": tt.tmpl}
			_, err := Unseal(ss, keys, UnsealOptions{})
			if err == nil || !strings.Contains(err.Error(), "template.data[out]") {
				t.Fatalf("error = %v, want one naming template.data[out]", err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q leaks the value", err)
			}
		})
	}
}

// TestUnsealDeprecatedData: the spec.data form, one blob holding a whole
// JSON Secret, as kubeseal's NewSealedSecretV1 wrote it.
func TestUnsealDeprecatedData(t *testing.T) {
	_, keys := keyPairs(t)
	inner := corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "prod", Labels: map[string]string{"from": "blob"}},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"password": []byte("hunter2")},
	}
	plaintext, err := json.Marshal(inner)
	if err != nil {
		t.Fatal(err)
	}
	blob, err := bitnamiHybridEncrypt(rand.Reader, &keys[0].PublicKey, plaintext, bitnamiEncryptionLabel("prod", "db", StrictScope))
	if err != nil {
		t.Fatal(err)
	}
	ss := &v1alpha1.SealedSecret{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "db"}, Spec: v1alpha1.SealedSecretSpec{Data: blob}}

	got, err := Unseal(ss, keys, UnsealOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Data["password"]) != "hunter2" || got.Labels["from"] != "blob" || len(got.OwnerReferences) != 1 {
		t.Errorf("Unseal = %+v", got)
	}
	if _, err := Unseal(ss, keys, UnsealOptions{RejectDeprecatedData: true}); err == nil || !strings.Contains(err.Error(), "deprecated") {
		t.Errorf("RejectDeprecatedData: error = %v", err)
	}
	both := ss.DeepCopy()
	both.Spec.EncryptedData = map[string]string{"x": "AAAA"}
	if _, err := Unseal(both, keys, UnsealOptions{}); err == nil || !strings.Contains(err.Error(), "at the same time") {
		t.Errorf("data and encryptedData: error = %v", err)
	}
	moved := ss.DeepCopy()
	moved.Namespace = "staging"
	if _, err := Unseal(moved, keys, UnsealOptions{}); !errors.Is(err, ErrCannotDecrypt) {
		t.Errorf("moved blob: error = %v, want ErrCannotDecrypt", err)
	}
}

// TestUnsealSeedPlaceholder: the seed example's ciphertext is a truncated
// placeholder; unsealing it says "cannot decrypt" for each key.
func TestUnsealSeedPlaceholder(t *testing.T) {
	_, keys := keyPairs(t)
	data, err := os.ReadFile("testdata/seed-10-sealed-secret.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ss v1alpha1.SealedSecret
	if err := yaml.UnmarshalStrict(data, &ss); err != nil {
		t.Fatal(err)
	}
	_, err = Unseal(&ss, keys, UnsealOptions{})
	if !errors.Is(err, ErrCannotDecrypt) {
		t.Fatalf("error = %v, want ErrCannotDecrypt", err)
	}
	for _, key := range []string{"username", "password"} {
		if !strings.Contains(err.Error(), "encryptedData["+key+"]") {
			t.Errorf("error %q does not name %s", err, key)
		}
	}
	// The placeholder's decodable prefix starts like a real 4096-bit value
	// (length prefix 0x0200 = 512) but is far too short.
	value := ss.Spec.EncryptedData["username"]
	prefix, err := base64.StdEncoding.DecodeString(value[:strings.IndexByte(value, '.')])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(keys, StrictScope, "production", "database-credentials", prefix); err == nil || !strings.Contains(err.Error(), "cannot decrypt") {
		t.Errorf("Open(prefix) error = %v", err)
	}
}
