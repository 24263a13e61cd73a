package v1

import (
	"time"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tether-gitops/tether/api/meta"
)

// Source is implemented by every kind of this group: it gives controllers
// that consume artifacts one way to read an object's artifact and interval.
//
// +kubebuilder:object:generate=false
type Source interface {
	runtime.Object
	// GetRequeueAfter returns how long to wait before the next reconcile.
	GetRequeueAfter() time.Duration
	// GetArtifact returns the current artifact, or nil.
	GetArtifact() *meta.Artifact
}

// Compile-time checks that the kinds implement Source.
var (
	_ Source = &GitRepository{}
	_ Source = &HelmRepository{}
	_ Source = &HelmChart{}
	_ Source = &OCIRepository{}
	_ Source = &Bucket{}
)
