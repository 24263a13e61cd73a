package sops

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/getsops/sops/v3/aes"
	"github.com/getsops/sops/v3/cmd/sops/common"
	"github.com/getsops/sops/v3/cmd/sops/formats"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/keyservice"
	"github.com/getsops/sops/v3/logging"
	"github.com/sirupsen/logrus"

	"github.com/tether-gitops/tether/internal/render"
)

func init() {
	// SOPS logs every key it tries at info level, to its own loggers; those
	// lines would interleave with ours and say less than our errors do.
	logging.SetLevel(logrus.FatalLevel)
}

var _ render.Decryptor = (*Decryptor)(nil)

// ErrNoDecryption: an encrypted file was met by a Decryptor without keys
// (the object has no decryption config).
var ErrNoDecryption = errors.New("is SOPS-encrypted and no decryption is configured")

// Decryptor opens SOPS-encrypted files with a set of Keys; see the package
// doc. It is safe for concurrent use.
type Decryptor struct {
	keys   *Keys  // nil: refuse encrypted files
	advice string // for a refusal: how to configure decryption
	seen   plaintext
}

// New returns a Decryptor that opens files with keys.
func New(keys *Keys) *Decryptor {
	return &Decryptor{keys: keys}
}

// Refuse returns a Decryptor without keys: Open fails on an encrypted file
// with ErrNoDecryption followed by advice ("set spec.decryption").
func Refuse(advice string) *Decryptor {
	return &Decryptor{advice: advice}
}

// ID identifies the keys (a digest of their material, and their Secret),
// so that renders with other keys are cached apart.
func (d *Decryptor) ID() string {
	if d.keys == nil {
		return "refuse"
	}
	return d.keys.id
}

// Open returns data decrypted when it is a SOPS-encrypted document, and
// data as it is otherwise. file (the path in the source) names the
// document in errors; its extension chooses the format as SOPS does, and
// a dotenv or binary document is recognised by its content whatever its
// name (a secretGenerator's env file need not end in .env).
func (d *Decryptor) Open(file string, data []byte) ([]byte, error) {
	format, ok := detect(file, data)
	if !ok {
		return data, nil
	}
	if d.keys == nil {
		msg := fmt.Errorf("%s %w", file, ErrNoDecryption)
		if d.advice != "" {
			msg = fmt.Errorf("%w: %s", msg, d.advice)
		}
		return nil, msg
	}
	store := common.StoreForFormat(format, config.NewStoresConfig())
	tree, err := store.LoadEncryptedFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: not a valid SOPS-encrypted %s document: %w", file, formatName(format), err)
	}
	svc := keyservice.NewCustomLocalClient(keyServer{keys: d.keys})
	key, err := tree.Metadata.GetDataKeyWithKeyServices([]keyservice.KeyServiceClient{svc}, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot decrypt with the keys of Secret '%s': %s", file, d.keys.source, oneLine(err.Error()))
	}
	encrypted, err := store.LoadEncryptedFile(data) // an untouched copy, see record
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	cipher := aes.NewCipher()
	mac, err := tree.Decrypt(key, cipher)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot decrypt: %w", file, err)
	}
	want, err := cipher.Decrypt(tree.Metadata.MessageAuthenticationCode, key, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil || want != mac {
		return nil, fmt.Errorf("%s: the SOPS message authentication code does not match: the file was changed after it was encrypted", file)
	}
	out, err := store.EmitPlainFile(tree.Branches)
	if err != nil {
		return nil, fmt.Errorf("%s: write the decrypted %s document: %w", file, formatName(format), err)
	}
	if format == formats.Yaml || format == formats.Json {
		if err := refuseManifests(file, out); err != nil {
			return nil, err
		}
	}
	d.seen.record(file, format, encrypted.Branches, tree.Branches, out)
	return out, nil
}

// Markers that only a SOPS-encrypted document holds: its encrypted
// message authentication code, in each format's syntax.
var (
	yamlMarker   = []byte("mac: ENC[AES256_GCM,")
	jsonMarker   = []byte(`"mac": "ENC[AES256_GCM,`)
	dotenvMarker = []byte("sops_mac=ENC[AES256_GCM,")
	iniMarker    = regexp.MustCompile(`(?m)^\[sops\]$(?s:.*)^mac\s*=\s*ENC\[AES256_GCM,`)
)

// detect tells whether data is a SOPS-encrypted document and in which
// format.
func detect(file string, data []byte) (formats.Format, bool) {
	switch {
	case bytes.Contains(data, dotenvMarker):
		return formats.Dotenv, true
	case bytes.Contains(data, jsonMarker):
		if path.Ext(file) == ".json" {
			return formats.Json, true
		}
		// SOPS writes any other file as JSON with the content in "data".
		return formats.Binary, true
	case iniMarker.Match(data):
		return formats.Ini, true
	case bytes.Contains(data, yamlMarker):
		return formats.Yaml, true
	}
	return 0, false
}

func formatName(f formats.Format) string {
	switch f {
	case formats.Yaml:
		return "YAML"
	case formats.Json:
		return "JSON"
	case formats.Dotenv:
		return "dotenv"
	case formats.Ini:
		return "INI"
	}
	return "binary"
}

// oneLine folds SOPS's multi-line key errors into one line for a
// condition message.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
