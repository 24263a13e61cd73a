package server

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tether-gitops/tether/internal/diff"
)

// lastApplied is kubectl's annotation holding a whole copy of the object
// (CVE-2023-40029: a Secret's body leaked through it).
const lastApplied = diff.LastAppliedAnnotation

// maskSecrets masks the values of Secrets among objs as diff.MaskSecrets
// does: runs of '+', equal values alike in every copy, kubectl's
// last-applied annotation removed.
func maskSecrets(objs ...*unstructured.Unstructured) { diff.MaskSecrets(objs...) }
