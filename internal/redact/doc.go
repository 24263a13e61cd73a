// Package redact masks Secret values in messages: the one helper behind
// every condition message, event note, log line and error text that may
// quote a value taken from a Secret.
//
// Build a Values with the strings to hide, then mask text and errors
// with it:
//
//	var secrets redact.Values // masks values of 3 bytes or more
//	secrets.AddSecretData(secret.Data)
//	if err := secrets.AddYAMLLeaves(valuesYAML); err != nil {
//		secrets.Add(string(valuesYAML))
//	}
//	msg := secrets.String("login failed for hunter2") // "login failed for ***"
//	err = secrets.Error(err)                          // nil stays nil
//
// A value containing another is masked whole (longest first), and a
// Values is safe for concurrent reads once built.
package redact
