package application

import (
	"math"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/diff"
)

// prunePropagation is the deletion propagation for pruned objects:
// PrunePropagationPolicy=foreground|background|orphan, foreground by
// default as in Argo CD.
func prunePropagation(s diff.SyncOptions) metav1.DeletionPropagation {
	v, _ := s.Value("PrunePropagationPolicy")
	switch strings.ToLower(v) {
	case "background":
		return metav1.DeletePropagationBackground
	case "orphan":
		return metav1.DeletePropagationOrphan
	}
	return metav1.DeletePropagationForeground
}

// Retry defaults, Argo CD's.
const (
	defaultBackoff       = 5 * time.Second
	defaultBackoffFactor = 2
	defaultMaxBackoff    = 3 * time.Minute
)

// retryDelay is how long to wait before retry number n (0 for the first
// retry): duration * factor^n, at most maxDuration.
func retryDelay(r *argov1.RetryStrategy, n int64) time.Duration {
	base, factor, ceiling := defaultBackoff, int64(defaultBackoffFactor), defaultMaxBackoff
	if r != nil && r.Backoff != nil {
		if d, err := time.ParseDuration(r.Backoff.Duration); err == nil && d > 0 {
			base = d
		} else if s, err := time.ParseDuration(r.Backoff.Duration + "s"); err == nil && s > 0 {
			base = s
		}
		if r.Backoff.Factor != nil && *r.Backoff.Factor > 0 {
			factor = *r.Backoff.Factor
		}
		if d, err := time.ParseDuration(r.Backoff.MaxDuration); err == nil && d > 0 {
			ceiling = d
		}
	}
	d := float64(base) * math.Pow(float64(factor), float64(n))
	if d > float64(ceiling) || math.IsInf(d, 0) {
		return ceiling
	}
	return time.Duration(d)
}

// retryLimit is how many times a failed sync is retried; a negative limit
// means without end, as in Argo CD.
func retryLimit(r *argov1.RetryStrategy) int64 {
	if r == nil {
		return 0
	}
	if r.Limit < 0 {
		return math.MaxInt64
	}
	return r.Limit
}
