package bucket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-gitops/tether/api/meta"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/internal/conditions"
	"github.com/tether-gitops/tether/internal/connsecret"
	"github.com/tether-gitops/tether/internal/redact"
	"github.com/tether-gitops/tether/internal/source/artifact"
	"github.com/tether-gitops/tether/internal/source/bucket"
)

// reconcileArtifact lists the bucket and, only when the listing's revision
// or the ignore rules differ from the stored artifact's, downloads, packs
// and stores it. Every message that may quote a Secret goes through its
// values' mask first.
func (r *Reconciler) reconcileArtifact(ctx context.Context, obj *sourcev1.Bucket) error {
	if obj.Generation != obj.Status.ObservedGeneration {
		conditions.MarkReconciling(obj, meta.ProgressingReason, "reconciling new object generation (%d)", obj.Generation)
	}
	if err := supported(obj); err != nil {
		return &failure{reason: sourcev1.InvalidProviderConfigurationReason, stalled: true, err: err}
	}
	var masks redact.Values
	opts, err := r.options(ctx, obj, &masks)
	if err != nil {
		return maskFailure(&masks, err)
	}
	c, err := bucket.New(opts)
	if err != nil {
		return &failure{reason: sourcev1.URLInvalidReason, stalled: true, err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, obj.GetTimeout())
	defer cancel()
	ignore := ""
	if obj.Spec.Ignore != nil {
		ignore = *obj.Spec.Ignore
	}
	idx, err := c.Index(ctx, obj.Spec.BucketName, obj.Spec.Prefix, ignore)
	if err != nil {
		return maskFailure(&masks, fetchFailure(obj, err))
	}
	revision := idx.Revision()
	if a := obj.Status.Artifact; a != nil && a.Revision == revision && r.Storage.Exists(a.Path) &&
		equality.Semantic.DeepEqual(obj.Status.ObservedIgnore, obj.Spec.Ignore) {
		r.markStored(obj)
		return nil
	}
	return maskFailure(&masks, r.build(ctx, obj, c, idx))
}

// supported refuses, for good, the settings that need a cloud identity
// or a token service: Tether reads S3-compatible storage with static keys.
func supported(obj *sourcev1.Bucket) error {
	switch p := obj.GetProvider(); {
	case p == sourcev1.BucketProviderGoogle || p == sourcev1.BucketProviderAzure:
		return fmt.Errorf("provider '%s' is not supported: Tether reads S3-compatible storage (provider generic, or aws with spec.secretRef)", p)
	case p == sourcev1.BucketProviderAmazon && obj.Spec.SecretRef == nil:
		return errors.New("provider 'aws' without spec.secretRef (AWS workload identity) is not supported: give the keys in a Secret named by spec.secretRef")
	case obj.Spec.STS != nil:
		return errors.New("spec.sts is not supported: give static keys in a Secret named by spec.secretRef")
	case obj.Spec.ServiceAccountName != "":
		return errors.New("spec.serviceAccountName (workload identity) is not supported: give static keys in a Secret named by spec.secretRef")
	}
	return nil
}

// options reads the endpoint settings and the Secrets of spec.secretRef
// ("accesskey", "secretkey"), spec.certSecretRef and spec.proxySecretRef,
// adding every Secret value to masks.
func (r *Reconciler) options(ctx context.Context, obj *sourcev1.Bucket, masks *redact.Values) (bucket.Options, error) {
	opts := bucket.Options{Endpoint: obj.Spec.Endpoint, Insecure: obj.Spec.Insecure, Region: obj.Spec.Region,
		MaxObjects: r.MaxObjects, MaxBytes: r.MaxBytes}
	if ref := obj.Spec.SecretRef; ref != nil {
		data, err := r.secret(ctx, obj, ref.Name, masks)
		if err != nil {
			return opts, err
		}
		opts.AccessKey, opts.SecretKey = string(data["accesskey"]), string(data["secretkey"])
		if opts.AccessKey == "" || opts.SecretKey == "" {
			return opts, authFailure(fmt.Errorf("invalid credentials in secret '%s/%s': 'accesskey' and 'secretkey' must both be set", obj.Namespace, ref.Name))
		}
	}
	if ref := obj.Spec.CertSecretRef; ref != nil {
		data, err := r.secret(ctx, obj, ref.Name, masks)
		if err == nil {
			opts.TLS, err = connsecret.TLS(data, "ca.crt", "tls.crt", "tls.key")
		}
		if err != nil {
			return opts, authFailure(fmt.Errorf("TLS settings of secret '%s/%s': %w", obj.Namespace, ref.Name, err))
		}
	}
	if ref := obj.Spec.ProxySecretRef; ref != nil {
		data, err := r.secret(ctx, obj, ref.Name, masks)
		if err == nil {
			opts.Proxy, err = connsecret.Proxy(data)
		}
		if err != nil {
			return opts, authFailure(fmt.Errorf("proxy settings of secret '%s/%s': %w", obj.Namespace, ref.Name, err))
		}
	}
	return opts, nil
}

func (r *Reconciler) secret(ctx context.Context, obj *sourcev1.Bucket, name string, masks *redact.Values) (map[string][]byte, error) {
	var s corev1.Secret
	if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: obj.Namespace, Name: name}, &s); err != nil {
		return nil, authFailure(fmt.Errorf("failed to get secret '%s/%s': %w", obj.Namespace, name, err))
	}
	masks.AddSecretData(s.Data)
	return s.Data, nil
}

// build downloads the indexed objects, packs them with the ignore rules
// (the bucket's .sourceignore objects, spec.ignore, Flux's default
// exclusions) and stores the artifact. The previous artifact stays in
// place if anything fails.
func (r *Reconciler) build(ctx context.Context, obj *sourcev1.Bucket, c *bucket.Client, idx bucket.Index) error {
	conditions.MarkReconciling(obj, meta.ProgressingReason, "building artifact: new upstream revision '%s'", idx.Revision())
	dir, err := os.MkdirTemp("", "tether-bucket-")
	if err != nil {
		return &failure{reason: sourcev1.DirCreationFailedReason, condition: sourcev1.StorageOperationFailedCondition, err: err}
	}
	defer os.RemoveAll(dir)
	got, err := c.Download(ctx, obj.Spec.BucketName, idx, dir)
	if err != nil {
		return fetchFailure(obj, err)
	}
	conditions.Delete(obj, sourcev1.FetchFailedCondition)
	revision := got.Revision() // objects changed or gone since the listing count as downloaded
	opts := artifact.PackOptions{Dir: dir, MaxSize: r.MaxArtifactSize}
	if obj.Spec.Ignore != nil {
		opts.Ignore = *obj.Spec.Ignore
	}
	stored, err := r.Storage.Store(ctx, ArtifactKind, obj.Namespace, obj.Name, func(w io.Writer) (artifact.PackResult, error) {
		return artifact.Pack(ctx, w, opts)
	})
	if err != nil {
		return &failure{reason: sourcev1.ArchiveOperationFailedReason, condition: sourcev1.StorageOperationFailedCondition,
			err: fmt.Errorf("build artifact of revision '%s': %w", revision, err)}
	}
	isNew := obj.Status.Artifact == nil || obj.Status.Artifact.Digest != stored.Digest
	size := stored.Size
	obj.Status.Artifact = &meta.Artifact{
		Path: stored.Path, URL: stored.URL, Revision: revision, Digest: stored.Digest,
		LastUpdateTime: metav1.NewTime(stored.LastUpdateTime), Size: &size,
	}
	obj.Status.URL = stored.URL
	obj.Status.ObservedIgnore = obj.Spec.Ignore
	if _, err := r.Storage.GC(ArtifactKind, obj.Namespace, obj.Name, max(r.ArtifactRetention, 1), stored.Path); err != nil {
		r.event(obj, corev1.EventTypeWarning, "GarbageCollectionFailed", err.Error())
	}
	r.markStored(obj)
	if isNew {
		r.event(obj, corev1.EventTypeNormal, sourcev1.NewArtifactReason,
			fmt.Sprintf("stored artifact with %d fetched files from '%s' bucket (revision '%s')", len(got), obj.Spec.BucketName, revision))
	}
	return nil
}

func (r *Reconciler) markStored(obj *sourcev1.Bucket) {
	msg := fmt.Sprintf("stored artifact for revision '%s'", obj.Status.Artifact.Revision)
	conditions.Set(obj, sourcev1.ArtifactInStorageCondition, metav1.ConditionTrue, meta.SucceededReason, "%s", msg)
	conditions.Delete(obj, sourcev1.FetchFailedCondition)
	conditions.Delete(obj, sourcev1.StorageOperationFailedCondition)
	conditions.MarkReady(obj, meta.SucceededReason, "%s", msg)
}

// fetchFailure maps a bucket error to Flux's reasons (FetchFailed with
// AuthenticationFailed or BucketOperationFailed) and says what to check.
func fetchFailure(obj *sourcev1.Bucket, err error) error {
	f := &failure{reason: sourcev1.BucketOperationFailedReason, condition: sourcev1.FetchFailedCondition, err: err}
	switch {
	case errors.Is(err, bucket.ErrAuthentication) && obj.Spec.SecretRef != nil:
		f.reason = sourcev1.AuthenticationFailedReason
		f.err = fmt.Errorf("%w; check 'accesskey' and 'secretkey' in secret '%s/%s'", err, obj.Namespace, obj.Spec.SecretRef.Name)
	case errors.Is(err, bucket.ErrAuthentication):
		f.reason = sourcev1.AuthenticationFailedReason
		f.err = fmt.Errorf("%w; the bucket refuses anonymous access: name a Secret with 'accesskey' and 'secretkey' in spec.secretRef", err)
	case errors.Is(err, bucket.ErrInvalid):
		f.stalled = true
	}
	return f
}

func authFailure(err error) error {
	return &failure{reason: sourcev1.AuthenticationFailedReason, condition: sourcev1.FetchFailedCondition, err: err}
}

// maskFailure hides Secret values in err's message, keeping its reason.
func maskFailure(masks *redact.Values, err error) error {
	var f *failure
	if err == nil || !errors.As(err, &f) {
		return masks.Error(err)
	}
	masked := *f
	masked.err = masks.Error(f.err)
	return &masked
}
