package redact_test

import (
	"errors"
	"fmt"

	"github.com/tether-gitops/tether/internal/redact"
)

func ExampleValues() {
	var secrets redact.Values
	secrets.AddSecretData(map[string][]byte{"password": []byte("hunter2")})
	_ = secrets.AddYAMLLeaves([]byte("db:\n  user: admin-from-secret\n"))

	fmt.Println(secrets.String("login as admin-from-secret with hunter2 (aHVudGVyMg==)"))
	fmt.Println(secrets.Error(errors.New("password hunter2 refused")))
	fmt.Println(secrets.Error(nil))
	// Output:
	// login as *** with *** (***)
	// password *** refused
	// <nil>
}
