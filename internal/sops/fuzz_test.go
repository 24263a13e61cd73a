package sops_test

import (
	"bytes"
	"testing"

	"github.com/tether-gitops/tether/internal/sops"
	"github.com/tether-gitops/tether/internal/sops/sopstest"
)

// FuzzOpen feeds Open files an attacker with write access to a source
// could commit: it must never panic, must hand plain files back as they
// are, and must never answer an encrypted-looking file with the
// ciphertext unopened.
func FuzzOpen(f *testing.F) {
	id, recipient := sopstest.AgeKey(f)
	keys, err := sops.ParseKeys("ns/keys", map[string][]byte{"k.agekey": []byte(id)})
	if err != nil {
		f.Fatal(err)
	}
	d := sops.New(keys)
	age := sopstest.Options{AgeRecipients: []string{recipient}}
	f.Add("db.yaml", sopstest.Encrypt(f, "db.yaml", []byte(secretYAML), age))
	f.Add("db.env", sopstest.Encrypt(f, "db.env", []byte("A=1\nB=2\n"), age))
	f.Add("db.json", sopstest.Encrypt(f, "db.json", []byte(`{"a": {"b": [1, "x"]}}`), age))
	f.Add("db.ini", sopstest.Encrypt(f, "db.ini", []byte("[s]\na = 1\n"), age))
	f.Add("key", sopstest.Encrypt(f, "key", []byte("raw bytes"), age))
	f.Add("x.yaml", []byte("sops:\n  mac: ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\n"))
	f.Add("x.yaml", []byte(secretYAML))
	f.Fuzz(func(t *testing.T, file string, data []byte) {
		out, err := d.Open(file, data)
		if err != nil {
			return
		}
		if !bytes.Contains(data, []byte("ENC[AES256_GCM,")) && !bytes.Equal(out, data) {
			t.Fatalf("a plain file came back changed:\n%q\n%q", data, out)
		}
		if _, err := sops.Refuse("").Open(file, data); err == nil && !bytes.Equal(out, data) {
			t.Fatalf("Refuse let an encrypted file through")
		}
	})
}
