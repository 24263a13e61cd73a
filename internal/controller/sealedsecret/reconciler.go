// Package sealedsecret reconciles Bitnami's SealedSecret: it keeps the
// sealing key pairs in labelled Secrets (creating the first one and
// renewing them on a schedule, old ones kept for opening) and opens each
// SealedSecret into the Secret it owns, with the same format as Bitnami's
// controller, so that kubeseal-made objects open here and ours there.
package sealedsecret

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	ssv1 "github.com/tether-gitops/tether/api/bitnami/v1alpha1"
	"github.com/tether-gitops/tether/internal/controller/lifecycle"
	"github.com/tether-gitops/tether/internal/sealedsecrets"
	"github.com/tether-gitops/tether/internal/shard"
)

// ManagedAnnotation lets a SealedSecret take over a Secret it did not
// create (Bitnami's sealedsecrets.bitnami.com/managed: "true").
const ManagedAnnotation = "sealedsecrets.bitnami.com/managed"

// Reconciler opens SealedSecrets.
type Reconciler struct {
	// Client reads SealedSecrets (cached) and writes status and Secrets.
	Client client.Client
	// APIReader reads Secrets, which are not cached.
	APIReader client.Reader
	// Namespace holds the key Secrets (--sealed-secrets-namespace).
	Namespace string
	// KeyBits is the RSA size of new keys (4096 when zero).
	KeyBits int
	// RenewPeriod is how old the newest key may get before another is
	// made (30 days when zero; negative never renews).
	RenewPeriod time.Duration
	// Events records Kubernetes Events.
	Events lifecycle.EventRecorder
	// Shard, when set, is this replica's share; nil reconciles all.
	Shard *shard.Membership

	keyringOnce sync.Once
	keyring     *Keyring
}

// Keyring returns the keys the reconciler opens with, read through
// APIReader from Namespace; the API server serves /v1/cert.pem, /v1/verify
// and /v1/rotate from the same Keyring.
func (r *Reconciler) Keyring() *Keyring {
	r.keyringOnce.Do(func() { r.keyring = &Keyring{Reader: r.APIReader, Namespace: r.Namespace} })
	return r.keyring
}

// SetupWithManager registers the reconciler and the key keeper.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if err := mgr.Add(&keyKeeper{r: r}); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&ssv1.SealedSecret{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Named("sealedsecret").
		WatchesRawSource(r.Shard.Requeue(mgr.GetCache(), &ssv1.SealedSecretList{})).
		Complete(r)
}

// Reconcile opens one SealedSecret into its Secret.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	ss := &ssv1.SealedSecret{}
	if err := r.Client.Get(ctx, req.NamespacedName, ss); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !r.Shard.Owns(shard.KeyOf("SealedSecret", ss)) || !ss.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	before := ss.DeepCopy()
	err := r.open(ctx, ss)
	status, reason, msg := "True", "", ""
	if err != nil {
		status, reason, msg = "False", "ErrUnsealFailed", err.Error()
		if errors.Is(err, errNotManaged) {
			reason = "ErrUpdateFailed"
		}
		r.event(ss, corev1.EventTypeWarning, reason, msg)
	}
	setSynced(ss, status, reason, msg)
	ss.Status.ObservedGeneration = ss.Generation
	if !equality.Semantic.DeepEqual(before.Status, ss.Status) {
		if perr := lifecycle.PatchStatus(ctx, r.Client, r.APIReader, before, ss); perr != nil {
			return ctrl.Result{}, perr
		}
	}
	if err != nil {
		log.FromContext(ctx).Info("cannot open SealedSecret", "error", msg)
		return ctrl.Result{RequeueAfter: time.Minute}, nil
	}
	return ctrl.Result{}, nil
}

// errNotManaged refuses to overwrite a Secret the SealedSecret does not own.
var errNotManaged = errors.New("already exists and is not managed by SealedSecret")

// open unseals ss and creates or updates its Secret.
func (r *Reconciler) open(ctx context.Context, ss *ssv1.SealedSecret) error {
	keys, err := r.privateKeys(ctx)
	if err != nil {
		return err
	}
	secret, err := sealedsecrets.Unseal(ss, keys, sealedsecrets.UnsealOptions{})
	if err != nil {
		return err
	}
	var cur corev1.Secret
	err = r.APIReader.Get(ctx, client.ObjectKeyFromObject(secret), &cur)
	switch {
	case apierrors.IsNotFound(err):
		if err := r.Client.Create(ctx, secret); err != nil {
			return fmt.Errorf("create Secret %s/%s: %w", secret.Namespace, secret.Name, redactAPI(err))
		}
		r.event(ss, corev1.EventTypeNormal, "Unsealed", "SealedSecret unsealed successfully")
		return nil
	case err != nil:
		return fmt.Errorf("read Secret %s/%s: %w", secret.Namespace, secret.Name, err)
	}
	if !metav1.IsControlledBy(&cur, ss) && cur.Annotations[ManagedAnnotation] != "true" {
		return fmt.Errorf("Resource %q %w", cur.Name, errNotManaged)
	}
	next := cur.DeepCopy()
	next.Data, next.Type, next.Immutable = secret.Data, secret.Type, secret.Immutable
	next.Labels, next.Annotations, next.OwnerReferences = secret.Labels, secret.Annotations, secret.OwnerReferences
	if equality.Semantic.DeepEqual(next, &cur) {
		return nil
	}
	if err := r.Client.Update(ctx, next); err != nil {
		return fmt.Errorf("update Secret %s/%s: %w", secret.Namespace, secret.Name, redactAPI(err))
	}
	r.event(ss, corev1.EventTypeNormal, "Unsealed", "SealedSecret unsealed successfully")
	return nil
}

// redactAPI keeps an API error's reason only: its message may quote the
// Secret's data.
func redactAPI(err error) error {
	return fmt.Errorf("the API server refused it (%s)", apierrors.ReasonForError(err))
}

// setSynced sets the Synced condition, as Bitnami's controller does.
func setSynced(ss *ssv1.SealedSecret, status, reason, msg string) {
	if ss.Status == nil {
		ss.Status = &ssv1.SealedSecretStatus{}
	}
	now := metav1.Now()
	for i := range ss.Status.Conditions {
		c := &ss.Status.Conditions[i]
		if c.Type != ssv1.SealedSecretSynced {
			continue
		}
		if c.Status != status {
			c.LastTransitionTime = &now
		}
		if c.Status != status || c.Reason != reason || c.Message != msg {
			c.LastUpdateTime = &now
		}
		c.Status, c.Reason, c.Message = status, reason, msg
		return
	}
	ss.Status.Conditions = append(ss.Status.Conditions, ssv1.SealedSecretCondition{Type: ssv1.SealedSecretSynced, Status: status,
		Reason: reason, Message: msg, LastTransitionTime: &now, LastUpdateTime: &now})
}

// privateKeys returns the sealing keys, newest first.
func (r *Reconciler) privateKeys(ctx context.Context) ([]*rsa.PrivateKey, error) {
	pairs, err := r.Keyring().keyPairs(ctx)
	if err != nil {
		return nil, err
	}
	return sealedsecrets.PrivateKeysOf(pairs), nil
}

// Certificate returns the PEM certificate of the newest key, as Bitnami's
// /v1/cert.pem serves it.
func (r *Reconciler) Certificate(ctx context.Context) ([]byte, error) {
	return r.Keyring().Certificate(ctx)
}

func (r *Reconciler) event(ss *ssv1.SealedSecret, typ, reason, note string) {
	if r.Events != nil {
		r.Events.Eventf(ss, nil, typ, reason, "Unseal", "%s", note)
	}
}

// keyKeeper makes the first key and renews keys on schedule; only the
// leader does.
type keyKeeper struct{ r *Reconciler }

// NeedLeaderElection is true: one replica makes keys.
func (k *keyKeeper) NeedLeaderElection() bool { return true }

// Start checks the keys now and every hour until ctx ends.
func (k *keyKeeper) Start(ctx context.Context) error {
	logger := log.FromContext(ctx).WithName("sealed-secrets-keys")
	for {
		if err := k.check(ctx); err != nil && ctx.Err() == nil {
			logger.Info("cannot check the sealing keys; retrying", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Hour):
		}
	}
}

// check creates a key when none exists or the newest is older than the
// renew period.
func (k *keyKeeper) check(ctx context.Context) error {
	r := k.r
	secrets, err := r.Keyring().secrets(ctx)
	if err != nil {
		return err
	}
	period := r.RenewPeriod
	if period == 0 {
		period = 30 * 24 * time.Hour
	}
	var newest time.Time
	for i := range secrets {
		if _, cert, err := sealedsecrets.ReadKeySecret(&secrets[i]); err == nil && cert.NotBefore.After(newest) {
			newest = cert.NotBefore
		}
	}
	if !newest.IsZero() && (period < 0 || time.Since(newest) < period) {
		return nil
	}
	s, err := sealedsecrets.GenerateKeySecret(sealedsecrets.KeyOptions{Namespace: r.Namespace, Bits: r.KeyBits})
	if err != nil {
		return err
	}
	if err := r.Client.Create(ctx, s); err != nil {
		return fmt.Errorf("create a sealing key in %s: %w", r.Namespace, redactAPI(err))
	}
	r.Keyring().forget() // read again, the new one first
	log.FromContext(ctx).Info("made a new sealing key", "namespace", r.Namespace, "secret", s.Name, "renewed", !newest.IsZero())
	return nil
}
