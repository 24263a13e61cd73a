//go:build tools

// Package kwok pins the kwok command built for tests.
package kwok

import _ "sigs.k8s.io/kwok/cmd/kwok"
