// Package bucket reconciles Flux Bucket objects (v1 and v1beta2; the
// controller reads and writes them as source.toolkit.fluxcd.io/v1, which
// shares one schema with v1beta2).
//
// A reconcile lists the bucket's objects with internal/source/bucket
// (minio-go, any S3-compatible storage), filtered by prefix, the bucket's
// root .sourceignore object and spec.ignore, and computes Flux's revision
// from the listing (sha256 of the sorted "name etag" lines). Only when that
// revision or spec.ignore differs from the stored artifact's are the
// objects downloaded, packed into a tar.gz (Flux's default exclusions
// apply too) and stored in the artifact server, as a GitRepository's are.
// A failed listing or download (wrong keys, unreachable endpoint) keeps the
// previous artifact and reports FetchFailed; settings Tether cannot serve
// (the gcp and azure providers, aws without keys, sts, workload identity)
// stall with a message saying so.
//
//	r := &bucket.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
//		Storage: storage, Events: recorder}
//	err := r.SetupWithManager(mgr)
package bucket
