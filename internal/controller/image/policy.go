package image

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	imagev1 "github.com/tether-gitops/tether/api/image/v1"
	"github.com/tether-gitops/tether/api/meta"
	"github.com/tether-gitops/tether/internal/conditions"
	"github.com/tether-gitops/tether/internal/controller/lifecycle"
	"github.com/tether-gitops/tether/internal/image/policy"
	"github.com/tether-gitops/tether/internal/shard"
	"github.com/tether-gitops/tether/internal/tenancy"
)

// repositoryIndex is the cache index of ImagePolicies by
// "<namespace>/<name>" of their ImageRepository.
const repositoryIndex = "spec.imageRepositoryRef"

// PolicyReconciler chooses the latest image of ImagePolicies.
type PolicyReconciler struct {
	// Client reads (cached) and writes status.
	Client client.Client
	// APIReader reads around the cache.
	APIReader client.Reader
	// Repositories is the ImageRepository reconciler, for its tags and
	// registry credentials (digest reflection).
	Repositories *RepositoryReconciler
	// Events records Kubernetes Events.
	Events lifecycle.EventRecorder
	// Tenancy refuses cross-namespace references when asked.
	Tenancy tenancy.Policy
	// Shard, when set, is this replica's share; a policy goes with its
	// repository.
	Shard *shard.Membership
}

// SetupWithManager registers the reconciler and its index.
func (r *PolicyReconciler) SetupWithManager(mgr ctrl.Manager) error {
	err := mgr.GetFieldIndexer().IndexField(context.Background(), &imagev1.ImagePolicy{}, repositoryIndex, func(o client.Object) []string {
		p := o.(*imagev1.ImagePolicy)
		return []string{repositoryOf(p).String()}
	})
	if err != nil {
		return fmt.Errorf("index ImagePolicies by repository: %w", err)
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&imagev1.ImagePolicy{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Named("imagepolicy").
		Watches(&imagev1.ImageRepository{}, handler.EnqueueRequestsFromMapFunc(r.policiesOf)).
		WatchesRawSource(r.Shard.Requeue(mgr.GetCache(), &imagev1.ImagePolicyList{})).
		Complete(r)
}

// repositoryOf is the ImageRepository a policy names.
func repositoryOf(p *imagev1.ImagePolicy) types.NamespacedName {
	ns := p.Spec.ImageRepositoryRef.Namespace
	if ns == "" {
		ns = p.Namespace
	}
	return types.NamespacedName{Namespace: ns, Name: p.Spec.ImageRepositoryRef.Name}
}

// policiesOf maps a repository to the policies that name it.
func (r *PolicyReconciler) policiesOf(ctx context.Context, o client.Object) []reconcile.Request {
	var list imagev1.ImagePolicyList
	if err := r.Client.List(ctx, &list, client.MatchingFields{repositoryIndex: client.ObjectKeyFromObject(o).String()}); err != nil {
		return nil
	}
	return lifecycle.RequestsOf(&list)
}

// Reconcile chooses the policy's latest image from its repository's tags.
func (r *PolicyReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj := &imagev1.ImagePolicy{}
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	repoKey := repositoryOf(obj)
	if !r.Shard.Owns(repositoryKey(repoKey.Namespace, repoKey.Name, obj.Labels)) || !obj.DeletionTimestamp.IsZero() || obj.Spec.Suspend {
		return ctrl.Result{}, nil
	}
	before := obj.DeepCopy()
	lifecycle.HandleRequest(obj, &obj.Status.LastHandledReconcileAt)
	requeue, err := r.choose(ctx, obj, repoKey)
	obj.Status.ObservedGeneration = obj.Generation
	if !equality.Semantic.DeepEqual(before.Status, obj.Status) {
		if perr := lifecycle.PatchStatus(ctx, r.Client, r.APIReader, before, obj); perr != nil {
			return ctrl.Result{}, perr
		}
	}
	if err != nil {
		reason := "ReconciliationFailed"
		if c := conditions.Get(obj, meta.ReadyCondition); c != nil && c.Status == metav1.ConditionFalse {
			reason = c.Reason
		}
		r.event(obj, corev1.EventTypeWarning, reason, err.Error())
	}
	return ctrl.Result{RequeueAfter: requeue}, nil
}

// choose sets the policy's status; it returns when to look again.
func (r *PolicyReconciler) choose(ctx context.Context, obj *imagev1.ImagePolicy, repoKey types.NamespacedName) (time.Duration, error) {
	chooser, err := policy.New(obj.Spec.Policy, obj.Spec.FilterTags)
	if err != nil {
		conditions.MarkFailed(obj, true, "InvalidPolicy", "%s", err.Error())
		return 0, err
	}
	var repo imagev1.ImageRepository
	if err := r.Client.Get(ctx, repoKey, &repo); err != nil {
		if apierrors.IsNotFound(err) {
			conditions.MarkFailed(obj, false, meta.DependencyNotReadyReason, "ImageRepository '%s' not found", repoKey)
			return time.Minute, nil
		}
		return time.Minute, err
	}
	if repoKey.Namespace != obj.Namespace {
		if err := r.crossNamespaceAllowed(ctx, obj, &repo); err != nil {
			conditions.MarkFailed(obj, true, "AccessDenied", "%s", err.Error())
			return 0, err
		}
	}
	canonical, tags, ok := r.Repositories.Tags.get(repoKey)
	if !ok {
		conditions.MarkFailed(obj, false, meta.DependencyNotReadyReason, "ImageRepository '%s' has not been scanned yet", repoKey)
		return 10 * time.Second, nil
	}
	tag, err := chooser.Latest(tags)
	if err != nil {
		conditions.MarkFailed(obj, false, "ReconciliationFailed", "cannot determine the latest tag for '%s': %s", canonical, err)
		return time.Minute, err
	}
	ref := &imagev1.ImageRef{Name: canonical, Tag: tag}
	if p := obj.GetDigestReflectionPolicy(); p == imagev1.ReflectAlways ||
		(p == imagev1.ReflectIfNotPresent && (obj.Status.LatestRef == nil || obj.Status.LatestRef.Tag != tag || obj.Status.LatestRef.Digest == "")) {
		opts, err := r.Repositories.registryOptions(ctx, &repo)
		if err == nil {
			ref.Digest, err = r.Repositories.Scanner.Digest(ctx, repo.Spec.Image, tag, opts)
		}
		if err != nil {
			conditions.MarkFailed(obj, false, imagev1.ReadOperationFailedReason, "%s", err.Error())
			return time.Minute, err
		}
	} else if p == imagev1.ReflectIfNotPresent {
		ref.Digest = obj.Status.LatestRef.Digest
	}
	previous := obj.Status.LatestRef
	if previous == nil || previous.String() != ref.String() {
		if previous != nil {
			obj.Status.ObservedPreviousRef = previous
			obj.Status.ObservedPreviousImage = obj.Status.LatestImage
		}
		msg := fmt.Sprintf("Latest image tag for '%s' resolved to %s", canonical, tag)
		if previous != nil {
			msg = fmt.Sprintf("Latest image tag for '%s' updated from %s to %s", canonical, previous.Tag, tag)
		}
		r.event(obj, corev1.EventTypeNormal, meta.SucceededReason, msg)
	}
	obj.Status.LatestRef = ref
	obj.Status.LatestImage = canonical + ":" + tag
	conditions.MarkReady(obj, meta.SucceededReason, "Latest image tag for '%s' resolved to %s", canonical, tag)
	return obj.GetInterval(), nil
}

// crossNamespaceAllowed applies --no-cross-namespace-refs and the
// repository's spec.accessFrom: another namespace's policy may use a
// repository only when one of its namespaceSelectors matches that
// namespace's labels.
func (r *PolicyReconciler) crossNamespaceAllowed(ctx context.Context, obj *imagev1.ImagePolicy, repo *imagev1.ImageRepository) error {
	where := fmt.Sprintf("ImageRepository '%s/%s'", repo.Namespace, repo.Name)
	if r.Tenancy.NoCrossNamespaceRefs {
		return fmt.Errorf("cannot use %s from namespace '%s': cross-namespace references are not allowed", where, obj.Namespace)
	}
	if repo.Spec.AccessFrom == nil {
		return fmt.Errorf("%s does not grant access to namespace '%s' (spec.accessFrom)", where, obj.Namespace)
	}
	var ns corev1.Namespace
	if err := r.APIReader.Get(ctx, types.NamespacedName{Name: obj.Namespace}, &ns); err != nil {
		return fmt.Errorf("read namespace %s: %w", obj.Namespace, err)
	}
	for _, sel := range repo.Spec.AccessFrom.NamespaceSelectors {
		if labels.SelectorFromSet(sel.MatchLabels).Matches(labels.Set(ns.Labels)) {
			return nil
		}
	}
	return fmt.Errorf("%s does not grant access to namespace '%s' (spec.accessFrom)", where, obj.Namespace)
}

func (r *PolicyReconciler) event(obj *imagev1.ImagePolicy, typ, reason, note string) {
	if r.Events != nil {
		r.Events.Eventf(obj, nil, typ, reason, "Reconcile", "%s", note)
	}
}
