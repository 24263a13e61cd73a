package ocirepository

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/api/meta"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/internal/conditions"
	"github.com/tether-gitops/tether/internal/source/artifact"
	"github.com/tether-gitops/tether/internal/source/oci"
)

// reconcileArtifact runs the steps of a reconcile in order: what the spec
// asks for that Tether cannot do, credentials, the remote's revision,
// then (only when the revision or the packing rules changed) pull, pack
// and store.
func (r *Reconciler) reconcileArtifact(ctx context.Context, obj *sourcev1.OCIRepository, force bool) error {
	if obj.Generation != obj.Status.ObservedGeneration {
		conditions.MarkReconciling(obj, meta.ProgressingReason, "reconciling new object generation (%d)", obj.Generation)
	}
	if err := unsupported(obj); err != nil {
		return err
	}
	if err := oci.ValidateURL(obj.Spec.URL); err != nil {
		return &failure{reason: sourcev1.URLInvalidReason, stalled: true, err: fmt.Errorf("spec.url: %w", err)}
	}
	ref := refOf(obj)
	if err := ref.Validate(); err != nil {
		return &failure{reason: sourcev1.OCIPullFailedReason, stalled: true, err: fmt.Errorf("spec.ref: %w", err)}
	}
	opts, err := r.options(ctx, obj)
	if err != nil {
		return err
	}
	res, err := r.OCI.Resolve(ctx, obj.Spec.URL, ref, opts)
	if err != nil {
		return pullFailure(obj, fmt.Errorf("failed to determine artifact digest: %w", err))
	}
	conditions.Delete(obj, sourcev1.FetchFailedCondition)
	if !force && r.upToDate(obj, res.Revision) {
		r.markStored(obj)
		return nil
	}
	return r.build(ctx, obj, res, opts)
}

// unsupported refuses, with Stalled, what the spec asks for that Tether
// does not do, rather than pulling an artifact unchecked.
func unsupported(obj *sourcev1.OCIRepository) error {
	if v := obj.Spec.Verify; v != nil {
		return &failure{reason: sourcev1.VerificationError, condition: sourcev1.SourceVerifiedCondition, stalled: true,
			err: fmt.Errorf("spec.verify (provider '%s') is not supported by Tether: the Sigstore and Notation libraries do not build "+
				"with Tether's dependencies, so signatures cannot be checked; remove spec.verify to pull the artifact unverified, "+
				"or keep it to block the artifact", v.Provider)}
	}
	if p := obj.GetProvider(); p != sourcev1.GenericOCIProvider {
		return &failure{reason: sourcev1.InvalidProviderConfigurationReason, stalled: true,
			err: fmt.Errorf("spec.provider '%s' is not supported by Tether: use 'generic' with spec.secretRef "+
				"(a docker-registry Secret) or spec.serviceAccountName (its imagePullSecrets)", p)}
	}
	return nil
}

// pullFailure maps a registry error to Flux's reasons: refused credentials
// are AuthenticationFailed, anything else OCIArtifactPullFailed. Both are
// retried: a fixed Secret or a new push mends them without a new
// generation (what can never work was refused before).
func pullFailure(obj *sourcev1.OCIRepository, err error) *failure {
	f := &failure{reason: sourcev1.OCIPullFailedReason, condition: sourcev1.FetchFailedCondition, err: err}
	if errors.Is(err, oci.ErrAuthentication) {
		f.reason = sourcev1.AuthenticationFailedReason
		f.err = fmt.Errorf("%w; %s", err, credentialsHint(obj))
	}
	return f
}

// credentialsHint says which credentials the registry refused, and so
// what to fix.
func credentialsHint(obj *sourcev1.OCIRepository) string {
	switch {
	case obj.Spec.SecretRef != nil:
		return fmt.Sprintf("check the credentials in secret '%s/%s' (spec.secretRef)", obj.Namespace, obj.Spec.SecretRef.Name)
	case obj.Spec.ServiceAccountName != "":
		return fmt.Sprintf("check the image pull secrets of ServiceAccount '%s/%s' (spec.serviceAccountName)", obj.Namespace, obj.Spec.ServiceAccountName)
	}
	return "the registry wants credentials: set spec.secretRef to a kubernetes.io/dockerconfigjson Secret"
}

// upToDate reports whether the stored artifact already holds revision,
// built with the current ignore rules and layer selector.
func (r *Reconciler) upToDate(obj *sourcev1.OCIRepository, revision string) bool {
	a := obj.Status.Artifact
	return a != nil && a.Revision == revision && r.Storage.Exists(a.Path) &&
		equality.Semantic.DeepEqual(obj.Status.ObservedIgnore, obj.Spec.Ignore) &&
		equality.Semantic.DeepEqual(obj.Status.ObservedLayerSelector, obj.Spec.LayerSelector)
}

// build pulls the manifest and the selected layer and stores the
// artifact. The previous artifact stays in place if anything fails.
func (r *Reconciler) build(ctx context.Context, obj *sourcev1.OCIRepository, res oci.Resolved, opts oci.Options) error {
	conditions.MarkReconciling(obj, meta.ProgressingReason, "building artifact: new upstream revision '%s'", res.Revision)
	art, err := r.OCI.Pull(ctx, obj.Spec.URL, res.Digest, opts)
	if err != nil {
		return pullFailure(obj, fmt.Errorf("failed to pull artifact from '%s': %w", obj.Spec.URL, err))
	}
	layer, err := art.Layer(obj.GetLayerMediaType())
	if err != nil {
		return &failure{reason: sourcev1.OCILayerOperationFailedReason, condition: sourcev1.FetchFailedCondition, err: err}
	}
	rc, err := r.OCI.OpenLayer(ctx, art, layer, opts)
	if err != nil {
		return pullFailure(obj, fmt.Errorf("failed to pull artifact from '%s': %w", obj.Spec.URL, err))
	}
	defer rc.Close()
	var stored artifact.Stored
	if obj.GetLayerOperation() == sourcev1.OCILayerCopy {
		stored, err = r.Storage.Store(ctx, ArtifactKind, obj.Namespace, obj.Name, func(w io.Writer) (artifact.PackResult, error) {
			n, err := io.Copy(w, rc)
			return artifact.PackResult{Size: n}, err
		})
	} else {
		stored, err = r.extract(ctx, obj, rc)
	}
	if err != nil {
		return &failure{reason: sourcev1.OCILayerOperationFailedReason, condition: sourcev1.StorageOperationFailedCondition,
			err: fmt.Errorf("failed to %s layer %s of '%s': %w", obj.GetLayerOperation(), layer.Digest, res.Revision, err)}
	}
	conditions.Delete(obj, sourcev1.StorageOperationFailedCondition)
	r.record(obj, res, stored, art.Annotations)
	return nil
}

// extract unpacks the layer (refusing paths and links that leave the
// folder, and archives over the storage's limits) and packs it again with
// the ignore rules.
func (r *Reconciler) extract(ctx context.Context, obj *sourcev1.OCIRepository, layer io.Reader) (artifact.Stored, error) {
	dir, err := os.MkdirTemp("", "tether-oci-")
	if err != nil {
		return artifact.Stored{}, err
	}
	defer os.RemoveAll(dir)
	limits := artifact.Limits{Bytes: r.Storage.MaxExtractSize, Entries: r.Storage.MaxExtractEntries}
	if err := artifact.Unpack(ctx, layer, dir, limits); err != nil {
		return artifact.Stored{}, err
	}
	// Read to the end, so that the layer's digest is checked.
	if _, err := io.Copy(io.Discard, layer); err != nil {
		return artifact.Stored{}, err
	}
	opts := artifact.PackOptions{Dir: dir, MaxSize: r.MaxArtifactSize}
	if obj.Spec.Ignore != nil {
		opts.Ignore = *obj.Spec.Ignore
	}
	return r.Storage.Store(ctx, ArtifactKind, obj.Namespace, obj.Name, func(w io.Writer) (artifact.PackResult, error) {
		return artifact.Pack(ctx, w, opts)
	})
}

// record writes the new artifact into status, removes older ones and
// tells about it.
func (r *Reconciler) record(obj *sourcev1.OCIRepository, res oci.Resolved, stored artifact.Stored, annotations map[string]string) {
	isNew := obj.Status.Artifact == nil || obj.Status.Artifact.Digest != stored.Digest || obj.Status.Artifact.Revision != res.Revision
	size := stored.Size
	obj.Status.Artifact = &meta.Artifact{
		Path: stored.Path, URL: stored.URL, Revision: res.Revision, Digest: stored.Digest,
		LastUpdateTime: metav1.NewTime(stored.LastUpdateTime), Size: &size, Metadata: annotations,
	}
	obj.Status.URL = stored.URL
	obj.Status.ObservedIgnore = obj.Spec.Ignore
	obj.Status.ObservedLayerSelector = obj.Spec.LayerSelector.DeepCopy()
	if _, err := r.Storage.GC(ArtifactKind, obj.Namespace, obj.Name, max(r.ArtifactRetention, 1), stored.Path); err != nil {
		r.event(obj, corev1.EventTypeWarning, "GarbageCollectionFailed", err.Error())
	}
	r.markStored(obj)
	if isNew {
		r.event(obj, corev1.EventTypeNormal, sourcev1.NewArtifactReason,
			fmt.Sprintf("stored artifact with revision '%s' from '%s'", res.Revision, obj.Spec.URL))
	}
}

func (r *Reconciler) markStored(obj *sourcev1.OCIRepository) {
	msg := fmt.Sprintf("stored artifact for revision '%s'", obj.Status.Artifact.Revision)
	conditions.Set(obj, sourcev1.ArtifactInStorageCondition, metav1.ConditionTrue, meta.SucceededReason, "%s", msg)
	conditions.Delete(obj, sourcev1.FetchFailedCondition)
	conditions.Delete(obj, sourcev1.StorageOperationFailedCondition)
	conditions.Delete(obj, sourcev1.SourceVerifiedCondition)
	conditions.MarkReady(obj, meta.SucceededReason, "%s", msg)
}

func refOf(obj *sourcev1.OCIRepository) oci.Ref {
	ref := obj.Spec.Reference
	if ref == nil {
		return oci.Ref{}
	}
	return oci.Ref{Tag: ref.Tag, SemVer: ref.SemVer, SemverFilter: ref.SemverFilter, Digest: ref.Digest}
}
