// Package sealedsecrets seals and opens values the way Bitnami's
// sealed-secrets controller and kubeseal do, byte for byte, so that
// SealedSecrets made by kubeseal open in Tether and values sealed by Tether
// open in Bitnami's controller.
//
// A value is sealed with hybrid encryption: a fresh AES-256-GCM session key
// encrypts the value, and RSA-OAEP (SHA-256) encrypts the session key under
// the cluster's public key with a label that binds the value to its scope
// (see Scope). The wire format is
//
//	uint16 big-endian len(rsa) || rsa ciphertext || AES-GCM ciphertext+tag
//
// with an all-zero GCM nonce, which is safe because each session key is
// used once. spec.encryptedData holds each value in standard base64.
//
// Use:
//
//	pub, err := sealedsecrets.PublicKeyFromCertPEM(certPEM, time.Now())
//	sealed, err := sealedsecrets.Seal(pub, sealedsecrets.StrictScope, "prod", "db", []byte("s3cret"))
//	value := base64.StdEncoding.EncodeToString(sealed)
//
//	keys, err := sealedsecrets.PrivateKeys(keySecrets) // newest first
//	secret, err := sealedsecrets.Unseal(sealedSecret, keys, sealedsecrets.UnsealOptions{})
//
//	// /v1/verify and /v1/rotate (kubeseal --validate, --re-encrypt):
//	ss, err := sealedsecrets.ParseSealedSecret(body)
//	err = sealedsecrets.Verify(ss, keys)
//	resealed, err := sealedsecrets.Reseal(ss, keys, &keys[0].PublicKey)
//
// The package makes no API calls: key pairs are built as corev1.Secret
// objects (GenerateKeySecret) and read back from Secrets the caller lists.
package sealedsecrets
