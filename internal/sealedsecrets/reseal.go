package sealedsecrets

import (
	"bufio"
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/tether-gitops/tether/api/bitnami/v1alpha1"
)

// ParseSealedSecret reads one SealedSecret (bitnami.com/v1alpha1) in YAML
// or JSON, as kubeseal --re-encrypt and --validate send it. More than one
// document, another kind, or a SealedSecret without a name (or without a
// namespace, unless cluster-wide) is refused. Errors never quote the input.
func ParseSealedSecret(data []byte) (*v1alpha1.SealedSecret, error) {
	var doc []byte
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		d, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, errors.New("the input is not YAML or JSON")
		}
		var probe any
		if yaml.Unmarshal(d, &probe) != nil {
			return nil, errors.New("the input is not YAML or JSON")
		}
		if probe == nil {
			continue // empty or comments only
		}
		if doc != nil {
			return nil, errors.New("the input holds more than one document: give one SealedSecret")
		}
		doc = d
	}
	if doc == nil {
		return nil, errors.New("the input is empty: give one SealedSecret")
	}
	var ss v1alpha1.SealedSecret
	if err := yaml.Unmarshal(doc, &ss); err != nil {
		return nil, errors.New("the input is not a SealedSecret in YAML or JSON")
	}
	if ss.APIVersion != v1alpha1.GroupVersion.String() || ss.Kind != "SealedSecret" {
		return nil, fmt.Errorf("the input is %s %s, not %s SealedSecret", orNone(ss.APIVersion), orNone(ss.Kind), v1alpha1.GroupVersion)
	}
	if ss.Name == "" || (ScopeOf(ss.Annotations) != ClusterWideScope && ss.Namespace == "") {
		return nil, errors.New("the SealedSecret needs metadata.name, and metadata.namespace unless it is cluster-wide")
	}
	return &ss, nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// Verify reports whether every sealed value of ss (spec.encryptedData, or
// the deprecated spec.data) opens with keys under the scope that ss's own
// annotations declare, as Bitnami's /v1/verify does. Unlike Unseal it does
// not run spec.template.data: a template that fails on some values and not
// on others would make the answer an oracle of the plaintext. The error
// names the first value that does not open, never a value.
func Verify(ss *v1alpha1.SealedSecret, keys []*rsa.PrivateKey) error {
	_, err := resealValues(ss, keys, nil)
	return err
}

// Reseal returns a copy of ss whose sealed values are sealed again for
// pub (the newest key), as Bitnami's /v1/rotate does, each under the same
// scope, namespace and name it opened under. The scope is read from ss's
// own annotations only, never from spec.template's: taking it from the
// template let a caller widen a strict value to cluster-wide and then move
// it anywhere (CVE-2026-22728). spec.template, including its data
// templates, is kept as written and is not run; what the API server set
// (uid, resourceVersion, managedFields, status, the last-applied
// annotation) is dropped, so the result is ready for Git.
func Reseal(ss *v1alpha1.SealedSecret, keys []*rsa.PrivateKey, pub *rsa.PublicKey) (*v1alpha1.SealedSecret, error) {
	if pub == nil {
		return nil, errors.New("reseal: no public key")
	}
	return resealValues(ss, keys, pub)
}

// resealValues opens each sealed value of ss and, when pub is set, seals
// it again for pub under the same label. Keys are visited in sorted
// order and the first value that does not open ends it.
func resealValues(ss *v1alpha1.SealedSecret, keys []*rsa.PrivateKey, pub *rsa.PublicKey) (*v1alpha1.SealedSecret, error) {
	ref := ss.Namespace + "/" + ss.Name
	scope := ScopeOf(ss.Annotations)
	if ss.Spec.Data != nil && len(ss.Spec.EncryptedData) > 0 {
		return nil, fmt.Errorf("SealedSecret %s: cannot use spec.encryptedData and the deprecated spec.data at the same time", ref)
	}
	again := func(raw []byte) ([]byte, error) {
		plaintext, err := Open(keys, scope, ss.Namespace, ss.Name, raw)
		if err != nil || pub == nil {
			return nil, err
		}
		return Seal(pub, scope, ss.Namespace, ss.Name, plaintext)
	}
	out := resealedShell(ss, scope)
	for _, key := range sortedKeys(ss.Spec.EncryptedData) {
		raw, err := base64.StdEncoding.DecodeString(ss.Spec.EncryptedData[key])
		if err != nil {
			return nil, fmt.Errorf("SealedSecret %s: encryptedData[%s]: %w (the value is not standard base64)", ref, key, ErrCannotDecrypt)
		}
		sealed, err := again(raw)
		if err != nil {
			return nil, fmt.Errorf("SealedSecret %s: encryptedData[%s] (%s scope): %w", ref, key, scope, err)
		}
		out.Spec.EncryptedData[key] = base64.StdEncoding.EncodeToString(sealed)
	}
	if ss.Spec.Data != nil {
		sealed, err := again(ss.Spec.Data)
		if err != nil {
			return nil, fmt.Errorf("SealedSecret %s: spec.data (%s scope): %w", ref, scope, err)
		}
		out.Spec.Data = sealed
	}
	return out, nil
}

// resealedShell is ss without its sealed values, status and what the API
// server set, with the scope annotations written for scope.
func resealedShell(ss *v1alpha1.SealedSecret, scope Scope) *v1alpha1.SealedSecret {
	out := &v1alpha1.SealedSecret{
		TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "SealedSecret"},
		ObjectMeta: metav1.ObjectMeta{Name: ss.Name, Namespace: ss.Namespace,
			Labels: copyMap(ss.Labels), Annotations: copyMap(ss.Annotations)},
		Spec: v1alpha1.SealedSecretSpec{EncryptedData: map[string]string{}},
	}
	ss.Spec.Template.DeepCopyInto(&out.Spec.Template)
	delete(out.Annotations, corev1.LastAppliedConfigAnnotation)
	out.Annotations = ScopeAnnotations(out.Annotations, scope)
	if len(out.Annotations) == 0 {
		out.Annotations = nil
	}
	return out
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
