package sops

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/cmd/sops/formats"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/tether-gitops/tether/internal/redact"
	"github.com/tether-gitops/tether/internal/render"
)

// plaintext is what a Decryptor has decrypted: every value that was
// encrypted, to mask out of messages, and the values a generator could
// copy into a ConfigMap, to refuse such a ConfigMap.
type plaintext struct {
	mu     sync.Mutex
	values []string
	// files maps the whole content of a decrypted file (what a generator's
	// files entry copies) to the file's name.
	files map[string]string
	// pairs maps "key\x00value" of a decrypted dotenv file (what a
	// generator's envs entry copies) to the file's name.
	pairs map[string]string
}

// record notes the values of one decrypted file: enc and dec are the
// same document before and after decryption, out the plain file.
func (p *plaintext) record(file string, format formats.Format, enc, dec sops.TreeBranches, out []byte) {
	var values []string
	pairs := map[string]string{}
	for i := range dec {
		if i >= len(enc) {
			break
		}
		if (format == formats.Yaml || format == formats.Json) && isManifest(dec[i]) {
			// A whole encrypted manifest: its kind, name and labels
			// are no secret, and masking them would garble messages.
			for j := range dec[i] {
				if j < len(enc[i]) && !manifestFrame[fmt.Sprint(dec[i][j].Key)] {
					decrypted(enc[i][j].Value, dec[i][j].Value, "", &values, pairs)
				}
			}
			continue
		}
		decrypted(enc[i], dec[i], "", &values, pairs)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.files == nil {
		p.files, p.pairs = map[string]string{}, map[string]string{}
	}
	p.values = append(p.values, values...)
	if format == formats.Binary {
		p.values = append(p.values, string(out))
	}
	if len(out) > 0 {
		p.files[string(out)] = file
	}
	if format == formats.Dotenv {
		for k := range pairs {
			p.pairs[k] = file
		}
	}
}

// manifestFrame are the top-level fields of a Kubernetes object that
// say what it is rather than hold its data.
var manifestFrame = map[string]bool{"apiVersion": true, "kind": true, "metadata": true, "type": true}

// isManifest reports whether the document b is a Kubernetes object.
func isManifest(b sops.TreeBranch) bool {
	var api, kind bool
	for _, it := range b {
		switch it.Key {
		case "apiVersion":
			api = true
		case "kind":
			kind = true
		}
	}
	return api && kind
}

// decrypted walks the encrypted node enc and its decrypted twin dec,
// collecting the values that were encrypted (and, for top-level items,
// key and value pairs).
func decrypted(enc, dec any, key string, values *[]string, pairs map[string]string) {
	switch d := dec.(type) {
	case sops.TreeBranch:
		e, ok := enc.(sops.TreeBranch)
		if !ok {
			return
		}
		for i := range d {
			if i < len(e) {
				decrypted(e[i].Value, d[i].Value, fmt.Sprint(d[i].Key), values, pairs)
			}
		}
	case []any:
		e, ok := enc.([]any)
		if !ok {
			return
		}
		for i := range d {
			if i < len(e) {
				decrypted(e[i], d[i], "", values, pairs)
			}
		}
	case sops.Comment:
	default:
		if s, ok := enc.(string); ok && strings.HasPrefix(s, "ENC[") {
			v := fmt.Sprint(d)
			*values = append(*values, v)
			if key != "" {
				pairs[key+"\x00"+v] = ""
			}
		}
	}
}

// refuseManifests fails when the decrypted YAML or JSON document holds a
// Kubernetes object of another kind than Secret: only Secrets are meant
// to hold decrypted values (Flux decrypts nothing else).
func refuseManifests(file string, out []byte) error {
	dec := k8syaml.NewYAMLOrJSONDecoder(bytes.NewReader(out), 4096)
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return nil // not manifests: a generator's data file
		}
		u := unstructured.Unstructured{Object: doc}
		if u.GetAPIVersion() == "" || u.GetKind() == "" {
			continue
		}
		if u.GetKind() != "Secret" || u.GroupVersionKind().Group != "" {
			return fmt.Errorf("%s: a SOPS-encrypted %s; only Secrets may be encrypted", file, u.GetKind())
		}
	}
}

// Finish refuses a ConfigMap that a generator filled from a decrypted
// file, and masks every decrypted value out of err (see
// render.Decryptor).
func (d *Decryptor) Finish(objs []render.Object, err error) error {
	d.seen.mu.Lock()
	defer d.seen.mu.Unlock()
	values := redact.New()
	values.AddWithBase64(d.seen.values...)
	if err != nil {
		return values.Error(err)
	}
	for _, o := range objs {
		u := o.Obj
		if u.GetKind() != "ConfigMap" || u.GroupVersionKind().Group != "" {
			continue
		}
		data, _, _ := unstructured.NestedStringMap(u.Object, "data")
		for k, v := range data {
			file, ok := d.seen.files[v]
			if !ok {
				file, ok = d.seen.pairs[k+"\x00"+v]
			}
			if ok {
				return fmt.Errorf("ConfigMap '%s' (from %s) takes key '%s' from the SOPS-encrypted %s; only Secrets may hold decrypted values: use a secretGenerator", u.GetName(), o.Source, k, file)
			}
		}
	}
	return nil
}
