package sealedsecrets_test

import (
	"encoding/base64"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/api/bitnami/v1alpha1"
	"github.com/tether-gitops/tether/internal/sealedsecrets"
)

// Example seals a value as kubeseal --cert does and unseals the
// SealedSecret as the controller does.
func Example() {
	keySecret, err := sealedsecrets.GenerateKeySecret(sealedsecrets.KeyOptions{Namespace: "kube-system", Bits: 2048})
	if err != nil {
		panic(err)
	}

	// kubeseal's side: the certificate only.
	pub, err := sealedsecrets.PublicKeyFromCertPEM(keySecret.Data[corev1.TLSCertKey], time.Now())
	if err != nil {
		panic(err)
	}
	sealed, err := sealedsecrets.Seal(pub, sealedsecrets.NamespaceWideScope, "prod", "db", []byte("hunter2"))
	if err != nil {
		panic(err)
	}
	ss := &v1alpha1.SealedSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "db",
			Annotations: sealedsecrets.ScopeAnnotations(nil, sealedsecrets.NamespaceWideScope)},
		Spec: v1alpha1.SealedSecretSpec{
			EncryptedData: map[string]string{"password": base64.StdEncoding.EncodeToString(sealed)},
			Template:      v1alpha1.SecretTemplateSpec{Type: "Opaque"},
		},
	}

	// The controller's side: the key Secrets, newest first.
	keys, err := sealedsecrets.PrivateKeys([]corev1.Secret{*keySecret})
	if err != nil {
		panic(err)
	}
	secret, err := sealedsecrets.Unseal(ss, keys, sealedsecrets.UnsealOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println(secret.Namespace, secret.Name, secret.Type, string(secret.Data["password"]))
	// Output: prod db Opaque hunter2
}
