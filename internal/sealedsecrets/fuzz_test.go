package sealedsecrets

import (
	"bytes"
	"crypto/rand"
	"testing"
)

// FuzzOpen feeds arbitrary bytes to Open: it must never panic, and whatever
// does not come from a real seal must fail with ErrCannotDecrypt.
func FuzzOpen(f *testing.F) {
	_, keys := keyPairs(f)
	valid, err := bitnamiHybridEncrypt(rand.Reader, &keys[0].PublicKey, []byte("seed"), StrictScope.Label("prod", "db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add([]byte{})
	f.Add([]byte{0x01})
	f.Add([]byte{0x00, 0x00})
	f.Add([]byte{0xff, 0xff, 0x00})
	f.Add(append([]byte{0x01, 0x00}, bytes.Repeat([]byte{0xab}, 300)...))
	f.Fuzz(func(t *testing.T, ct []byte) {
		got, err := Open(keys, StrictScope, "prod", "db", ct)
		if err != nil {
			return
		}
		if !bytes.Equal(ct, valid) && string(got) != "seed" {
			t.Fatalf("Open accepted a forged value: %q", got)
		}
	})
}

// FuzzParseSealedSecret feeds arbitrary bytes to ParseSealedSecret (what
// /v1/verify and /v1/rotate read from callers): it must never panic, and
// what it accepts is one named SealedSecret.
func FuzzParseSealedSecret(f *testing.F) {
	f.Add([]byte("apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: db, namespace: prod}\nspec: {encryptedData: {a: QUJD}}\n"))
	f.Add([]byte(`{"apiVersion":"bitnami.com/v1alpha1","kind":"SealedSecret","metadata":{"name":"db","namespace":"prod"}}`))
	f.Add([]byte("---\n---\n"))
	f.Add([]byte("a: [\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		ss, err := ParseSealedSecret(in)
		if err != nil {
			return
		}
		if ss.Kind != "SealedSecret" || ss.Name == "" {
			t.Fatalf("accepted %s %q", ss.Kind, ss.Name)
		}
	})
}
