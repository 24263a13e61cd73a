package render

// Decryptor opens encrypted files as a render reads them, so that only
// the rendered objects ever hold their plaintext (a SOPS decryptor, see
// internal/sops). One Decryptor serves one caller; the renderer calls it
// from one goroutine per render.
type Decryptor interface {
	// ID identifies the keys; renders with other keys are cached apart.
	ID() string
	// Open returns data decrypted when it is an encrypted document, data
	// itself when it is not, or an error that names file (the path in the
	// source, or the remote base's URL and path).
	Open(file string, data []byte) ([]byte, error)
	// Finish sees the result of a render that called Open: it refuses
	// objects that may not hold plaintext and masks every plaintext value
	// out of err. It returns the error to report (nil when objs may be
	// applied).
	Finish(objs []Object, err error) error
}

// openFile passes data, read from file, through o's Decryptor, if any.
func (o *Options) openFile(file string, data []byte) ([]byte, error) {
	if o.Decryptor == nil {
		return data, nil
	}
	return o.Decryptor.Open(file, data)
}
