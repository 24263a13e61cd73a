package imageupdater

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/yaml"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	imagev1 "github.com/tether-gitops/tether/api/image/v1"
	"github.com/tether-gitops/tether/internal/controller/lifecycle"
	"github.com/tether-gitops/tether/internal/image/policy"
	"github.com/tether-gitops/tether/internal/image/registry"
	"github.com/tether-gitops/tether/internal/source/git"
)

// DefaultInterval is how often an app's images are checked (Argo CD Image
// Updater's default).
const DefaultInterval = 2 * time.Minute

// Reconciler updates the images of annotated Applications.
type Reconciler struct {
	// Client reads Applications (cached) and patches them.
	Client client.Client
	// Scanner reads registries.
	Scanner *registry.Scanner
	// Fetcher clones and pushes for Git write-back.
	Fetcher *git.Fetcher
	// RepoAuth gives an app's Git credentials for a repository.
	RepoAuth func(ctx context.Context, app *argov1.Application, repoURL string) (*git.Auth, error)
	// Interval is how often each app is checked; DefaultInterval when 0.
	Interval time.Duration
	// Events records Kubernetes Events on the Application.
	Events lifecycle.EventRecorder
	// Owns reports whether this replica handles app (--shards); nil owns
	// all.
	Owns func(client.Object) bool
}

// SetupWithManager registers the reconciler for annotated Applications.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	annotated := predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetAnnotations()[ImageListAnnotation] != "" })
	return ctrl.NewControllerManagedBy(mgr).
		For(&argov1.Application{}, builder.WithPredicates(annotated, predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Named("imageupdater").
		Complete(r)
}

func (r *Reconciler) interval() time.Duration {
	if r.Interval > 0 {
		return r.Interval
	}
	return DefaultInterval
}

// Reconcile checks one app's images and writes newer ones back.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	app := &argov1.Application{}
	if err := r.Client.Get(ctx, req.NamespacedName, app); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !app.DeletionTimestamp.IsZero() || (r.Owns != nil && !r.Owns(app)) {
		return ctrl.Result{}, nil
	}
	settings, err := Parse(app.Annotations)
	if err != nil || settings == nil {
		if err != nil {
			r.event(app, corev1.EventTypeWarning, "InvalidAnnotations", err.Error())
		}
		return ctrl.Result{}, nil
	}
	if app.Spec.Source == nil {
		r.event(app, corev1.EventTypeWarning, "UnsupportedSource", "image updates need spec.source (several sources are not supported)")
		return ctrl.Result{}, nil
	}
	kind := sourceKind(app)
	if kind == "" {
		r.event(app, corev1.EventTypeWarning, "UnsupportedSource", "image updates need a Kustomize or Helm source")
		return ctrl.Result{RequeueAfter: r.interval()}, nil
	}
	var updates []update
	for _, img := range settings.Images {
		u, err := r.choose(ctx, img)
		if err != nil {
			r.event(app, corev1.EventTypeWarning, "ScanFailed", err.Error())
			continue
		}
		updates = append(updates, u)
	}
	if len(updates) == 0 {
		return ctrl.Result{RequeueAfter: r.interval()}, nil
	}
	var changed []string
	switch settings.WriteBack {
	case writeBackGit:
		changed, err = r.writeGit(ctx, app, settings, kind, updates)
	default:
		changed, err = r.writeApp(ctx, app, kind, updates)
	}
	if err != nil {
		log.FromContext(ctx).Info("image write-back failed", "error", err.Error())
		r.event(app, corev1.EventTypeWarning, "WriteBackFailed", err.Error())
		return ctrl.Result{RequeueAfter: min(r.interval(), time.Minute)}, nil
	}
	if len(changed) > 0 {
		r.event(app, corev1.EventTypeNormal, "ImagesUpdated", fmt.Sprintf("updated by %s write-back: %s", settings.WriteBack, strings.Join(changed, ", ")))
	}
	return ctrl.Result{RequeueAfter: r.interval()}, nil
}

// sourceKind is "kustomize" or "helm".
func sourceKind(app *argov1.Application) string {
	src := app.Spec.Source
	switch {
	case src.Kustomize != nil || app.Status.SourceType == argov1.ApplicationSourceTypeKustomize:
		return "kustomize"
	case src.Helm != nil || src.Chart != "" || app.Status.SourceType == argov1.ApplicationSourceTypeHelm:
		return "helm"
	}
	return ""
}

// update is the version chosen for one image.
type update struct {
	img Image
	// tag is the chosen tag; digest is set by the digest strategy.
	tag, digest string
}

// ref is the image reference written: name:tag or name@digest.
func (u update) ref() string {
	if u.digest != "" {
		return u.img.Name + "@" + u.digest
	}
	return u.img.Name + ":" + u.tag
}

// kustomizeEntry is the kustomize images entry for u.
func (u update) kustomizeEntry() string {
	if u.img.KustomizeName != u.img.Name {
		return u.img.KustomizeName + "=" + u.ref()
	}
	return u.ref()
}

// choose scans img's tags and picks one by its strategy.
func (r *Reconciler) choose(ctx context.Context, img Image) (update, error) {
	if img.Strategy == strategyDigest {
		d, err := r.Scanner.Digest(ctx, img.Name, img.Constraint, registry.Options{})
		return update{img: img, tag: img.Constraint, digest: d}, err
	}
	res, err := r.Scanner.Tags(ctx, img.Name, registry.Options{})
	if err != nil {
		return update{}, err
	}
	tags := slices.DeleteFunc(res.Tags, func(t string) bool {
		if img.Allow != nil && !img.Allow.MatchString(t) {
			return true
		}
		return slices.ContainsFunc(img.Ignore, func(g string) bool { ok, _ := path.Match(g, t); return ok })
	})
	switch img.Strategy {
	case strategyNewestBuild:
		var best string
		var bestAt time.Time
		for _, t := range tags {
			at, err := r.Scanner.Created(ctx, img.Name, t, registry.Options{})
			if err != nil {
				return update{}, err
			}
			if best == "" || at.After(bestAt) {
				best, bestAt = t, at
			}
		}
		if best == "" {
			return update{}, fmt.Errorf("%s: no tag left after the filters", img.Alias)
		}
		return update{img: img, tag: best}, nil
	}
	choice := imagev1.ImagePolicyChoice{Alphabetical: &imagev1.AlphabeticalPolicy{}}
	if img.Strategy == strategySemver {
		rng := img.Constraint
		if rng == "" {
			rng = "*"
		}
		choice = imagev1.ImagePolicyChoice{SemVer: &imagev1.SemVerPolicy{Range: rng}}
	}
	c, err := policy.New(choice, nil)
	if err != nil {
		return update{}, fmt.Errorf("%s: %w", img.Alias, err)
	}
	tag, err := c.Latest(tags)
	if err != nil {
		return update{}, fmt.Errorf("%s: %w", img.Alias, err)
	}
	return update{img: img, tag: tag}, nil
}

// apply sets the updates in src (its kustomize images or Helm
// parameters) and returns what changed.
func apply(src *argov1.ApplicationSource, kind string, updates []update) []string {
	var changed []string
	for _, u := range updates {
		switch kind {
		case "kustomize":
			if src.Kustomize == nil {
				src.Kustomize = &argov1.ApplicationSourceKustomize{}
			}
			entry := u.kustomizeEntry()
			i := slices.IndexFunc(src.Kustomize.Images, func(e string) bool { return imageKey(e) == u.img.KustomizeName })
			switch {
			case i >= 0 && src.Kustomize.Images[i] == entry:
				continue
			case i >= 0:
				src.Kustomize.Images[i] = entry
			default:
				src.Kustomize.Images = append(src.Kustomize.Images, entry)
			}
			changed = append(changed, entry)
		case "helm":
			if src.Helm == nil {
				src.Helm = &argov1.ApplicationSourceHelm{}
			}
			tag := u.tag
			if u.digest != "" {
				tag = u.digest
			}
			a := setParam(src.Helm, u.img.HelmName, u.img.Name)
			b := setParam(src.Helm, u.img.HelmTag, tag)
			if a || b {
				changed = append(changed, u.img.Name+":"+tag)
			}
		}
	}
	return changed
}

// imageKey is the image name a kustomize images entry sets.
func imageKey(entry string) string {
	if name, _, ok := strings.Cut(entry, "="); ok {
		return name
	}
	if i := strings.Index(entry, "@"); i >= 0 {
		entry = entry[:i]
	}
	name, _ := splitConstraint(entry)
	return name
}

// setParam sets a Helm parameter; it reports a change.
func setParam(h *argov1.ApplicationSourceHelm, name, value string) bool {
	for i, p := range h.Parameters {
		if p.Name == name {
			if p.Value == value {
				return false
			}
			h.Parameters[i].Value = value
			return true
		}
	}
	h.Parameters = append(h.Parameters, argov1.HelmParameter{Name: name, Value: value, ForceString: true})
	return true
}

// writeApp is the argocd write-back: the app's own spec.source changes,
// guarded by its resourceVersion.
func (r *Reconciler) writeApp(ctx context.Context, app *argov1.Application, kind string, updates []update) ([]string, error) {
	next := app.DeepCopy()
	changed := apply(next.Spec.Source, kind, updates)
	if len(changed) == 0 {
		return nil, nil
	}
	err := r.Client.Patch(ctx, next, client.MergeFromWithOptions(app, client.MergeFromWithOptimisticLock{}))
	if apierrors.IsConflict(err) {
		return nil, errors.New("the Application changed meanwhile; trying again at the next check")
	}
	return changed, err
}

// pushAttempts bounds the clone-commit-push rounds when others keep
// pushing first.
const pushAttempts = 3

// writeGit is the git write-back: .argocd-source-<app>.yaml in the app's
// path gets the updates, committed and pushed (never forced).
func (r *Reconciler) writeGit(ctx context.Context, app *argov1.Application, s *Settings, kind string, updates []update) ([]string, error) {
	src := app.Spec.Source
	auth, err := r.RepoAuth(ctx, app, src.RepoURL)
	if err != nil {
		return nil, err
	}
	branch := s.Branch
	if branch == "" {
		branch = src.TargetRevision
	}
	if branch == "" || branch == "HEAD" {
		branch = "main"
	}
	for attempt := 1; ; attempt++ {
		changed, err := r.commitOnce(ctx, app, auth, branch, kind, updates)
		if errors.Is(err, git.ErrNonFastForward) && attempt < pushAttempts {
			continue
		}
		return changed, err
	}
}

// commitOnce clones, updates the override file, commits and pushes.
func (r *Reconciler) commitOnce(ctx context.Context, app *argov1.Application, auth *git.Auth, branch, kind string, updates []update) ([]string, error) {
	ws, err := r.Fetcher.Clone(ctx, app.Spec.Source.RepoURL, branch, auth)
	if err != nil {
		return nil, err
	}
	defer ws.Close()
	dir := strings.TrimPrefix(path.Clean("/"+app.Spec.Source.Path), "/")
	file := path.Join(dir, ".argocd-source-"+app.Name+".yaml")
	full := filepath.Join(ws.Dir, filepath.FromSlash(file))
	var overlay argov1.ApplicationSource
	if data, err := os.ReadFile(full); err == nil {
		if err := yaml.Unmarshal(data, &overlay); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	// The overlay starts from the spec's images or parameters, so that
	// the file holds the whole list, as Argo CD merges it.
	if kind == "kustomize" && overlay.Kustomize == nil && app.Spec.Source.Kustomize != nil {
		overlay.Kustomize = &argov1.ApplicationSourceKustomize{Images: slices.Clone(app.Spec.Source.Kustomize.Images)}
	}
	if kind == "helm" && overlay.Helm == nil && app.Spec.Source.Helm != nil {
		overlay.Helm = &argov1.ApplicationSourceHelm{Parameters: slices.Clone(app.Spec.Source.Helm.Parameters)}
	}
	changed := apply(&overlay, kind, updates)
	if len(changed) == 0 {
		return nil, nil
	}
	out := map[string]any{}
	if overlay.Kustomize != nil {
		out["kustomize"] = map[string]any{"images": overlay.Kustomize.Images}
	}
	if overlay.Helm != nil {
		out["helm"] = map[string]any{"parameters": overlay.Helm.Parameters}
	}
	data, err := yaml.Marshal(out)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(full, data, 0o644); err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("build: automatic update of %s\n\n", app.Name)
	for _, c := range changed {
		msg += "updates image " + c + "\n"
	}
	if _, err := ws.Commit(git.Signature{Name: defaultGitCommitName, Email: defaultGitCommitEmail}, msg, nil); err != nil {
		return nil, err
	}
	if err := ws.Push(ctx, branch, "", nil); err != nil {
		return nil, err
	}
	return changed, nil
}

func (r *Reconciler) event(app *argov1.Application, typ, reason, note string) {
	if r.Events != nil {
		r.Events.Eventf(app, nil, typ, reason, "ImageUpdate", "%s", note)
	}
}
