package run

import (
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/tether-gitops/tether/internal/controller/bucket"
	"github.com/tether-gitops/tether/internal/controller/lifecycle"
	"github.com/tether-gitops/tether/internal/metrics"
	"github.com/tether-gitops/tether/internal/source/artifact"
)

// setupBucket registers the Bucket source controller. One bucket's listing
// and download are bounded like one Git checkout (--git-max-files,
// --git-max-bytes).
func setupBucket(mgr ctrl.Manager, opts *Options, storage *artifact.Storage, recorder *metrics.Recorder, events func(string) lifecycle.EventRecorder) error {
	r := &bucket.Reconciler{
		Client:            mgr.GetClient(),
		APIReader:         mgr.GetAPIReader(),
		Storage:           storage,
		Shard:             opts.shard,
		Events:            events("tether-source-controller"),
		MaxArtifactSize:   opts.MaxArtifactSize,
		ArtifactRetention: opts.ArtifactRetention,
		MaxObjects:        opts.GitMaxFiles,
		MaxBytes:          opts.GitMaxBytes,
		Concurrency:       opts.Concurrency,
		Metrics:           recorder,
	}
	return r.SetupWithManager(mgr)
}
