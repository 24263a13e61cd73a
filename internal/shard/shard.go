// Package shard spreads the objects Tether reconciles over its replicas.
//
// Each replica holds a Kubernetes Lease of its own (a member Lease, labelled
// with the group); the replicas whose Lease was renewed within its duration
// are the members. An object belongs to one member, chosen by rendezvous
// (highest random weight) hashing of its key over the members: when a
// replica joins or dies only the objects it gains or held move, and every
// replica that sees the same members agrees on the owner without talking
// to the others. A replica that stops cleanly deletes its Lease, so its
// objects move at once; one that dies stops renewing, and its objects move
// once its Lease runs out.
//
//	m := shard.New(clientset, shard.Options{Namespace: "tether", Identity: podName})
//	mgr.Add(m)
//	if !m.Owns(shard.KeyOf(obj)) { return ctrl.Result{}, nil } // in Reconcile
package shard

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// GroupLabel labels the member Leases of one group of replicas.
const GroupLabel = "tether.gitops.dev/shard-group"

// FluxKeyLabel is Flux's sharding label: objects with the same value are
// reconciled by the same replica.
const FluxKeyLabel = "sharding.fluxcd.io/key"

// Options configure a Membership.
type Options struct {
	// Namespace holds the member Leases.
	Namespace string
	// Group names the replicas that share the work; "tether" when empty.
	Group string
	// Identity is this replica's name, unique in the group (the pod's
	// name); its Lease is "<group>-member-<identity>".
	Identity string
	// LeaseDuration is how long a member counts as alive after its last
	// renewal; RenewPeriod how often members renew and look at the others.
	LeaseDuration, RenewPeriod time.Duration
	// Algorithm picks the owner among the members: "" or
	// "consistent-hashing" (rendezvous hashing), or "legacy" (Argo CD's:
	// a hash of the key modulo the member count).
	Algorithm string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Membership is this replica's view of the group: which replicas are
// alive, and so which objects are its own.
type Membership struct {
	leases kubernetesLeases
	opts   Options

	mu      sync.RWMutex
	members []string // alive identities, sorted; nil until first seen
	subs    []chan struct{}
}

// kubernetesLeases is the part of the Leases API a Membership uses.
type kubernetesLeases interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*coordinationv1.Lease, error)
	Create(ctx context.Context, l *coordinationv1.Lease, opts metav1.CreateOptions) (*coordinationv1.Lease, error)
	Update(ctx context.Context, l *coordinationv1.Lease, opts metav1.UpdateOptions) (*coordinationv1.Lease, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
	List(ctx context.Context, opts metav1.ListOptions) (*coordinationv1.LeaseList, error)
}

// New returns the membership of opts.Identity in its group; it takes part
// once started (Start).
func New(cs kubernetes.Interface, opts Options) *Membership {
	if opts.Group == "" {
		opts.Group = "tether"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Membership{leases: cs.CoordinationV1().Leases(opts.Namespace), opts: opts}
}

// leaseName is the member Lease of identity.
func (m *Membership) leaseName() string {
	return m.opts.Group + "-member-" + m.opts.Identity
}

// Start renews this replica's Lease and reads the members every
// RenewPeriod until ctx ends, then deletes its Lease so the others take
// its objects at once.
func (m *Membership) Start(ctx context.Context) error {
	logger := log.FromContext(ctx).WithName("shard")
	ticker := time.NewTicker(m.opts.RenewPeriod)
	defer ticker.Stop()
	for {
		if err := m.round(ctx); err != nil && ctx.Err() == nil {
			logger.Info("membership round failed; retrying", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			leave, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			err := m.leases.Delete(leave, m.leaseName(), metav1.DeleteOptions{})
			cancel()
			if err != nil && !apierrors.IsNotFound(err) {
				logger.Info("could not delete the member Lease; the others take over when it runs out", "error", err.Error())
			}
			return nil
		case <-ticker.C:
		}
	}
}

// NeedLeaderElection is false: every replica is a member.
func (m *Membership) NeedLeaderElection() bool { return false }

// round renews this replica's Lease and reads who is alive.
func (m *Membership) round(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, m.opts.RenewPeriod+5*time.Second)
	defer cancel()
	if err := m.renew(ctx); err != nil {
		return err
	}
	list, err := m.leases.List(ctx, metav1.ListOptions{LabelSelector: GroupLabel + "=" + m.opts.Group})
	if err != nil {
		return fmt.Errorf("list member Leases: %w", err)
	}
	now := m.opts.Now()
	var alive []string
	for _, l := range list.Items {
		if l.Spec.HolderIdentity == nil || l.Spec.RenewTime == nil {
			continue
		}
		d := m.opts.LeaseDuration
		if l.Spec.LeaseDurationSeconds != nil {
			d = time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second
		}
		if l.Spec.RenewTime.Add(d).After(now) {
			alive = append(alive, *l.Spec.HolderIdentity)
		}
	}
	if !slices.Contains(alive, m.opts.Identity) {
		alive = append(alive, m.opts.Identity) // just renewed
	}
	slices.Sort(alive)
	m.setMembers(alive)
	return nil
}

// renew creates or renews this replica's Lease.
func (m *Membership) renew(ctx context.Context) error {
	now := metav1.NewMicroTime(m.opts.Now())
	spec := coordinationv1.LeaseSpec{HolderIdentity: ptr.To(m.opts.Identity), RenewTime: &now,
		LeaseDurationSeconds: ptr.To(int32(m.opts.LeaseDuration.Round(time.Second) / time.Second))}
	l, err := m.leases.Get(ctx, m.leaseName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		spec.AcquireTime = &now
		_, err = m.leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: m.leaseName(), Labels: map[string]string{GroupLabel: m.opts.Group}},
			Spec:       spec}, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create member Lease %s: %w", m.leaseName(), err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("read member Lease %s: %w", m.leaseName(), err)
	}
	spec.AcquireTime = l.Spec.AcquireTime
	l.Spec = spec
	if _, err := m.leases.Update(ctx, l, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("renew member Lease %s: %w", m.leaseName(), err)
	}
	return nil
}

// setMembers records the members and tells subscribers when they changed.
func (m *Membership) setMembers(alive []string) {
	m.mu.Lock()
	changed := m.members == nil || !slices.Equal(m.members, alive)
	m.members = alive
	subs := m.subs
	m.mu.Unlock()
	if !changed {
		return
	}
	for _, ch := range subs {
		select {
		case ch <- struct{}{}:
		default: // one pending notice is enough
		}
	}
}

// Members are the replicas alive as last seen, sorted; nil before the
// first round.
func (m *Membership) Members() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return slices.Clone(m.members)
}

// Owns reports whether this replica reconciles the object of key. A nil
// Membership owns everything (sharding is off); before the members are
// first seen it owns nothing (a notice follows).
func (m *Membership) Owns(key string) bool {
	if m == nil {
		return true
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return Owner(m.members, key, m.opts.Algorithm) == m.opts.Identity
}

// Subscribe returns a channel that receives a notice each time the
// members change.
func (m *Membership) Subscribe() <-chan struct{} {
	ch := make(chan struct{}, 1)
	m.mu.Lock()
	m.subs = append(m.subs, ch)
	m.mu.Unlock()
	return ch
}

// Owner is the member that owns key; "" without members.
func Owner(members []string, key, algorithm string) string {
	if len(members) == 0 {
		return ""
	}
	if algorithm == "legacy" {
		return members[int(hash32(key)%uint32(len(members)))]
	}
	best, bestWeight := "", uint64(0)
	for _, m := range members {
		if w := hash64(m + "\x00" + key); best == "" || w > bestWeight {
			best, bestWeight = m, w
		}
	}
	return best
}

// KeyOf is the sharding key of obj: the value of Flux's sharding label
// when set (objects with one value stay together), else its kind,
// namespace and name.
func KeyOf(kind string, obj client.Object) string {
	if v := obj.GetLabels()[FluxKeyLabel]; v != "" {
		return "key/" + v
	}
	return kind + "/" + obj.GetNamespace() + "/" + obj.GetName()
}

func hash64(s string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	// fnv's low bits mix poorly for near-equal inputs; finish with a
	// splitmix64 round so weights spread evenly.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func hash32(s string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return h.Sum32()
}

// String names the membership in logs.
func (m *Membership) String() string {
	return "shard member " + m.opts.Identity + " of " + m.opts.Group + " (" + strconv.Itoa(len(m.Members())) + " members)"
}
