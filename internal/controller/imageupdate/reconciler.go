// Package imageupdate reconciles Flux's ImageUpdateAutomation: it clones
// the source's branch, rewrites the values that setter comments mark with
// the ImagePolicies' latest images, commits with the rendered message
// template and pushes, never forcing; a push that loses a race is redone
// on the new head.
package imageupdate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/Masterminds/sprig/v3"
	"github.com/ProtonMail/go-crypto/openpgp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	imagev1 "github.com/tether-gitops/tether/api/image/v1"
	"github.com/tether-gitops/tether/api/meta"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/internal/conditions"
	"github.com/tether-gitops/tether/internal/controller/lifecycle"
	"github.com/tether-gitops/tether/internal/image/setters"
	"github.com/tether-gitops/tether/internal/shard"
	"github.com/tether-gitops/tether/internal/source/git"
	"github.com/tether-gitops/tether/internal/tenancy"
)

// pushAttempts bounds the clone-update-push rounds when others keep
// pushing first.
const pushAttempts = 3

// DefaultMessageTemplate is Flux's commit message when none is given.
const DefaultMessageTemplate = `Update from image update automation`

// Reconciler reconciles ImageUpdateAutomations.
type Reconciler struct {
	// Client reads (cached) and writes status.
	Client client.Client
	// APIReader reads Secrets, which are not cached.
	APIReader client.Reader
	// Fetcher clones and pushes (its URL rewrites, limits and timeout).
	Fetcher *git.Fetcher
	// Events records Kubernetes Events.
	Events lifecycle.EventRecorder
	// Tenancy refuses cross-namespace sources when asked.
	Tenancy tenancy.Policy
	// Shard, when set, is this replica's share; nil reconciles all.
	Shard *shard.Membership
}

// SetupWithManager registers the reconciler; a policy's change wakes the
// automations of its namespace.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&imagev1.ImageUpdateAutomation{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Named("imageupdateautomation").
		Watches(&imagev1.ImagePolicy{}, handler.EnqueueRequestsFromMapFunc(r.automationsOf)).
		WatchesRawSource(r.Shard.Requeue(mgr.GetCache(), &imagev1.ImageUpdateAutomationList{})).
		Complete(r)
}

// automationsOf maps a policy to the automations of its namespace.
func (r *Reconciler) automationsOf(ctx context.Context, o client.Object) []reconcile.Request {
	var list imagev1.ImageUpdateAutomationList
	if err := r.Client.List(ctx, &list, client.InNamespace(o.GetNamespace())); err != nil {
		return nil
	}
	return lifecycle.RequestsOf(&list)
}

// Reconcile runs the automation once.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj := &imagev1.ImageUpdateAutomation{}
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !r.Shard.Owns(shard.KeyOf("ImageUpdateAutomation", obj)) || !obj.DeletionTimestamp.IsZero() || obj.Spec.Suspend {
		return ctrl.Result{}, nil
	}
	before := obj.DeepCopy()
	lifecycle.HandleRequest(obj, &obj.Status.LastHandledReconcileAt)
	interval := obj.Spec.Interval.Duration
	if interval <= 0 {
		interval = time.Minute
	}
	err := r.run(ctx, obj)
	now := metav1.Now()
	obj.Status.LastAutomationRunTime = &now
	obj.Status.ObservedGeneration = obj.Generation
	if !equality.Semantic.DeepEqual(before.Status, obj.Status) {
		if perr := lifecycle.PatchStatus(ctx, r.Client, r.APIReader, before, obj); perr != nil {
			return ctrl.Result{}, perr
		}
	}
	if err != nil {
		log.FromContext(ctx).Info("automation failed", "error", err.Error())
		reason := imagev1.GitOperationFailedReason
		if c := conditions.Get(obj, meta.ReadyCondition); c != nil {
			reason = c.Reason
		}
		r.event(obj, corev1.EventTypeWarning, reason, err.Error())
		return ctrl.Result{RequeueAfter: min(interval, time.Minute)}, nil
	}
	return ctrl.Result{RequeueAfter: interval}, nil
}

// run clones, updates, commits and pushes; the outcome is in obj's status.
func (r *Reconciler) run(ctx context.Context, obj *imagev1.ImageUpdateAutomation) error {
	fail := func(stalled bool, reason string, err error) error {
		conditions.MarkFailed(obj, stalled, reason, "%s", err.Error())
		return err
	}
	if s := obj.Spec.Update; s != nil && s.Strategy != "" && s.Strategy != imagev1.UpdateStrategySetters {
		return fail(true, imagev1.InvalidUpdateStrategyReason, fmt.Errorf("spec.update.strategy %q: only Setters is supported", s.Strategy))
	}
	if obj.Spec.GitSpec == nil {
		return fail(true, imagev1.InvalidSourceConfigReason, errors.New("spec.git is required: it names the author of the commits"))
	}
	src, err := r.source(ctx, obj)
	if err != nil {
		return fail(false, imagev1.InvalidSourceConfigReason, err)
	}
	auth, err := r.auth(ctx, src)
	if err != nil {
		return fail(false, imagev1.InvalidSourceConfigReason, err)
	}
	gs := obj.Spec.GitSpec
	branch := ""
	if gs.Checkout != nil {
		branch = gs.Checkout.Reference.Branch
	}
	if branch == "" && src.Spec.Reference != nil {
		branch = src.Spec.Reference.Branch
	}
	if branch == "" {
		branch = "master"
	}
	policies, observed, err := r.policies(ctx, obj)
	if err != nil {
		return fail(false, imagev1.InvalidSourceConfigReason, err)
	}
	obj.Status.ObservedPolicies = observed
	signer, err := r.signer(ctx, obj)
	if err != nil {
		return fail(true, imagev1.InvalidSourceConfigReason, err)
	}
	path := "."
	if obj.Spec.Update != nil && obj.Spec.Update.Path != "" {
		path = obj.Spec.Update.Path
	}
	for attempt := 1; ; attempt++ {
		pushed, head, msg, err := r.attempt(ctx, obj, src, auth, branch, path, policies, signer)
		switch {
		case errors.Is(err, git.ErrNonFastForward) && attempt < pushAttempts:
			log.FromContext(ctx).Info("the branch moved while updating; trying again on its new head", "attempt", attempt)
			continue
		case errors.Is(err, errUpdate):
			return fail(false, imagev1.UpdateFailedReason, err)
		case err != nil:
			return fail(false, imagev1.GitOperationFailedReason, err)
		}
		obj.Status.ObservedSourceRevision = branch + "@sha1:" + head
		if pushed == "" {
			conditions.MarkReady(obj, meta.SucceededReason, "repository up-to-date")
			return nil
		}
		now := metav1.Now()
		obj.Status.LastPushCommit, obj.Status.LastPushTime = pushed, &now
		obj.Status.ObservedSourceRevision = branch + "@sha1:" + pushed
		to := branch
		if gs.Push != nil && gs.Push.Branch != "" {
			to = gs.Push.Branch
		}
		note := fmt.Sprintf("pushed commit '%.7s' to branch '%s'\n%s", pushed, to, msg)
		if gs.HasRefspec() {
			note = fmt.Sprintf("pushed commit '%.7s' with refspec '%s'\n%s", pushed, gs.Push.Refspec, msg)
		}
		conditions.MarkReady(obj, meta.SucceededReason, "%s", note)
		r.event(obj, corev1.EventTypeNormal, meta.SucceededReason, note)
		return nil
	}
}

// errUpdate marks a failure to rewrite the files.
var errUpdate = errors.New("update failed")

// attempt is one clone-update-commit-push round; pushed is "" when there
// was nothing to change.
func (r *Reconciler) attempt(ctx context.Context, obj *imagev1.ImageUpdateAutomation, src *sourcev1.GitRepository, auth *git.Auth,
	branch, path string, policies map[string]setters.Image, signer signingKey) (pushed, head, msg string, err error) {
	ws, err := r.Fetcher.Clone(ctx, src.Spec.URL, branch, auth)
	if err != nil {
		return "", "", "", err
	}
	defer ws.Close()
	dir, err := setters.Dir(ws.Dir, path)
	if err != nil {
		return "", ws.Head, "", fmt.Errorf("%w: %w", errUpdate, err)
	}
	res, err := setters.Update(dir, policies)
	if err != nil {
		return "", ws.Head, "", fmt.Errorf("%w: %w", errUpdate, err)
	}
	if len(res.Changes) == 0 {
		return "", ws.Head, "", nil
	}
	gs := obj.Spec.GitSpec
	msg, err = message(obj, res)
	if err != nil {
		return "", ws.Head, "", fmt.Errorf("%w: spec.git.commit.messageTemplate: %w", errUpdate, err)
	}
	author := git.Signature{Name: gs.Commit.Author.Name, Email: gs.Commit.Author.Email}
	sha, err := ws.Commit(author, msg, signer)
	if err != nil {
		return "", ws.Head, "", err
	}
	pushBranch, refspec := "", ""
	var options map[string]string
	if gs.Push != nil {
		pushBranch, refspec, options = gs.Push.Branch, gs.Push.Refspec, gs.Push.Options
	}
	if err := ws.Push(ctx, pushBranch, refspec, options); err != nil {
		return "", ws.Head, "", err
	}
	return sha, ws.Head, msg, nil
}

// source reads the GitRepository the automation names.
func (r *Reconciler) source(ctx context.Context, obj *imagev1.ImageUpdateAutomation) (*sourcev1.GitRepository, error) {
	ref := obj.Spec.SourceRef
	if ref.Kind != "" && ref.Kind != sourcev1.GitRepositoryKind {
		return nil, fmt.Errorf("spec.sourceRef.kind %q: only GitRepository is supported", ref.Kind)
	}
	ns := ref.Namespace
	if ns == "" {
		ns = obj.Namespace
	}
	if ns != obj.Namespace && r.Tenancy.NoCrossNamespaceRefs {
		return nil, fmt.Errorf("cannot use GitRepository '%s/%s' from namespace '%s': cross-namespace references are not allowed", ns, ref.Name, obj.Namespace)
	}
	var src sourcev1.GitRepository
	if err := r.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: ref.Name}, &src); err != nil {
		return nil, fmt.Errorf("read GitRepository '%s/%s': %w", ns, ref.Name, err)
	}
	return &src, nil
}

// auth reads the source's credentials.
func (r *Reconciler) auth(ctx context.Context, src *sourcev1.GitRepository) (*git.Auth, error) {
	if src.Spec.SecretRef == nil {
		return nil, nil
	}
	var s corev1.Secret
	key := types.NamespacedName{Namespace: src.Namespace, Name: src.Spec.SecretRef.Name}
	if err := r.APIReader.Get(ctx, key, &s); err != nil {
		return nil, fmt.Errorf("read the credentials of GitRepository '%s/%s': %w", src.Namespace, src.Name, err)
	}
	a, err := git.AuthFromSecret(s.Data)
	if err != nil {
		return nil, fmt.Errorf("Secret '%s': %w", key, err)
	}
	return a, nil
}

// policies are the automation's ImagePolicies with a latest image, as
// setters and as status.observedPolicies.
func (r *Reconciler) policies(ctx context.Context, obj *imagev1.ImageUpdateAutomation) (map[string]setters.Image, imagev1.ObservedPolicies, error) {
	sel := labels.Everything()
	if obj.Spec.PolicySelector != nil {
		s, err := metav1.LabelSelectorAsSelector(obj.Spec.PolicySelector)
		if err != nil {
			return nil, nil, fmt.Errorf("spec.policySelector: %w", err)
		}
		sel = s
	}
	var list imagev1.ImagePolicyList
	if err := r.Client.List(ctx, &list, client.InNamespace(obj.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return nil, nil, err
	}
	out, observed := map[string]setters.Image{}, imagev1.ObservedPolicies{}
	for _, p := range list.Items {
		ref := p.Status.LatestRef
		if ref == nil || !conditions.IsTrue(&p, meta.ReadyCondition) {
			continue
		}
		out[p.Namespace+":"+p.Name] = setters.Image{Name: ref.Name, Tag: ref.Tag, Digest: ref.Digest}
		observed[p.Name] = *ref
	}
	return out, observed, nil
}

// signingKey signs commits; nil leaves them unsigned.
type signingKey = *openpgp.Entity

// signer reads spec.git.commit.signingKey (an armored OpenPGP key in
// "git.asc", its passphrase in "passphrase").
func (r *Reconciler) signer(ctx context.Context, obj *imagev1.ImageUpdateAutomation) (signingKey, error) {
	sk := obj.Spec.GitSpec.Commit.SigningKey
	if sk == nil {
		return nil, nil
	}
	if sk.Type != "" && sk.Type != imagev1.SigningKeyTypeGPG {
		return nil, fmt.Errorf("spec.git.commit.signingKey.type %q: only gpg is supported", sk.Type)
	}
	var s corev1.Secret
	if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: obj.Namespace, Name: sk.SecretRef.Name}, &s); err != nil {
		return nil, fmt.Errorf("spec.git.commit.signingKey: read Secret '%s': %w", sk.SecretRef.Name, err)
	}
	key, err := git.ReadSigningKey(s.Data["git.asc"], string(s.Data["passphrase"]))
	if err != nil {
		return nil, fmt.Errorf("spec.git.commit.signingKey (Secret '%s'): %w", sk.SecretRef.Name, err)
	}
	return key, nil
}

// Image is a changed image as message templates see it (.Image and
// .Updated.Images): {{ .Image.Tag }}, {{ .Image.Digest }}, {{ .Image }}.
type Image struct {
	Name, Tag, Digest string
}

// String is the full reference.
func (i Image) String() string { return setters.Image(i).String() }

// Repository is the image's name without its registry's host part as
// written (Flux's .Repository).
func (i Image) Repository() string { return i.Name }

// Updated lists what changed, as Flux's v1beta1 templates read it.
type Updated struct {
	// Files are the changed files, relative to spec.update.path.
	Files []string
	// Images are the images written.
	Images []Image
}

// Changed is v1's view of the changes (.Changed.Changes,
// .Changed.FileChanges).
type Changed struct {
	Changes     []setters.Change
	FileChanges map[string][]setters.Change
}

// TemplateData is what spec.git.commit.messageTemplate renders.
type TemplateData struct {
	// AutomationObject is "<namespace>/<name>".
	AutomationObject types.NamespacedName
	Updated          Updated
	Changed          Changed
	// Image is the first changed image (the seed's .Image.Tag).
	Image Image
	// Values are spec.git.commit.messageTemplateValues.
	Values map[string]string
}

// message renders the commit message.
func message(obj *imagev1.ImageUpdateAutomation, res *setters.Result) (string, error) {
	text := obj.Spec.GitSpec.Commit.MessageTemplate
	if text == "" {
		text = DefaultMessageTemplate
	}
	data := TemplateData{AutomationObject: client.ObjectKeyFromObject(obj), Values: obj.Spec.GitSpec.Commit.MessageTemplateValues,
		Updated: Updated{Files: res.Files()}, Changed: Changed{Changes: res.Changes, FileChanges: map[string][]setters.Change{}}}
	keys := make([]string, 0, len(res.Images))
	for k := range res.Images {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		data.Updated.Images = append(data.Updated.Images, Image(res.Images[k]))
	}
	if len(data.Updated.Images) > 0 {
		data.Image = data.Updated.Images[0]
	}
	for _, c := range res.Changes {
		data.Changed.FileChanges[c.File] = append(data.Changed.FileChanges[c.File], c)
	}
	funcs := sprig.TxtFuncMap()
	for _, unsafe := range []string{"env", "expandenv", "getHostByName"} {
		delete(funcs, unsafe)
	}
	tpl, err := template.New("message").Funcs(funcs).Option("missingkey=error").Parse(text)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := tpl.Execute(&b, data); err != nil {
		return "", err
	}
	if strings.TrimSpace(b.String()) == "" {
		return "", errors.New("the rendered message is empty")
	}
	return b.String(), nil
}

func (r *Reconciler) event(obj *imagev1.ImageUpdateAutomation, typ, reason, note string) {
	if r.Events != nil {
		r.Events.Eventf(obj, nil, typ, reason, "Reconcile", "%s", note)
	}
}
