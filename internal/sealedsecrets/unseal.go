package sealedsecrets

import (
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/api/bitnami/v1alpha1"
)

// AnnotationSkipSetOwnerReferences set to "true" in spec.template's
// annotations leaves the Secret without an owner reference to its
// SealedSecret, so deleting the SealedSecret does not delete the Secret.
const AnnotationSkipSetOwnerReferences = "sealedsecrets.bitnami.com/skip-set-owner-references"

// UnsealOptions change how Unseal treats a SealedSecret.
type UnsealOptions struct {
	// RejectDeprecatedData refuses the deprecated spec.data form (one
	// blob holding a whole Secret). Upstream's controller accepts it by
	// default (--accept-deprecated-v1-data=true).
	RejectDeprecatedData bool
}

// templateFuncs are sprig's generic functions without those that would let
// a template author read the controller's environment, as upstream does.
var templateFuncs = func() template.FuncMap {
	funcs := template.FuncMap(sprig.GenericFuncMap())
	for _, name := range []string{"env", "expandenv", "getHostByName"} {
		delete(funcs, name)
	}
	return funcs
}()

// Unseal opens ss with keys (newest first) into the Secret the controller
// writes, as Bitnami's SealedSecret.Unseal does: spec.template's metadata,
// type and immutable; each spec.encryptedData value opened under the scope
// that ss's own annotations declare; then each spec.template.data entry
// rendered as a Go template (with sprig) over the opened values. The name
// and namespace are always ss's, and an owner reference with
// controller=true points at ss unless the template asks otherwise.
//
// Errors name the failing keys but never their values; every key is tried
// before the joined error is returned.
func Unseal(ss *v1alpha1.SealedSecret, keys []*rsa.PrivateKey, opts UnsealOptions) (*corev1.Secret, error) {
	ref := ss.Namespace + "/" + ss.Name
	var secret *corev1.Secret
	var err error
	if ss.Spec.Data == nil {
		secret, err = unsealEncryptedData(ss, keys)
	} else {
		secret, err = unsealDeprecatedData(ss, keys, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("unseal SealedSecret %s: %w", ref, err)
	}
	secret.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}
	secret.Namespace = ss.Namespace
	secret.Name = ss.Name
	if ss.Spec.Template.Annotations[AnnotationSkipSetOwnerReferences] != "true" {
		controller := true
		secret.OwnerReferences = []metav1.OwnerReference{{
			APIVersion: v1alpha1.GroupVersion.String(),
			Kind:       "SealedSecret",
			Name:       ss.Name,
			UID:        ss.UID,
			Controller: &controller,
		}}
	}
	return secret, nil
}

// unsealEncryptedData handles the per-value spec.encryptedData form.
func unsealEncryptedData(ss *v1alpha1.SealedSecret, keys []*rsa.PrivateKey) (*corev1.Secret, error) {
	secret := &corev1.Secret{Type: corev1.SecretType(ss.Spec.Template.Type)}
	ss.Spec.Template.ObjectMeta.DeepCopyInto(&secret.ObjectMeta)
	if ss.Spec.Template.Immutable != nil {
		immutable := *ss.Spec.Template.Immutable
		secret.Immutable = &immutable
	}
	secret.Data = map[string][]byte{}
	scope := ScopeOf(ss.Annotations)
	values := map[string]string{}
	var errs []error
	for _, key := range sortedKeys(ss.Spec.EncryptedData) {
		raw, err := base64.StdEncoding.DecodeString(ss.Spec.EncryptedData[key])
		if err != nil {
			errs = append(errs, fmt.Errorf("encryptedData[%s]: %w (the value is not standard base64)", key, ErrCannotDecrypt))
			continue
		}
		plaintext, err := Open(keys, scope, ss.Namespace, ss.Name, raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("encryptedData[%s] (%s scope): %w", key, scope, err))
			continue
		}
		secret.Data[key] = plaintext
		values[key] = string(plaintext)
	}
	for _, key := range sortedKeys(ss.Spec.Template.Data) {
		rendered, err := render(key, ss.Spec.Template.Data[key], values)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		secret.Data[key] = rendered
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return secret, nil
}

// render executes the template.data entry key over the opened values.
// Errors carry only the template's own position and message: execution
// errors from text/template may quote values, so they are not wrapped.
func render(key, text string, values map[string]string) ([]byte, error) {
	tmpl, err := template.New(key).Funcs(templateFuncs).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("template.data[%s]: %w", key, err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, values); err != nil {
		return nil, fmt.Errorf("template.data[%s]: the template failed to execute; check its syntax and the keys it uses", key)
	}
	return out.Bytes(), nil
}

// unsealDeprecatedData handles spec.data: one value, sealed under the
// SealedSecret's scope, holding a whole v1 Secret as JSON (what kubeseal's
// NewSealedSecretV1 wrote). Its metadata, type and data come from the blob.
func unsealDeprecatedData(ss *v1alpha1.SealedSecret, keys []*rsa.PrivateKey, opts UnsealOptions) (*corev1.Secret, error) {
	if opts.RejectDeprecatedData {
		return nil, errors.New("uses the deprecated spec.data field: reseal it with kubeseal to use spec.encryptedData")
	}
	if len(ss.Spec.EncryptedData) > 0 {
		return nil, errors.New("cannot use spec.encryptedData and the deprecated spec.data at the same time")
	}
	scope := ScopeOf(ss.Annotations)
	plaintext, err := Open(keys, scope, ss.Namespace, ss.Name, ss.Spec.Data)
	if err != nil {
		return nil, fmt.Errorf("spec.data (%s scope): %w", scope, err)
	}
	var secret corev1.Secret
	if err := json.Unmarshal(plaintext, &secret); err != nil {
		// The JSON error could quote decrypted bytes; keep it out.
		return nil, errors.New("spec.data: the decrypted value is not a JSON Secret")
	}
	return &secret, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
