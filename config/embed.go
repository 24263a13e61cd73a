// Package config holds Tether's manifests: the CustomResourceDefinitions
// (crd/) and the install (install/, a Kustomize base and overlays),
// embedded here so that `tether install` carries them.
package config

import "embed"

// FS holds crd/ and install/ as they are in the repository.
//
//go:embed crd/kustomization.yaml crd/bases/*.yaml install/base/*.yaml install/overlays/*/*.yaml
var FS embed.FS
