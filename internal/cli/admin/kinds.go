// Package admin holds `tether admin export` and `tether admin import`: a
// backup of every GitOps object Tether serves - Argo CD's Applications,
// AppProjects, cluster and repository Secrets and settings, and every Flux
// kind with the Secrets and ConfigMaps it references - as one YAML
// stream, and its restore into a cluster without re-creating workloads.
package admin

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// exported are the kinds of a backup, in the order a restore needs:
// settings and credentials first, then projects and sources, then what
// deploys from them. A kind whose CRD a cluster does not serve is left
// out of that cluster's export. Versions are the cluster's preferred ones.
var exported = []schema.GroupKind{
	{Group: "", Kind: "ConfigMap"},
	{Group: "", Kind: "Secret"},
	{Group: "bitnami.com", Kind: "SealedSecret"},
	{Group: "argoproj.io", Kind: "AppProject"},
	{Group: "source.toolkit.fluxcd.io", Kind: "GitRepository"},
	{Group: "source.toolkit.fluxcd.io", Kind: "OCIRepository"},
	{Group: "source.toolkit.fluxcd.io", Kind: "HelmRepository"},
	{Group: "source.toolkit.fluxcd.io", Kind: "Bucket"},
	{Group: "source.toolkit.fluxcd.io", Kind: "HelmChart"},
	{Group: "notification.toolkit.fluxcd.io", Kind: "Provider"},
	{Group: "notification.toolkit.fluxcd.io", Kind: "Alert"},
	{Group: "notification.toolkit.fluxcd.io", Kind: "Receiver"},
	{Group: "image.toolkit.fluxcd.io", Kind: "ImageRepository"},
	{Group: "image.toolkit.fluxcd.io", Kind: "ImagePolicy"},
	{Group: "image.toolkit.fluxcd.io", Kind: "ImageUpdateAutomation"},
	{Group: "kustomize.toolkit.fluxcd.io", Kind: "Kustomization"},
	{Group: "helm.toolkit.fluxcd.io", Kind: "HelmRelease"},
	{Group: "argoproj.io", Kind: "Application"},
	{Group: "argoproj.io", Kind: "ApplicationSet"},
}

// rank is a kind's place in exported: Namespaces first, kinds not listed
// (an import may carry anything) last.
func rank(gk schema.GroupKind) int {
	for i, k := range exported {
		if k == gk {
			return i
		}
	}
	if gk == (schema.GroupKind{Kind: "Namespace"}) {
		return -1
	}
	return len(exported)
}

// argoSettings are the ConfigMaps and Secrets of Argo CD's namespace that
// hold its settings, exported when present.
var argoSettings = map[string][]string{
	"ConfigMap": {"argocd-cm", "argocd-rbac-cm", "argocd-cmd-params-cm", "argocd-ssh-known-hosts-cm",
		"argocd-tls-certs-cm", "argocd-gpg-keys-cm", "argocd-notifications-cm"},
	"Secret": {"argocd-secret", "argocd-notifications-secret"},
}

// argoSecretType labels the Secrets Argo CD reads as clusters, repositories
// and repository credential templates.
const argoSecretType = "argocd.argoproj.io/secret-type"

// fluxRefs are the fields of a Flux object that name a Secret or a
// ConfigMap of its namespace: the credentials, certificates, keys and
// values a restore needs besides the object.
var fluxRefs = []struct {
	kind string
	path []string
}{
	{"Secret", []string{"spec", "secretRef", "name"}},
	{"Secret", []string{"spec", "certSecretRef", "name"}},
	{"Secret", []string{"spec", "proxySecretRef", "name"}},
	{"Secret", []string{"spec", "verify", "secretRef", "name"}},
	{"Secret", []string{"spec", "decryption", "secretRef", "name"}},
	{"Secret", []string{"spec", "kubeConfig", "secretRef", "name"}},
	{"Secret", []string{"spec", "git", "commit", "signingKey", "secretRef", "name"}},
}

// fluxListRefs are lists of {kind, name} references to ConfigMaps and
// Secrets: a HelmRelease's valuesFrom, a Kustomization's substituteFrom.
var fluxListRefs = [][]string{
	{"spec", "valuesFrom"},
	{"spec", "postBuild", "substituteFrom"},
}
