package gitrepository

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-gitops/tether/api/meta"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/internal/conditions"
	"github.com/tether-gitops/tether/internal/source/artifact"
	"github.com/tether-gitops/tether/internal/source/git"
)

// failure is a reconcile error with the condition reason it maps to.
type failure struct {
	reason    string
	condition string // extra condition set True, such as FetchFailed
	stalled   bool
	err       error
}

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

func asFailure(err error, target **failure) bool { return errors.As(err, target) }

// gitFailure maps a fetcher error to Flux's reasons: AuthenticationFailed
// for refused credentials, GitOperationFailed otherwise; a request that
// cannot succeed without a spec change (a malformed ref) stalls.
func gitFailure(err error) *failure {
	f := &failure{reason: sourcev1.GitOperationFailedReason, condition: sourcev1.FetchFailedCondition, err: err}
	switch {
	case errors.Is(err, git.ErrAuthentication):
		f.reason = sourcev1.AuthenticationFailedReason
	case errors.Is(err, git.ErrInvalid):
		f.reason = sourcev1.URLInvalidReason
		f.stalled = true
	}
	return f
}

// reconcileArtifact runs the steps of a reconcile in order: credentials,
// the remote's revision, included artifacts, then (only when one of those
// changed) checkout, pack and store.
func (r *Reconciler) reconcileArtifact(ctx context.Context, obj *sourcev1.GitRepository, force bool) error {
	if obj.Generation != obj.Status.ObservedGeneration {
		conditions.MarkReconciling(obj, meta.ProgressingReason, "reconciling new object generation (%d)", obj.Generation)
	}
	auth, err := r.auth(ctx, obj)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, obj.GetTimeout())
	defer cancel()
	ref := refOf(obj)
	resolved, err := r.Fetcher.Resolve(ctx, obj.Spec.URL, ref, auth, force)
	if err != nil {
		return gitFailure(err)
	}
	conditions.Delete(obj, sourcev1.FetchFailedCondition)
	includes, err := r.includes(ctx, obj)
	if err != nil {
		return err
	}
	if r.upToDate(obj, resolved.Revision, includes) {
		r.markStored(obj)
		return nil
	}
	return r.build(ctx, obj, ref, resolved, auth, includes)
}

// upToDate reports whether the stored artifact already holds this
// revision built with the current ignore rules and includes, so that
// nothing needs to be downloaded or packed.
func (r *Reconciler) upToDate(obj *sourcev1.GitRepository, revision string, includes []included) bool {
	a := obj.Status.Artifact
	if a == nil || a.Revision != revision || !r.Storage.Exists(a.Path) {
		return false
	}
	if !equality.Semantic.DeepEqual(obj.Status.ObservedIgnore, obj.Spec.Ignore) ||
		!equality.Semantic.DeepEqual(obj.Status.ObservedInclude, obj.Spec.Include) {
		return false
	}
	if len(obj.Status.IncludedArtifacts) != len(includes) {
		return false
	}
	for i, inc := range includes {
		if obj.Status.IncludedArtifacts[i].Digest != inc.artifact.Digest {
			return false
		}
	}
	return true
}

// build checks the commit out, packs it with the includes and stores the
// artifact. The previous artifact stays in place if anything fails.
func (r *Reconciler) build(ctx context.Context, obj *sourcev1.GitRepository, ref git.Ref, res git.Resolved, auth *git.Auth, includes []included) error {
	conditions.MarkReconciling(obj, meta.ProgressingReason, "building artifact: new upstream revision '%s'", res.Revision)
	dir, release, err := r.Fetcher.Checkout(ctx, obj.Spec.URL, ref, res, auth)
	if err != nil {
		return gitFailure(err)
	}
	defer release()

	extra, cleanup, err := r.extractIncludes(ctx, includes)
	defer cleanup()
	if err != nil {
		return err
	}
	opts := artifact.PackOptions{Dir: dir, Includes: extra, MaxSize: r.MaxArtifactSize}
	if obj.Spec.Ignore != nil {
		opts.Ignore = *obj.Spec.Ignore
	}
	stored, err := r.Storage.Store(ctx, ArtifactKind, obj.Namespace, obj.Name, func(w io.Writer) (artifact.PackResult, error) {
		return artifact.Pack(ctx, w, opts)
	})
	if err != nil {
		return &failure{reason: sourcev1.ArchiveOperationFailedReason, condition: sourcev1.StorageOperationFailedCondition,
			err: fmt.Errorf("build artifact of revision '%s': %w", res.Revision, err)}
	}
	conditions.Delete(obj, sourcev1.StorageOperationFailedCondition)

	isNew := obj.Status.Artifact == nil || obj.Status.Artifact.Digest != stored.Digest
	size := stored.Size
	obj.Status.Artifact = &meta.Artifact{
		Path: stored.Path, URL: stored.URL, Revision: res.Revision, Digest: stored.Digest,
		LastUpdateTime: metav1.NewTime(stored.LastUpdateTime), Size: &size,
	}
	obj.Status.URL = stored.URL
	obj.Status.ObservedIgnore = obj.Spec.Ignore
	obj.Status.ObservedInclude = obj.Spec.Include
	obj.Status.IncludedArtifacts = nil
	for _, inc := range includes {
		a := inc.artifact.DeepCopy()
		obj.Status.IncludedArtifacts = append(obj.Status.IncludedArtifacts, a)
	}
	if _, err := r.Storage.GC(ArtifactKind, obj.Namespace, obj.Name, max(r.ArtifactRetention, 1), stored.Path); err != nil {
		r.event(obj, corev1.EventTypeWarning, "GarbageCollectionFailed", err.Error())
	}
	r.markStored(obj)
	if isNew {
		r.event(obj, corev1.EventTypeNormal, sourcev1.NewArtifactReason,
			fmt.Sprintf("stored artifact for revision '%s'", res.Revision))
	}
	return nil
}

func (r *Reconciler) markStored(obj *sourcev1.GitRepository) {
	msg := fmt.Sprintf("stored artifact for revision '%s'", obj.Status.Artifact.Revision)
	conditions.Set(obj, sourcev1.ArtifactInStorageCondition, metav1.ConditionTrue, meta.SucceededReason, "%s", msg)
	conditions.Delete(obj, sourcev1.FetchFailedCondition)
	conditions.Delete(obj, sourcev1.IncludeUnavailableCondition)
	conditions.Delete(obj, sourcev1.StorageOperationFailedCondition)
	conditions.MarkReady(obj, meta.SucceededReason, "%s", msg)
}

// auth reads the credentials of spec.secretRef.
func (r *Reconciler) auth(ctx context.Context, obj *sourcev1.GitRepository) (*git.Auth, error) {
	if obj.Spec.SecretRef == nil {
		return nil, nil
	}
	var secret corev1.Secret
	key := types.NamespacedName{Namespace: obj.Namespace, Name: obj.Spec.SecretRef.Name}
	if err := r.APIReader.Get(ctx, key, &secret); err != nil {
		return nil, &failure{reason: sourcev1.AuthenticationFailedReason, condition: sourcev1.FetchFailedCondition,
			err: fmt.Errorf("failed to get secret '%s': %w", key, err)}
	}
	auth, err := git.AuthFromSecret(secret.Data)
	if err != nil {
		return nil, &failure{reason: sourcev1.AuthenticationFailedReason, condition: sourcev1.FetchFailedCondition,
			err: fmt.Errorf("invalid credentials in secret '%s': %w", key, err)}
	}
	return auth, nil
}

// included is the artifact of a GitRepository named in spec.include.
type included struct {
	spec     sourcev1.GitRepositoryInclude
	artifact *meta.Artifact
}

// includes looks up the artifacts of spec.include; each must exist.
func (r *Reconciler) includes(ctx context.Context, obj *sourcev1.GitRepository) ([]included, error) {
	var out []included
	for _, inc := range obj.Spec.Include {
		var dep sourcev1.GitRepository
		key := types.NamespacedName{Namespace: obj.Namespace, Name: inc.GitRepositoryRef.Name}
		err := r.Client.Get(ctx, key, &dep)
		if err == nil && dep.Status.Artifact == nil {
			err = errors.New("it has no artifact yet")
		}
		if a := dep.Status.Artifact; err == nil {
			err = r.Storage.Fetch(ctx, a.Path, a.URL, a.Digest) // another replica may have made it
		}
		if err != nil {
			return nil, &failure{reason: "IncludeUnavailable", condition: sourcev1.IncludeUnavailableCondition,
				err: fmt.Errorf("included GitRepository '%s' is not available: %w", key, err)}
		}
		out = append(out, included{spec: inc, artifact: dep.Status.Artifact})
	}
	return out, nil
}

// extractIncludes unpacks included artifacts into temporary folders and
// returns them as extra trees for Pack.
func (r *Reconciler) extractIncludes(ctx context.Context, includes []included) ([]artifact.Tree, func(), error) {
	var dirs []string
	cleanup := func() {
		for _, d := range dirs {
			os.RemoveAll(d)
		}
	}
	var trees []artifact.Tree
	for _, inc := range includes {
		dir, err := os.MkdirTemp("", "tether-include-")
		if err != nil {
			return nil, cleanup, err
		}
		dirs = append(dirs, dir)
		if err := r.Storage.Extract(ctx, inc.artifact.Path, dir); err != nil {
			return nil, cleanup, &failure{reason: "IncludeUnavailable", condition: sourcev1.IncludeUnavailableCondition,
				err: fmt.Errorf("extract included artifact '%s': %w", inc.artifact.Path, err)}
		}
		trees = append(trees, artifact.Tree{Dir: dir, FromPath: filepath.Clean("/" + inc.spec.GetFromPath())[1:], ToPath: inc.spec.GetToPath()})
	}
	return trees, cleanup, nil
}

func refOf(obj *sourcev1.GitRepository) git.Ref {
	if obj.Spec.Reference == nil {
		return git.Ref{}
	}
	ref := obj.Spec.Reference
	return git.Ref{Branch: ref.Branch, Tag: ref.Tag, SemVer: ref.SemVer, Name: ref.Name, Commit: ref.Commit}
}

func equalStatus(a, b sourcev1.GitRepositoryStatus) bool {
	return equality.Semantic.DeepEqual(a, b)
}
