package sealedsecrets

import (
	"crypto/rsa"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// testKeys are generated once: 2048-bit keys keep the tests fast.
var testKeys struct {
	once    sync.Once
	secrets []*corev1.Secret // old, new, unrelated
	keys    []*rsa.PrivateKey
	err     error
}

// keyPairs returns the old, new and unrelated test key Secrets and keys.
func keyPairs(t testing.TB) ([]*corev1.Secret, []*rsa.PrivateKey) {
	t.Helper()
	testKeys.once.Do(func() {
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := range 3 {
			s, err := GenerateKeySecret(KeyOptions{Namespace: "kube-system", Bits: 2048, Now: base.Add(time.Duration(i) * 24 * time.Hour)})
			if err != nil {
				testKeys.err = err
				return
			}
			key, _, err := ReadKeySecret(s)
			if err != nil {
				testKeys.err = err
				return
			}
			testKeys.secrets = append(testKeys.secrets, s)
			testKeys.keys = append(testKeys.keys, key)
		}
	})
	if testKeys.err != nil {
		t.Fatalf("generate test keys: %v", testKeys.err)
	}
	return testKeys.secrets, testKeys.keys
}
