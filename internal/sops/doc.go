// Package sops opens SOPS-encrypted files (YAML, JSON, dotenv, INI and
// binary) with age and OpenPGP private keys held in a Kubernetes Secret,
// as Flux's kustomize-controller does for a Kustomization's
// spec.decryption.
//
// A Decryptor is handed to the renderer (render.Options.Decryptor), which
// passes every file it reads through Open: an encrypted file comes back
// decrypted, in memory only, and anything else comes back as it was. So
// encrypted Secret manifests, and the dotenv and other files of a
// secretGenerator, turn into the plain Secret that is applied, and the
// plaintext is never written to disk, the artifact storage or a message.
//
// Keys are read from the Secret's data as Flux reads them: every key
// ending in ".agekey" holds age identities (one per line, "#" comments)
// and every key ending in ".asc" holds armored OpenPGP private keys. The
// keys of cloud key services (sops.aws-kms, sops.gcp-kms.json,
// sops.azure-kv, sops.vault-token) are not supported: a file that only
// such a key opens fails with a message saying so.
//
// Refuse returns a Decryptor without keys, for an object that has no
// decryption config: it lets plain files through and fails on an
// encrypted one, naming it, so that ciphertext is never applied as it is.
package sops
