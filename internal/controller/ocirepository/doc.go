// Package ocirepository reconciles Flux OCIRepository objects (every
// served version; the controller reads and writes them as
// source.toolkit.fluxcd.io/v1, which shares one schema with v1beta2).
//
// A reconcile resolves spec.ref (a tag, the highest tag of a semver range
// after semverFilter, or a digest) with one registry request and stops
// there when the stored artifact already holds that revision with the
// same ignore rules and layer selector. Otherwise it reads the manifest,
// picks the layer spec.layerSelector names and either unpacks it (with
// artifact.Unpack's guards: nothing leaves the folder, sizes and entries
// are bounded) and packs it again with the ignore rules, or copies it as
// it is; the result is stored like a Git artifact, with Flux's revision
// "<tag>@sha256:<digest>" and the manifest's annotations as metadata. A
// failure keeps the previous artifact.
//
// spec.verify is refused with Stalled: the Sigstore libraries do not build
// in Tether's module (see docs/architecture.md). Cloud providers other
// than generic are refused the same way.
//
//	r := &ocirepository.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
//		OCI: &oci.Client{Rewrite: rules.Rewrite}, Storage: storage, Events: recorder}
//	err := r.SetupWithManager(mgr)
package ocirepository
