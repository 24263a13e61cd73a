package image

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	imagev1 "github.com/tether-gitops/tether/api/image/v1"
	"github.com/tether-gitops/tether/api/meta"
	"github.com/tether-gitops/tether/internal/conditions"
	"github.com/tether-gitops/tether/internal/controller/lifecycle"
	"github.com/tether-gitops/tether/internal/image/policy"
	"github.com/tether-gitops/tether/internal/image/registry"
	"github.com/tether-gitops/tether/internal/shard"
)

// RepositoryReconciler scans the tags of ImageRepositories.
type RepositoryReconciler struct {
	// Client reads ImageRepositories (cached) and writes their status.
	Client client.Client
	// APIReader reads Secrets and ServiceAccounts, which are not cached.
	APIReader client.Reader
	// Scanner reads registries.
	Scanner *registry.Scanner
	// Tags keeps what scans found, for the ImagePolicies.
	Tags *Tags
	// Events records Kubernetes Events.
	Events lifecycle.EventRecorder
	// Shard, when set, is this replica's share of the objects; nil
	// reconciles every object.
	Shard *shard.Membership
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// SetupWithManager registers the reconciler.
func (r *RepositoryReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&imagev1.ImageRepository{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Named("imagerepository").
		WatchesRawSource(r.Shard.Requeue(mgr.GetCache(), &imagev1.ImageRepositoryList{})).
		Complete(r)
}

func (r *RepositoryReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// repositoryKey is the sharding key of a repository, which its policies
// share so that they run where its tags are.
func repositoryKey(namespace, name string, labels map[string]string) string {
	return shard.KeyOf("ImageRepository", &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: labels}})
}

// Reconcile scans one ImageRepository when its interval has passed, its
// spec changed, a reconcile was requested or this process has not scanned
// it yet.
func (r *RepositoryReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj := &imagev1.ImageRepository{}
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			r.Tags.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !r.Shard.Owns(repositoryKey(obj.Namespace, obj.Name, obj.Labels)) || !obj.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	if obj.Spec.Suspend {
		return ctrl.Result{}, nil
	}
	before := obj.DeepCopy()
	forced := lifecycle.HandleRequest(obj, &obj.Status.LastHandledReconcileAt)
	interval := obj.Spec.Interval.Duration
	if interval <= 0 {
		interval = time.Minute
	}
	_, _, scanned := r.Tags.get(req.NamespacedName)
	last := obj.Status.LastScanResult
	due := forced || !scanned || last == nil || obj.Status.ObservedGeneration != obj.Generation ||
		!r.now().Before(last.ScanTime.Add(interval))
	if !due {
		return ctrl.Result{RequeueAfter: last.ScanTime.Add(interval).Sub(r.now())}, r.patchStatus(ctx, before, obj)
	}
	err := r.scan(ctx, obj)
	obj.Status.ObservedGeneration = obj.Generation
	if perr := r.patchStatus(ctx, before, obj); perr != nil {
		return ctrl.Result{}, perr
	}
	if err != nil {
		log.FromContext(ctx).Info("scan failed", "error", err.Error())
		return ctrl.Result{RequeueAfter: min(interval, time.Minute)}, nil
	}
	return ctrl.Result{RequeueAfter: interval}, nil
}

// scan lists the tags and records the outcome in status.
func (r *RepositoryReconciler) scan(ctx context.Context, obj *imagev1.ImageRepository) error {
	fail := func(stalled bool, reason string, err error) error {
		conditions.MarkFailed(obj, stalled, reason, "%s", err.Error())
		r.event(obj, corev1.EventTypeWarning, reason, err.Error())
		return err
	}
	if p := obj.Spec.Provider; p != "" && p != imagev1.ImageProviderGeneric {
		return fail(true, "UnsupportedProvider", fmt.Errorf("spec.provider %q: only generic is supported; give credentials with spec.secretRef or spec.serviceAccountName", p))
	}
	exclusions := obj.Spec.ExclusionList
	if exclusions == nil {
		exclusions = imagev1.DefaultExclusionList
	}
	var excluded []*regexp.Regexp
	for i, e := range exclusions {
		re, err := regexp.Compile(e)
		if err != nil {
			return fail(true, imagev1.ImageURLInvalidReason, fmt.Errorf("spec.exclusionList[%d]: %w", i, err))
		}
		excluded = append(excluded, re)
	}
	opts, err := r.registryOptions(ctx, obj)
	if err != nil {
		return fail(false, imagev1.AuthenticationFailedReason, err)
	}
	res, err := r.Scanner.Tags(ctx, obj.Spec.Image, opts)
	if err != nil {
		reason := imagev1.ReadOperationFailedReason
		if errors.Is(err, registry.ErrInvalidImage) {
			reason = imagev1.ImageURLInvalidReason
		}
		return fail(false, reason, err)
	}
	tags := slices.DeleteFunc(res.Tags, func(t string) bool {
		return slices.ContainsFunc(excluded, func(re *regexp.Regexp) bool { return re.MatchString(t) })
	})
	r.Tags.set(client.ObjectKeyFromObject(obj), res.Canonical, tags)
	previous := -1
	if obj.Status.LastScanResult != nil {
		previous = obj.Status.LastScanResult.TagCount
	}
	obj.Status.CanonicalImageName = res.Canonical
	obj.Status.ObservedExclusionList = exclusions
	obj.Status.LastScanResult = &imagev1.ScanResult{TagCount: len(tags), ScanTime: metav1.NewTime(r.now()), LatestTags: policy.Newest(tags, 10)}
	msg := fmt.Sprintf("successful scan: found %d tags", len(tags))
	conditions.MarkReady(obj, meta.SucceededReason, "%s", msg)
	if previous != len(tags) {
		r.event(obj, corev1.EventTypeNormal, meta.SucceededReason, msg)
	}
	return nil
}

// registryOptions gathers the credentials and TLS settings of obj.
func (r *RepositoryReconciler) registryOptions(ctx context.Context, obj *imagev1.ImageRepository) (registry.Options, error) {
	opts := registry.Options{Insecure: obj.Spec.Insecure}
	if obj.Spec.Timeout != nil {
		opts.Timeout = obj.Spec.Timeout.Duration
	}
	read := func(name string) (*corev1.Secret, error) {
		var s corev1.Secret
		if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: obj.Namespace, Name: name}, &s); err != nil {
			return nil, fmt.Errorf("read Secret '%s/%s': %w", obj.Namespace, name, err)
		}
		return &s, nil
	}
	if ref := obj.Spec.SecretRef; ref != nil {
		s, err := read(ref.Name)
		if err != nil {
			return opts, err
		}
		data, ok := s.Data[corev1.DockerConfigJsonKey]
		if !ok {
			return opts, fmt.Errorf("spec.secretRef: Secret '%s/%s' has no %s key", obj.Namespace, ref.Name, corev1.DockerConfigJsonKey)
		}
		opts.DockerConfigJSON = data
	}
	if sa := obj.Spec.ServiceAccountName; sa != "" && opts.DockerConfigJSON == nil {
		var acct corev1.ServiceAccount
		if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: obj.Namespace, Name: sa}, &acct); err != nil {
			return opts, fmt.Errorf("spec.serviceAccountName: read ServiceAccount '%s/%s': %w", obj.Namespace, sa, err)
		}
		for _, ps := range acct.ImagePullSecrets {
			s, err := read(ps.Name)
			if err != nil {
				return opts, err
			}
			if data, ok := s.Data[corev1.DockerConfigJsonKey]; ok {
				opts.DockerConfigJSON = data
				break
			}
		}
	}
	if ref := obj.Spec.CertSecretRef; ref != nil {
		s, err := read(ref.Name)
		if err != nil {
			return opts, err
		}
		opts.CAPEM = s.Data["ca.crt"]
	}
	return opts, nil
}

func (r *RepositoryReconciler) patchStatus(ctx context.Context, before, obj *imagev1.ImageRepository) error {
	if equality.Semantic.DeepEqual(before.Status, obj.Status) {
		return nil
	}
	return lifecycle.PatchStatus(ctx, r.Client, r.APIReader, before, obj)
}

func (r *RepositoryReconciler) event(obj *imagev1.ImageRepository, typ, reason, note string) {
	if r.Events != nil {
		r.Events.Eventf(obj, nil, typ, reason, "Reconcile", "%s", note)
	}
}
