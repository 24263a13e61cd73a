// Package oci reads and writes OCI artifacts in container registries with
// go-containerregistry: the artifacts of Flux's OCIRepository and of Argo
// CD's oci:// sources, and what `tether push artifact` publishes.
//
// A reference is resolved first (a tag, the highest tag within a semver
// range, or a digest) with one request for the manifest's digest, so a
// caller that already holds that digest downloads nothing. Pull then
// reads the manifest and one layer, both bounded in size; the caller
// unpacks the layer with artifact.Unpack, which refuses paths and links
// leaving the destination and archives larger than its limits.
//
//	c := &oci.Client{Rewrite: rules.Rewrite}
//	res, err := c.Resolve(ctx, "oci://ghcr.io/org/manifests", oci.Ref{SemVer: "1.x"}, opts)
//	// res.Revision == "1.2.0@sha256:..."
//	art, err := c.Pull(ctx, "oci://ghcr.io/org/manifests", res.Digest, opts)
//	layer, err := art.Layer(oci.LayerSelector{MediaType: oci.FluxContentMediaType})
//	rc, err := c.OpenLayer(ctx, art, layer, opts)
//
// Credentials come only from the caller (a .dockerconfigjson, a user name
// and password, or, for the command line, the user's Docker config), and
// errors name the URL as written and the mirror it was rewritten to, never
// a credential.
package oci
