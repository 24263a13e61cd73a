package run

import (
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/tether-gitops/tether/internal/controller/lifecycle"
	"github.com/tether-gitops/tether/internal/controller/ocirepository"
	"github.com/tether-gitops/tether/internal/metrics"
	"github.com/tether-gitops/tether/internal/source/artifact"
	"github.com/tether-gitops/tether/internal/source/oci"
)

// setupOCIRepository registers the OCIRepository source controller. A
// pulled layer and the artifact packed from it are bounded by
// --artifact-max-size; unpacking by the storage's limits.
func setupOCIRepository(mgr ctrl.Manager, opts *Options, storage *artifact.Storage, client *oci.Client,
	recorder *metrics.Recorder, events func(string) lifecycle.EventRecorder) error {
	r := &ocirepository.Reconciler{
		Client:            mgr.GetClient(),
		APIReader:         mgr.GetAPIReader(),
		OCI:               client,
		Storage:           storage,
		Shard:             opts.shard,
		Events:            events("tether-source-controller"),
		MaxArtifactSize:   opts.MaxArtifactSize,
		ArtifactRetention: opts.ArtifactRetention,
		Concurrency:       opts.Concurrency,
		Metrics:           recorder,
	}
	return r.SetupWithManager(mgr)
}
