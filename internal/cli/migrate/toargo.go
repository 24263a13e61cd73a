package migrate

import (
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	"github.com/tether-gitops/tether/api/meta"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
)

// fluxSource is a source object of the input, decoded once and shared by
// the Kustomizations and HelmReleases that name it.
type fluxSource struct {
	doc  *document
	left *leftovers
	git  *sourcev1.GitRepository
	oci  *sourcev1.OCIRepository
	helm *sourcev1.HelmRepository
	used bool
	// intervalReported keeps an unusual interval from being reported
	// once per user of the source.
	intervalReported bool
}

// fluxInput indexes the Flux objects of the input.
type fluxInput struct {
	sources    map[string]*fluxSource // "Kind namespace/name"
	namespaces map[string]*document
	usedNS     map[string]bool
}

func (in *fluxInput) lookup(kind, namespace, name string) *fluxSource {
	return in.sources[objectID(kind, namespace, name)]
}

// fluxToApplications turns every Kustomization and HelmRelease of docs,
// with the source it names, into an Application.
func fluxToApplications(docs []*document, o Options, res *Result) error {
	in := &fluxInput{sources: map[string]*fluxSource{}, namespaces: map[string]*document{}, usedNS: map[string]bool{}}
	var deployers []*document
	for _, d := range docs {
		s := &fluxSource{doc: d, left: newLeftovers(d.fields)}
		var err error
		switch d.kind {
		case sourcev1.GitRepositoryKind:
			s.git = &sourcev1.GitRepository{}
			err = d.decode(s.git)
		case sourcev1.OCIRepositoryKind:
			s.oci = &sourcev1.OCIRepository{}
			err = d.decode(s.oci)
		case sourcev1.HelmRepositoryKind:
			s.helm = &sourcev1.HelmRepository{}
			err = d.decode(s.helm)
		case "Namespace":
			in.namespaces[d.name] = d
			continue
		default:
			deployers = append(deployers, d)
			continue
		}
		if err != nil {
			return err
		}
		in.sources[d.id()] = s
	}
	for _, d := range deployers {
		m := &toArgo{o: o, doc: d, left: newLeftovers(d.fields), res: res, in: in}
		var err error
		if d.kind == "Kustomization" {
			err = m.kustomization()
		} else {
			err = m.helmRelease()
		}
		if err != nil {
			return err
		}
	}
	finishSources(in, res)
	return nil
}

// finishSources reports the fields of the sources used that do not map,
// the sources nothing used, and passes through namespaces that were not
// recognised as a target namespace.
func finishSources(in *fluxInput, res *Result) {
	ids := make([]string, 0, len(in.sources))
	for id := range in.sources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		s := in.sources[id]
		if !s.used {
			res.Warnings = append(res.Warnings, Warning{Object: id, Field: "(the whole object)",
				Message: "is not used by any Kustomization or HelmRelease in the input and is not migrated"})
			continue
		}
		for _, p := range s.left.remaining() {
			res.Warnings = append(res.Warnings, Warning{Object: id, Field: p, Message: "has no Argo CD equivalent"})
		}
	}
	names := make([]string, 0, len(in.namespaces))
	for n := range in.namespaces {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if in.usedNS[n] {
			continue
		}
		d := in.namespaces[n]
		res.Objects = append(res.Objects, Object{Comment: "Passed through unchanged by tether migrate.", Value: d.fields})
	}
}

// toArgo holds the state of turning one Kustomization or HelmRelease into
// an Application.
type toArgo struct {
	o    Options
	doc  *document
	left *leftovers
	res  *Result
	in   *fluxInput
	app  *argov1.Application
}

func (m *toArgo) warn(field, msg string) {
	m.res.Warnings = append(m.res.Warnings, Warning{Object: m.doc.id(), Field: field, Message: msg})
}

func (m *toArgo) errorf(field, format string, args ...any) error {
	return fmt.Errorf("%s (%s): %s: %s", m.doc.where, m.doc.id(), field, fmt.Sprintf(format, args...))
}

func (m *toArgo) missing(field string) error {
	return fmt.Errorf("%s (%s): %s is missing", m.doc.where, m.doc.id(), field)
}

// newApp starts the Application written for the object.
func (m *toArgo) newApp(om metav1.ObjectMeta) {
	m.left.takeMeta()
	m.app = &argov1.Application{
		TypeMeta: metav1.TypeMeta{APIVersion: argov1.GroupVersion.String(), Kind: "Application"},
		ObjectMeta: metav1.ObjectMeta{Name: om.Name, Namespace: m.o.ArgoCDNamespace,
			Labels: om.Labels, Annotations: copyAnnotations(om.Annotations)},
		Spec: argov1.ApplicationSpec{Project: argov1.DefaultAppProjectName,
			Destination: argov1.ApplicationDestination{Server: argov1.KubernetesInternalAPIServerAddr}},
	}
}

// finish reports what did not map and writes the Application.
func (m *toArgo) finish() {
	for _, p := range m.left.remaining() {
		m.warn(p, "has no Argo CD equivalent")
	}
	m.res.Objects = append(m.res.Objects, Object{Comment: "Migrated by tether migrate from " + m.doc.id() + ".", Value: m.app})
}

// source finds the source object a Kustomization or HelmRelease names.
func (m *toArgo) source(field, kind, namespace, name string) (*fluxSource, error) {
	if name == "" {
		return nil, m.missing(field + ".name")
	}
	if kind == "" {
		return nil, m.missing(field + ".kind")
	}
	if namespace == "" {
		namespace = m.doc.namespace
	}
	s := m.in.lookup(kind, namespace, name)
	if s == nil {
		return nil, m.errorf(field, "%s is not in the input; pass the file that defines it with another -f", objectID(kind, namespace, name))
	}
	if !s.used {
		s.used = true
		s.left.takeMeta()
		s.left.takeAll([]any{"spec"}, "url", "interval", "type", "passCredentials", "secretRef")
		if ref, ok := lookupField(s.doc.fields, "spec", "secretRef").(map[string]any); ok {
			m.res.Warnings = append(m.res.Warnings, Warning{Object: s.doc.id(), Field: "spec.secretRef",
				Message: fmt.Sprintf("names credentials (Secret %v) that Argo CD does not read from here: register them as a Secret labelled argocd.argoproj.io/secret-type=repository in the Argo CD namespace", ref["name"])})
		}
	}
	return s, nil
}

// gitOrOCI fills the Application source from a GitRepository or an
// OCIRepository.
func (m *toArgo) gitOrOCI(s *fluxSource, src *argov1.ApplicationSource) {
	switch {
	case s.git != nil:
		src.RepoURL = s.git.Spec.URL
		rev, dropped := targetRevision(s.git.Spec.Reference)
		src.TargetRevision = rev
		if dropped == "" {
			s.left.take("spec", "ref")
		} else {
			// The branch a commit is looked up on is reported as left over.
			s.left.takeAll([]any{"spec", "ref"}, "commit", "semver", "tag", "name")
		}
		m.sourceInterval(s, s.git.Spec.Interval.Duration.String())
	case s.oci != nil:
		src.RepoURL = s.oci.Spec.URL
		src.TargetRevision = "latest"
		s.left.take("spec", "ref")
		if r := s.oci.Spec.Reference; r != nil {
			for _, v := range []string{r.Digest, r.SemVer, r.Tag} {
				if v != "" {
					src.TargetRevision = v
					break
				}
			}
		}
		if s.oci.Spec.Interval != nil {
			m.sourceInterval(s, s.oci.Spec.Interval.Duration.String())
		}
	}
}

// sourceInterval reports a poll interval other than the one the forward
// direction writes, since Argo CD polls on one global period.
func (m *toArgo) sourceInterval(s *fluxSource, interval string) {
	if interval != m.o.SourceInterval.String() && interval != "0s" {
		if !s.intervalReported {
			s.intervalReported = true
			m.res.Warnings = append(m.res.Warnings, Warning{Object: s.doc.id(), Field: "spec.interval",
				Message: fmt.Sprintf("is %s; Argo CD refreshes every Application on one global period (timeout.reconciliation, 3m by default)", interval)})
		}
	}
}

// deploy maps the fields Kustomizations and HelmReleases share: interval,
// suspend, target namespace and cluster.
func (m *toArgo) deploy(interval metav1.Duration, suspend, prune, selfHeal bool, targetNamespace string, kc *meta.KubeConfigReference) {
	m.left.takeAll([]any{"spec"}, "interval", "suspend", "targetNamespace", "prune")
	if interval.Duration != m.o.Interval {
		m.warn("spec.interval", fmt.Sprintf("is %s; Argo CD reconciles every Application on one global period (timeout.reconciliation, 3m by default)", interval.Duration))
	}
	if !suspend {
		m.app.Spec.SyncPolicy = &argov1.SyncPolicy{Automated: &argov1.SyncPolicyAutomated{Prune: prune, SelfHeal: selfHeal}}
	} else if prune {
		// Kept so that turning automated sync on later prunes as before.
		m.app.Spec.SyncPolicy = &argov1.SyncPolicy{}
	}
	m.app.Spec.Destination.Namespace = targetNamespace
	if kc != nil && kc.SecretRef != nil && kc.SecretRef.Name != "" {
		m.left.take("spec", "kubeConfig", "secretRef")
		name := strings.TrimSuffix(kc.SecretRef.Name, "-kubeconfig")
		m.app.Spec.Destination = argov1.ApplicationDestination{Name: name, Namespace: targetNamespace}
		m.warn("spec.kubeConfig.secretRef", fmt.Sprintf("names a remote cluster: written as destination.name %s; register that cluster with Argo CD (a Secret labelled %s=%s, named %s)",
			name, argov1.LabelKeySecretType, argov1.SecretTypeCluster, name))
	}
}

// syncOption adds a sync option to the Application.
func (m *toArgo) syncOption(opt string) {
	if m.app.Spec.SyncPolicy == nil {
		m.app.Spec.SyncPolicy = &argov1.SyncPolicy{}
	}
	m.app.Spec.SyncPolicy.SyncOptions = append(m.app.Spec.SyncPolicy.SyncOptions, opt)
}

// kustomization turns a Kustomization and its source into an
// Application. Flux puts drift back at every interval, hence selfHeal.
func (m *toArgo) kustomization() error {
	var ks kustomizev1.Kustomization
	if err := m.doc.decode(&ks); err != nil {
		return err
	}
	m.newApp(ks.ObjectMeta)
	ref := ks.Spec.SourceRef
	m.left.take("spec", "sourceRef")
	s, err := m.source("spec.sourceRef", ref.Kind, ref.Namespace, ref.Name)
	if err != nil {
		return err
	}
	if s.git == nil && s.oci == nil {
		return m.errorf("spec.sourceRef", "%s cannot be the source of a Kustomization; want a GitRepository or OCIRepository", s.doc.id())
	}
	src := &argov1.ApplicationSource{Path: argoPath(ks.Spec.Path)}
	m.left.take("spec", "path")
	m.gitOrOCI(s, src)
	m.app.Spec.Source = src
	m.deploy(ks.Spec.Interval, ks.Spec.Suspend, ks.Spec.Prune, true, ks.Spec.TargetNamespace, ks.Spec.KubeConfig)
	if ri := ks.Spec.RetryInterval; ri != nil {
		m.left.take("spec", "retryInterval")
		one := int64(1)
		if m.app.Spec.SyncPolicy == nil {
			m.app.Spec.SyncPolicy = &argov1.SyncPolicy{}
		}
		m.app.Spec.SyncPolicy.Retry = &argov1.RetryStrategy{Limit: -1, Backoff: &argov1.Backoff{Duration: ri.Duration.String(), Factor: &one}}
	}
	if nsDoc, ok := m.in.namespaces[ks.Spec.TargetNamespace]; ok && ks.Spec.TargetNamespace != "" {
		m.in.usedNS[ks.Spec.TargetNamespace] = true
		m.syncOption(argov1.SyncOptionCreateNamespace)
		var ns metav1.PartialObjectMetadata
		if err := nsDoc.decode(&ns); err == nil && (len(ns.Labels) > 0 || len(ns.Annotations) > 0) {
			m.app.Spec.SyncPolicy.ManagedNamespaceMetadata = &argov1.ManagedNamespaceMetadata{Labels: ns.Labels, Annotations: copyAnnotations(ns.Annotations)}
		}
	}
	m.kustomizeOptions(&ks.Spec, src)
	m.finish()
	return nil
}

// kustomizeOptions carries Kustomize fields over to the source's
// kustomize block.
func (m *toArgo) kustomizeOptions(spec *kustomizev1.KustomizationSpec, src *argov1.ApplicationSource) {
	k := &argov1.ApplicationSourceKustomize{NamePrefix: spec.NamePrefix, NameSuffix: spec.NameSuffix,
		Components: spec.Components, IgnoreMissingComponents: spec.IgnoreMissingComponents}
	m.left.takeAll([]any{"spec"}, "namePrefix", "nameSuffix", "components", "ignoreMissingComponents", "images", "patches", "commonMetadata")
	for _, img := range spec.Images {
		k.Images = append(k.Images, formatImage(img))
	}
	if cm := spec.CommonMetadata; cm != nil {
		k.CommonLabels, k.CommonAnnotations = cm.Labels, cm.Annotations
		// Flux's labels leave selectors alone.
		k.LabelWithoutSelector = len(cm.Labels) > 0
	}
	for _, p := range spec.Patches {
		kp := argov1.KustomizePatch{Patch: p.Patch}
		if t := p.Target; t != nil {
			kp.Target = &argov1.KustomizeSelector{Group: t.Group, Version: t.Version, Kind: t.Kind, Name: t.Name,
				Namespace: t.Namespace, LabelSelector: t.LabelSelector, AnnotationSelector: t.AnnotationSelector}
		}
		k.Patches = append(k.Patches, kp)
	}
	if k.NamePrefix != "" || k.NameSuffix != "" || k.IgnoreMissingComponents || len(k.Components) > 0 || len(k.Images) > 0 ||
		len(k.Patches) > 0 || len(k.CommonLabels) > 0 || len(k.CommonAnnotations) > 0 {
		src.Kustomize = k
	}
}

// lookupField returns the value at a path of map keys, or nil.
func lookupField(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}
