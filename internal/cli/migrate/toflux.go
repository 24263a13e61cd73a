package migrate

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	"github.com/tether-gitops/tether/api/meta"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
)

// toFlux holds the state of turning one Application into Flux objects.
type toFlux struct {
	o       Options
	doc     *document
	app     argov1.Application
	left    *leftovers
	res     *Result
	set     deploySettings
	sources map[string]string // kind+URL+revision -> name of the source written
}

// deploySettings are the Application-wide settings that every
// Kustomization or HelmRelease written from it shares.
type deploySettings struct {
	targetNamespace  string
	kubeConfig       *meta.KubeConfigReference
	prune, selfHeal  bool
	suspend          bool
	createNamespace  bool
	serverSideApply  bool
	retryLimit       *int64
	retryInterval    *metav1.Duration
	namespaceLabels  map[string]string
	namespaceAnnots  map[string]string
	namespaceWritten bool
}

// sourceAt is one source of an Application with the path of its fields.
type sourceAt struct {
	src  argov1.ApplicationSource
	path []any
}

func (s sourceAt) at(names ...any) []any {
	return append(append([]any{}, s.path...), names...)
}

func (s sourceAt) field(names ...any) string {
	p := ""
	for _, n := range s.at(names...) {
		p = joinPath(p, n)
	}
	return p
}

func applicationToFlux(d *document, o Options, res *Result) error {
	m := &toFlux{o: o, doc: d, left: newLeftovers(d.fields), res: res, sources: map[string]string{}}
	if err := d.decode(&m.app); err != nil {
		return err
	}
	m.left.takeMeta()
	m.mapFinalizers()
	m.mapProject()
	m.mapDestination()
	if err := m.mapSyncPolicy(); err != nil {
		return err
	}
	srcs := m.sourceList()
	if len(srcs) == 0 {
		return fmt.Errorf("%s (%s): spec.source is missing: an Application needs spec.source, spec.sources or spec.sourceHydrator", d.where, d.id())
	}
	deployable := 0
	for _, s := range srcs {
		if !refOnly(s.src) {
			deployable++
		}
	}
	for i, s := range srcs {
		name := m.app.Name
		if deployable > 1 {
			name += "-" + strconv.Itoa(i)
			if s.src.Name != "" {
				name = m.app.Name + "-" + dnsLabel(s.src.Name)
			}
		}
		if err := m.mapSource(s, name); err != nil {
			return err
		}
	}
	if deployable > 1 {
		m.warn("spec.sources", "become separate Flux objects, one per source, which sync and prune independently")
	}
	for _, p := range m.left.remaining() {
		m.warn(p, "has no Flux equivalent")
	}
	return nil
}

func (m *toFlux) warn(field, msg string) {
	w := Warning{Object: "Application " + m.app.Namespace + "/" + m.app.Name, Field: field, Message: msg}
	for _, seen := range m.res.Warnings {
		if seen == w {
			return
		}
	}
	m.res.Warnings = append(m.res.Warnings, w)
}

func (m *toFlux) errorf(field, format string, args ...any) error {
	return fmt.Errorf("%s (%s): %s: %s", m.doc.where, m.doc.id(), field, fmt.Sprintf(format, args...))
}

// objectMeta names an object written for the Application.
func (m *toFlux) objectMeta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: m.o.FluxNamespace,
		Labels: m.app.Labels, Annotations: copyAnnotations(m.app.Annotations)}
}

func (m *toFlux) add(comment string, v any) {
	m.res.Objects = append(m.res.Objects, Object{Comment: comment, Value: v})
}

func (m *toFlux) from() string {
	return "Migrated by tether migrate from Application " + m.app.Namespace + "/" + m.app.Name + "."
}

// mapFinalizers accepts the finalizer that deletes managed objects with
// the Application: Flux does that when prune is on.
func (m *toFlux) mapFinalizers() {
	for i, f := range m.app.Finalizers {
		if strings.HasPrefix(f, argov1.ResourcesFinalizerName) {
			m.left.take("metadata", "finalizers", i)
			if m.app.Spec.SyncPolicy == nil || m.app.Spec.SyncPolicy.Automated == nil || !m.app.Spec.SyncPolicy.Automated.Prune {
				m.warn(fmt.Sprintf("metadata.finalizers[%s]", f), "deletes the managed objects with the Application; Flux does that only with prune, which is off")
			}
		}
	}
}

func (m *toFlux) mapProject() {
	m.left.take("spec", "project")
	if p := m.app.Spec.Project; p != "" && p != argov1.DefaultAppProjectName {
		m.warn("spec.project", fmt.Sprintf("%q has no Flux equivalent: its source, destination and resource rules are not enforced (Flux uses namespaces, RBAC and serviceAccountName)", p))
	}
}

func (m *toFlux) mapDestination() {
	d := m.app.Spec.Destination
	m.left.takeAll([]any{"spec", "destination"}, "server", "name", "namespace")
	m.set.targetNamespace = d.Namespace
	inCluster := (d.Server == "" || d.Server == argov1.KubernetesInternalAPIServerAddr) &&
		(d.Name == "" || d.Name == argov1.InClusterName)
	if inCluster {
		return
	}
	cluster, field := d.Name, "spec.destination.name"
	if cluster == "" || cluster == argov1.InClusterName {
		cluster, field = d.Server, "spec.destination.server"
		if u, err := url.Parse(d.Server); err == nil && u.Host != "" {
			cluster = u.Host
		}
	}
	secret := dnsLabel(cluster) + "-kubeconfig"
	m.set.kubeConfig = &meta.KubeConfigReference{SecretRef: &meta.SecretKeyReference{Name: secret, Key: "value"}}
	m.warn(field, fmt.Sprintf("is a remote cluster: written as spec.kubeConfig.secretRef %s; create that Secret in namespace %s with the cluster's kubeconfig under the key value", secret, m.o.FluxNamespace))
}

// sourceList returns the sources of the Application with their field
// paths. A source hydrator's dry source is rendered directly, since Flux
// has no hydration step.
func (m *toFlux) sourceList() []sourceAt {
	spec := m.app.Spec
	var out []sourceAt
	switch {
	case len(spec.Sources) > 0:
		for i, s := range spec.Sources {
			out = append(out, sourceAt{src: s, path: []any{"spec", "sources", i}})
		}
		m.left.take("spec", "source") // ignored by Argo CD too when sources is set
	case spec.Source != nil:
		out = append(out, sourceAt{src: *spec.Source, path: []any{"spec", "source"}})
	case spec.SourceHydrator != nil:
		dry := spec.SourceHydrator.DrySource
		out = append(out, sourceAt{path: []any{"spec", "sourceHydrator", "drySource"}, src: argov1.ApplicationSource{
			RepoURL: dry.RepoURL, TargetRevision: dry.TargetRevision, Path: dry.Path,
			Helm: dry.Helm, Kustomize: dry.Kustomize, Directory: dry.Directory, Plugin: dry.Plugin}})
		m.left.take("spec", "sourceHydrator", "syncSource")
		m.left.take("spec", "sourceHydrator", "hydrateTo")
		m.warn("spec.sourceHydrator", "has no Flux equivalent: the Flux objects render the dry source directly and nothing is committed to "+spec.SourceHydrator.SyncSource.TargetBranch)
	}
	return out
}

// refOnly reports whether a source only lends its files to other
// sources ($ref value files) and deploys nothing itself.
func refOnly(s argov1.ApplicationSource) bool {
	return s.Ref != "" && s.Path == "" && s.Chart == ""
}

func (m *toFlux) mapSource(s sourceAt, name string) error {
	m.left.takeAll(s.path, "repoURL", "targetRevision", "path", "chart", "name", "ref")
	src := s.src
	switch {
	case refOnly(src):
		m.warn(s.field("ref"), fmt.Sprintf("%q only provides $%s value files to other sources; Flux HelmReleases cannot read value files from another source (use valuesFrom with a ConfigMap)", src.Ref, src.Ref))
		return nil
	case src.Chart != "":
		return m.helmRepositoryChart(s, name)
	case strings.HasPrefix(src.RepoURL, "oci://"):
		repo := m.ociSource(s, name)
		return m.kustomization(s, name, sourcev1.OCIRepositoryKind, repo)
	case src.Helm != nil:
		repo := m.gitSource(s, name)
		return m.gitChart(s, name, repo)
	}
	repo := m.gitSource(s, name)
	return m.kustomization(s, name, sourcev1.GitRepositoryKind, repo)
}

var shortSHA = regexp.MustCompile(`^[0-9a-f]{7,39}$`)

// gitSource writes the GitRepository of a source, once per URL and
// revision, and returns its name.
func (m *toFlux) gitSource(s sourceAt, name string) string {
	key := "git " + s.src.RepoURL + " " + s.src.TargetRevision
	if existing, ok := m.sources[key]; ok {
		return existing
	}
	m.sources[key] = name
	ref := gitRef(s.src.TargetRevision)
	if ref != nil && ref.Branch != "" && shortSHA.MatchString(ref.Branch) {
		m.warn(s.field("targetRevision"), "looks like a short commit SHA; Flux needs the full SHA in ref.commit, and it is written as ref.branch")
	}
	repo := &sourcev1.GitRepository{
		TypeMeta:   metav1.TypeMeta{APIVersion: sourcev1.GroupVersion.String(), Kind: sourcev1.GitRepositoryKind},
		ObjectMeta: m.objectMeta(name),
		Spec: sourcev1.GitRepositorySpec{URL: s.src.RepoURL, Reference: ref,
			Interval: metav1.Duration{Duration: m.o.SourceInterval}},
	}
	m.add(m.from()+"\nspec.interval matches Argo CD's default refresh of 3 minutes.", repo)
	return name
}

// ociSource writes the OCIRepository of an oci:// source that is not a
// Helm chart (an OCI artifact of manifests).
func (m *toFlux) ociSource(s sourceAt, name string) string {
	key := "oci " + s.src.RepoURL + " " + s.src.TargetRevision
	if existing, ok := m.sources[key]; ok {
		return existing
	}
	m.sources[key] = name
	var ref *sourcev1.OCIRepositoryRef
	switch rev := s.src.TargetRevision; {
	case rev == "":
	case strings.HasPrefix(rev, "sha256:"):
		ref = &sourcev1.OCIRepositoryRef{Digest: rev}
	case isSemverRange(rev):
		ref = &sourcev1.OCIRepositoryRef{SemVer: rev}
	default:
		ref = &sourcev1.OCIRepositoryRef{Tag: rev}
	}
	interval := metav1.Duration{Duration: m.o.SourceInterval}
	repo := &sourcev1.OCIRepository{
		TypeMeta:   metav1.TypeMeta{APIVersion: sourcev1.GroupVersion.String(), Kind: sourcev1.OCIRepositoryKind},
		ObjectMeta: m.objectMeta(name),
		Spec:       sourcev1.OCIRepositorySpec{URL: s.src.RepoURL, Reference: ref, Interval: &interval},
	}
	m.add(m.from(), repo)
	return name
}

// kustomization writes the Kustomization of a directory or Kustomize
// source.
func (m *toFlux) kustomization(s sourceAt, name, sourceKind, sourceName string) error {
	ks := &kustomizev1.Kustomization{
		TypeMeta:   metav1.TypeMeta{APIVersion: kustomizev1.GroupVersion.String(), Kind: "Kustomization"},
		ObjectMeta: m.objectMeta(name),
		Spec: kustomizev1.KustomizationSpec{
			Interval:        metav1.Duration{Duration: m.o.Interval},
			RetryInterval:   m.set.retryInterval,
			Path:            fluxPath(s.src.Path),
			Prune:           m.set.prune,
			Suspend:         m.set.suspend,
			TargetNamespace: m.set.targetNamespace,
			KubeConfig:      m.set.kubeConfig,
			SourceRef:       kustomizev1.CrossNamespaceSourceReference{Kind: sourceKind, Name: sourceName},
		},
	}
	if s.src.Directory != nil {
		// Flux reads every subdirectory of a path without a
		// kustomization.yaml, so recurse carries over as it is.
		m.left.take(s.at("directory", "recurse")...)
	}
	if err := m.mapKustomize(s, &ks.Spec); err != nil {
		return err
	}
	if !m.set.suspend && !m.set.selfHeal {
		m.warn("spec.syncPolicy.automated.selfHeal", "is off, but a Flux Kustomization puts drifted objects back at every interval")
	}
	if m.set.retryLimit != nil && *m.set.retryLimit >= 0 {
		m.warn("spec.syncPolicy.retry.limit", "has no Flux equivalent: a Kustomization retries every retryInterval without limit")
	}
	if m.set.createNamespace {
		m.writeNamespace(ks.Spec.TargetNamespace)
	}
	m.add(m.from(), ks)
	return nil
}

// writeNamespace writes the destination namespace, since a Kustomization
// does not create it as CreateNamespace=true does.
func (m *toFlux) writeNamespace(ns string) {
	if ns == "" || m.set.namespaceWritten {
		return
	}
	m.set.namespaceWritten = true
	m.add(m.from()+"\nFlux does not create the target namespace (syncOptions CreateNamespace=true): apply it with the rest.",
		&corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: m.set.namespaceLabels, Annotations: m.set.namespaceAnnots}})
	m.left.take("spec", "syncPolicy", "managedNamespaceMetadata")
}

// mapKustomize carries the kustomize options of a source over to the
// Kustomization.
func (m *toFlux) mapKustomize(s sourceAt, spec *kustomizev1.KustomizationSpec) error {
	k := s.src.Kustomize
	if k == nil {
		return nil
	}
	at := s.at("kustomize")
	m.left.takeAll(at, "namePrefix", "nameSuffix", "components", "ignoreMissingComponents", "images")
	spec.NamePrefix, spec.NameSuffix = k.NamePrefix, k.NameSuffix
	spec.Components, spec.IgnoreMissingComponents = k.Components, k.IgnoreMissingComponents
	for i, ref := range k.Images {
		img, err := parseImage(ref)
		if err != nil {
			return m.errorf(s.field("kustomize", "images", i), "%v", err)
		}
		spec.Images = append(spec.Images, img)
	}
	if k.Namespace != "" {
		m.left.take(append(at, "namespace")...)
		spec.TargetNamespace = k.Namespace
	}
	if len(k.CommonLabels) > 0 || len(k.CommonAnnotations) > 0 {
		m.left.takeAll(at, "commonLabels", "commonAnnotations")
		spec.CommonMetadata = &kustomizev1.CommonMetadata{Labels: k.CommonLabels, Annotations: k.CommonAnnotations}
		if len(k.CommonLabels) > 0 && !k.LabelWithoutSelector {
			m.warn(s.field("kustomize", "commonLabels"), "become commonMetadata.labels, which Flux does not add to selectors and templates as Kustomize's commonLabels does")
		}
		m.left.take(append(at, "labelWithoutSelector")...)
	}
	for i, p := range k.Patches {
		pat := append(append([]any{}, at...), "patches", i)
		m.left.take(append(pat, "patch")...)
		m.left.take(append(pat, "target")...)
		kp := kustomizev1.Patch{Patch: p.Patch}
		if t := p.Target; t != nil {
			kp.Target = &kustomizev1.Selector{Group: t.Group, Version: t.Version, Kind: t.Kind, Name: t.Name,
				Namespace: t.Namespace, LabelSelector: t.LabelSelector, AnnotationSelector: t.AnnotationSelector}
		}
		if p.Patch != "" {
			spec.Patches = append(spec.Patches, kp)
		}
	}
	return nil
}

// mapSyncPolicy reads automated sync, sync options and retries into the
// shared deploy settings.
func (m *toFlux) mapSyncPolicy() error {
	sp := m.app.Spec.SyncPolicy
	auto := sp != nil && sp.Automated != nil && (sp.Automated.Enabled == nil || *sp.Automated.Enabled)
	if sp != nil && sp.Automated != nil {
		m.left.takeAll([]any{"spec", "syncPolicy", "automated"}, "prune", "selfHeal", "enabled", "allowEmpty")
		m.set.prune, m.set.selfHeal = sp.Automated.Prune, sp.Automated.SelfHeal
	}
	if !auto {
		m.set.suspend = true
		m.warn("spec.syncPolicy.automated", "is off, and Flux has no manual sync mode: the objects are written suspended; resume them (flux resume) to sync")
	}
	if sp == nil {
		return nil
	}
	for i, opt := range sp.SyncOptions {
		if m.syncOption(opt) {
			m.left.take("spec", "syncPolicy", "syncOptions", i)
		}
	}
	if md := sp.ManagedNamespaceMetadata; md != nil {
		m.set.namespaceLabels, m.set.namespaceAnnots = md.Labels, md.Annotations
	}
	if r := sp.Retry; r != nil {
		m.left.takeAll([]any{"spec", "syncPolicy", "retry"}, "limit", "refresh")
		limit := r.Limit
		m.set.retryLimit = &limit
		if r.Backoff != nil && r.Backoff.Duration != "" {
			d, err := parseArgoDuration(r.Backoff.Duration)
			if err != nil {
				return m.errorf("spec.syncPolicy.retry.backoff.duration", "%v", err)
			}
			m.left.take("spec", "syncPolicy", "retry", "backoff", "duration")
			m.set.retryInterval = &metav1.Duration{Duration: d}
		}
	}
	return nil
}

// syncOption applies one sync option and reports whether it carries
// over. Flux always applies server-side and only what changed, and prunes
// after applying, so those options need nothing.
func (m *toFlux) syncOption(opt string) bool {
	switch strings.ReplaceAll(opt, " ", "") {
	case argov1.SyncOptionCreateNamespace:
		m.set.createNamespace = true
	case argov1.SyncOptionServerSideApply:
		m.set.serverSideApply = true
	case argov1.SyncOptionApplyOutOfSyncOnly, argov1.SyncOptionPruneLast, "CreateNamespace=false",
		"ApplyOutOfSyncOnly=false", "PruneLast=false", "Validate=true", "Replace=false":
	default:
		return false
	}
	return true
}
