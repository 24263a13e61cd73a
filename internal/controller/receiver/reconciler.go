package receiver

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/tether-gitops/tether/api/meta"
	notificationv1 "github.com/tether-gitops/tether/api/notification/v1"
	"github.com/tether-gitops/tether/internal/conditions"
	"github.com/tether-gitops/tether/internal/controller/lifecycle"
	"github.com/tether-gitops/tether/internal/shard"
)

// WebhookPathField is the cache index of Receivers by status.webhookPath.
const WebhookPathField = "status.webhookPath"

// TokenKey is the key of a Receiver's Secret that holds its token.
const TokenKey = "token"

// tokenRetry is how soon a Receiver whose token cannot be read is looked
// at again (Flux retries at its interval; a minute is kinder to a user
// who just created the Secret).
const tokenRetry = time.Minute

// Supported reports whether the server verifies requests of Receiver type
// typ: generic, generic-hmac, github, gitlab, bitbucket and harbor.
func Supported(typ string) bool {
	switch typ {
	case notificationv1.GenericReceiver, notificationv1.GenericHMACReceiver, notificationv1.GitHubReceiver,
		notificationv1.GitLabReceiver, notificationv1.BitbucketReceiver, notificationv1.HarborReceiver:
		return true
	}
	return false
}

// IndexWebhookPath registers the WebhookPathField index of Receivers.
func IndexWebhookPath(ctx context.Context, indexer client.FieldIndexer) error {
	err := indexer.IndexField(ctx, &notificationv1.Receiver{}, WebhookPathField, func(o client.Object) []string {
		if p := o.(*notificationv1.Receiver).Status.WebhookPath; p != "" {
			return []string{p}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("index Receivers by %s: %w", WebhookPathField, err)
	}
	return nil
}

// Reconciler reconciles Receiver objects.
type Reconciler struct {
	// Shard, when set, is this replica's share of the objects (--shards);
	// nil reconciles every object.
	Shard *shard.Membership
	// Client reads Receivers (cached) and writes their status.
	Client client.Client
	// APIReader reads Secrets, which are not cached.
	APIReader client.Reader
}

// SetupWithManager registers the reconciler.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&notificationv1.Receiver{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Named("receiver").
		WatchesRawSource(r.Shard.Requeue(mgr.GetCache(), &notificationv1.ReceiverList{})).
		Complete(r)
}

// Reconcile records one Receiver's webhook path and readiness.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	obj := &notificationv1.Receiver{}
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !r.Shard.Owns(shard.KeyOf("Receiver", obj)) {
		return ctrl.Result{}, nil // another replica's
	}
	if !obj.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // nothing of it is kept anywhere
	}
	before := obj.DeepCopy()
	defer func() {
		if err := r.patchStatus(ctx, before, obj); err != nil && retErr == nil {
			retErr = err
		}
	}()
	lifecycle.HandleRequest(obj, &obj.Status.LastHandledReconcileAt)
	if err := validate(obj); err != nil {
		conditions.MarkFailed(obj, true, notificationv1.ValidationFailedReason, "%s", err.Error())
		log.FromContext(ctx).Info("receiver not usable", "error", err.Error())
		return ctrl.Result{}, nil
	}
	token, err := r.token(ctx, obj)
	if err != nil {
		conditions.MarkFailed(obj, false, notificationv1.TokenNotFoundReason, "%s", err.Error())
		log.FromContext(ctx).Info("receiver token not read", "error", err.Error())
		return ctrl.Result{RequeueAfter: min(tokenRetry, obj.GetInterval())}, nil
	}
	path := obj.GetWebhookPath(token)
	obj.Status.WebhookPath, obj.Status.URL = path, path
	conditions.MarkReady(obj, meta.SucceededReason, "Receiver initialized for path: %s", path)
	return ctrl.Result{RequeueAfter: obj.GetInterval()}, nil
}

// validate refuses what the server cannot serve.
func validate(obj *notificationv1.Receiver) error {
	if !Supported(obj.Spec.Type) {
		return fmt.Errorf("receiver type %q is not supported by Tether (supported: generic, generic-hmac, github, gitlab, bitbucket, harbor)", obj.Spec.Type)
	}
	if obj.Spec.SecretRef == nil || obj.Spec.SecretRef.Name == "" {
		return errors.New("spec.secretRef is required: name a Secret with a 'token' key")
	}
	// Ignoring a filter would reconcile objects the user excluded.
	if obj.Spec.ResourceFilter != "" {
		return errors.New("spec.resourceFilter (CEL) is not supported by Tether yet: remove it")
	}
	for _, res := range obj.Spec.Resources {
		if res.Filter != "" {
			return fmt.Errorf("spec.resources[%s/%s].filter (CEL) is not supported by Tether yet: remove it", res.Kind, res.Name)
		}
	}
	return nil
}

// Token reads the token of obj's spec.secretRef, from the Secret in obj's
// namespace.
func Token(ctx context.Context, reader client.Reader, obj *notificationv1.Receiver) (string, error) {
	if obj.Spec.SecretRef == nil || obj.Spec.SecretRef.Name == "" {
		return "", errors.New("spec.secretRef is not set")
	}
	var secret corev1.Secret
	key := types.NamespacedName{Namespace: obj.Namespace, Name: obj.Spec.SecretRef.Name}
	if err := reader.Get(ctx, key, &secret); err != nil {
		if apierrors.IsNotFound(err) {
			return "", fmt.Errorf("secret '%s' not found: create it with a '%s' key", key, TokenKey)
		}
		return "", fmt.Errorf("read secret '%s': %w", key, err)
	}
	token := string(secret.Data[TokenKey])
	if token == "" {
		return "", fmt.Errorf("secret '%s' has no '%s' key (or it is empty)", key, TokenKey)
	}
	return token, nil
}

func (r *Reconciler) token(ctx context.Context, obj *notificationv1.Receiver) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return Token(ctx, r.APIReader, obj)
}

// patchStatus writes status when it changed.
func (r *Reconciler) patchStatus(ctx context.Context, before, obj *notificationv1.Receiver) error {
	obj.Status.ObservedGeneration = obj.Generation
	if equality.Semantic.DeepEqual(before.Status, obj.Status) {
		return nil
	}
	return lifecycle.PatchStatus(ctx, r.Client, r.APIReader, before, obj)
}
