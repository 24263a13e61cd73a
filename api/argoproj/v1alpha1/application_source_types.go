package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// ApplicationSource says where an Application's manifests come from and how
// they are rendered. At most one of Helm, Kustomize, Directory and Plugin is
// expected; when none is given the tool is detected from the files found.
type ApplicationSource struct {
	// RepoURL is the URL of the Git repository, Helm repository or OCI
	// registry holding the manifests or chart.
	RepoURL string `json:"repoURL"`

	// Path is the directory inside a Git repository (or OCI artifact)
	// holding the manifests.
	// +optional
	Path string `json:"path,omitempty"`

	// TargetRevision is the revision to deploy: a branch, tag or commit
	// for Git (HEAD when empty), a version or semver range for a Helm
	// chart.
	// +optional
	TargetRevision string `json:"targetRevision,omitempty"`

	// Helm holds options for rendering a Helm chart.
	// +optional
	Helm *ApplicationSourceHelm `json:"helm,omitempty"`

	// Kustomize holds options for rendering a Kustomize directory.
	// +optional
	Kustomize *ApplicationSourceKustomize `json:"kustomize,omitempty"`

	// Directory holds options for a directory of plain YAML, JSON or
	// Jsonnet files.
	// +optional
	Directory *ApplicationSourceDirectory `json:"directory,omitempty"`

	// Plugin holds options for a config management plugin.
	// +optional
	Plugin *ApplicationSourcePlugin `json:"plugin,omitempty"`

	// Chart is the name of the Helm chart; required when RepoURL is a
	// Helm repository.
	// +optional
	Chart string `json:"chart,omitempty"`

	// Ref names this entry of spec.sources so that other entries can use
	// its files, e.g. Helm value files written as "$<ref>/path". It is
	// only meaningful inside spec.sources.
	// +optional
	Ref string `json:"ref,omitempty"`

	// Name identifies the source among spec.sources, for display and for
	// commands that address one source.
	// +optional
	Name string `json:"name,omitempty"`
}

// ApplicationSourceHelm holds the options for rendering a Helm chart.
type ApplicationSourceHelm struct {
	// ValueFiles lists value files, relative to the chart or "$<ref>/"
	// paths into another source, passed to helm in order.
	// +optional
	ValueFiles []string `json:"valueFiles,omitempty"`

	// Parameters set single values, as helm's --set does.
	// +optional
	Parameters []HelmParameter `json:"parameters,omitempty"`

	// ReleaseName is the Helm release name; the Application name when
	// empty.
	// +optional
	ReleaseName string `json:"releaseName,omitempty"`

	// Values is a block of YAML values. ValuesObject wins when both are
	// set.
	// +optional
	Values string `json:"values,omitempty"`

	// FileParameters set single values from the content of files, as
	// helm's --set-file does.
	// +optional
	FileParameters []HelmFileParameter `json:"fileParameters,omitempty"`

	// Version is the Helm major version to use, such as "3".
	// +optional
	Version string `json:"version,omitempty"`

	// PassCredentials sends the repository credentials to every domain
	// (helm's --pass-credentials).
	// +optional
	PassCredentials bool `json:"passCredentials,omitempty"`

	// IgnoreMissingValueFiles drops value files that do not exist instead
	// of failing.
	// +optional
	IgnoreMissingValueFiles bool `json:"ignoreMissingValueFiles,omitempty"`

	// SkipCrds leaves out the chart's crds/ directory (helm's
	// --skip-crds).
	// +optional
	SkipCrds bool `json:"skipCrds,omitempty"`

	// ValuesObject is the values as a structured object. It wins over
	// Values.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	ValuesObject *apiextensionsv1.JSON `json:"valuesObject,omitempty"`

	// Namespace is the namespace the chart is rendered for; the
	// destination namespace when empty.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// KubeVersion is the Kubernetes version reported to the chart; the
	// destination cluster's version when empty.
	// +optional
	KubeVersion string `json:"kubeVersion,omitempty"`

	// APIVersions are the API versions reported to the chart, as
	// "[group/]version/kind"; the destination cluster's when empty.
	// +optional
	APIVersions []string `json:"apiVersions,omitempty"`

	// SkipTests leaves out the chart's test hooks (helm's --skip-tests).
	// +optional
	SkipTests bool `json:"skipTests,omitempty"`

	// SkipSchemaValidation skips the chart's values schema check (helm's
	// --skip-schema-validation).
	// +optional
	SkipSchemaValidation bool `json:"skipSchemaValidation,omitempty"`
}

// HelmParameter sets one Helm value.
type HelmParameter struct {
	// Name is the dotted path of the value.
	// +optional
	Name string `json:"name,omitempty"`

	// Value is the value to set.
	// +optional
	Value string `json:"value,omitempty"`

	// ForceString keeps the value a string even when it looks like a
	// number or a boolean (helm's --set-string).
	// +optional
	ForceString bool `json:"forceString,omitempty"`
}

// HelmFileParameter sets one Helm value from the content of a file.
type HelmFileParameter struct {
	// Name is the dotted path of the value.
	// +optional
	Name string `json:"name,omitempty"`

	// Path is the file whose content becomes the value.
	// +optional
	Path string `json:"path,omitempty"`
}

// ApplicationSourceKustomize holds the options for rendering a Kustomize
// directory. They are applied on top of the kustomization.yaml found at the
// source path.
type ApplicationSourceKustomize struct {
	// NamePrefix is prepended to the names of all objects.
	// +optional
	NamePrefix string `json:"namePrefix,omitempty"`

	// NameSuffix is appended to the names of all objects.
	// +optional
	NameSuffix string `json:"nameSuffix,omitempty"`

	// Images overrides images, each written
	// "[old_image_name=]<image_name>:<image_tag>" (or "@<digest>").
	// +optional
	Images []string `json:"images,omitempty"`

	// CommonLabels are added to all objects (and, unless
	// LabelWithoutSelector is set, to selectors).
	// +optional
	CommonLabels map[string]string `json:"commonLabels,omitempty"`

	// Version selects the Kustomize version to use, as configured by the
	// administrator.
	// +optional
	Version string `json:"version,omitempty"`

	// CommonAnnotations are added to all objects.
	// +optional
	CommonAnnotations map[string]string `json:"commonAnnotations,omitempty"`

	// ForceCommonLabels lets CommonLabels overwrite labels already set.
	// +optional
	ForceCommonLabels bool `json:"forceCommonLabels,omitempty"`

	// ForceCommonAnnotations lets CommonAnnotations overwrite annotations
	// already set.
	// +optional
	ForceCommonAnnotations bool `json:"forceCommonAnnotations,omitempty"`

	// Namespace is set on all namespaced objects.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// CommonAnnotationsEnvsubst expands ${VAR} references to the
	// Application's build environment in CommonAnnotations values.
	// +optional
	CommonAnnotationsEnvsubst bool `json:"commonAnnotationsEnvsubst,omitempty"`

	// Replicas overrides the replica counts of named workloads.
	// +optional
	Replicas []KustomizeReplica `json:"replicas,omitempty"`

	// Patches are added to the kustomization's patches.
	// +optional
	Patches []KustomizePatch `json:"patches,omitempty"`

	// Components are added to the kustomization's components.
	// +optional
	Components []string `json:"components,omitempty"`

	// IgnoreMissingComponents drops Components that do not exist instead
	// of failing.
	// +optional
	IgnoreMissingComponents bool `json:"ignoreMissingComponents,omitempty"`

	// LabelWithoutSelector keeps CommonLabels out of selectors.
	// +optional
	LabelWithoutSelector bool `json:"labelWithoutSelector,omitempty"`

	// LabelIncludeTemplates also adds CommonLabels to pod templates when
	// LabelWithoutSelector is set.
	// +optional
	LabelIncludeTemplates bool `json:"labelIncludeTemplates,omitempty"`

	// KubeVersion is the Kubernetes version reported to Helm charts
	// inflated by Kustomize; the destination cluster's when empty.
	// +optional
	KubeVersion string `json:"kubeVersion,omitempty"`

	// APIVersions are the API versions reported to Helm charts inflated by
	// Kustomize, as "[group/]version/kind".
	// +optional
	APIVersions []string `json:"apiVersions,omitempty"`
}

// KustomizeReplica overrides the replica count of one workload.
type KustomizeReplica struct {
	// Name of the Deployment or StatefulSet.
	Name string `json:"name"`

	// Count is the replica count, as a number or a numeric string.
	Count intstr.IntOrString `json:"count"`
}

// KustomizePatch is one Kustomize patch: a strategic merge patch or a JSON
// 6902 patch, inline or from a file, applied to the selected objects.
type KustomizePatch struct {
	// Path is a file holding the patch, relative to the source path.
	// +optional
	Path string `json:"path,omitempty"`

	// Patch is the patch itself.
	// +optional
	Patch string `json:"patch,omitempty"`

	// Target selects the objects to patch.
	// +optional
	Target *KustomizeSelector `json:"target,omitempty"`

	// Options are Kustomize patch options, such as allowNameChange.
	// +optional
	Options map[string]bool `json:"options,omitempty"`
}

// KustomizeSelector selects objects for a Kustomize patch.
type KustomizeSelector struct {
	// Group of the objects.
	// +optional
	Group string `json:"group,omitempty"`

	// Version of the objects.
	// +optional
	Version string `json:"version,omitempty"`

	// Kind of the objects.
	// +optional
	Kind string `json:"kind,omitempty"`

	// Name of the objects; a regular expression.
	// +optional
	Name string `json:"name,omitempty"`

	// Namespace of the objects; a regular expression.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// AnnotationSelector selects objects by annotations.
	// +optional
	AnnotationSelector string `json:"annotationSelector,omitempty"`

	// LabelSelector selects objects by labels.
	// +optional
	LabelSelector string `json:"labelSelector,omitempty"`
}

// ApplicationSourceDirectory holds the options for a directory of plain
// manifests or Jsonnet files.
type ApplicationSourceDirectory struct {
	// Recurse also reads the subdirectories.
	// +optional
	Recurse bool `json:"recurse,omitempty"`

	// Jsonnet holds options for Jsonnet files.
	// +optional
	Jsonnet ApplicationSourceJsonnet `json:"jsonnet,omitempty"`

	// Exclude is a glob pattern of files to skip.
	// +optional
	Exclude string `json:"exclude,omitempty"`

	// Include is a glob pattern of the only files to read.
	// +optional
	Include string `json:"include,omitempty"`
}

// ApplicationSourceJsonnet holds the options for evaluating Jsonnet files.
type ApplicationSourceJsonnet struct {
	// ExtVars are external variables (jsonnet's --ext-str/--ext-code).
	// +optional
	ExtVars []JsonnetVar `json:"extVars,omitempty"`

	// TLAs are top-level arguments (jsonnet's --tla-str/--tla-code).
	// +optional
	TLAs []JsonnetVar `json:"tlas,omitempty"`

	// Libs are extra library search directories.
	// +optional
	Libs []string `json:"libs,omitempty"`
}

// JsonnetVar is one Jsonnet variable.
type JsonnetVar struct {
	// Name of the variable.
	Name string `json:"name"`

	// Value of the variable.
	Value string `json:"value"`

	// Code makes Value Jsonnet code instead of a string.
	// +optional
	Code bool `json:"code,omitempty"`
}

// ApplicationSourcePlugin holds the options for a config management plugin.
type ApplicationSourcePlugin struct {
	// Name selects the plugin; it is detected when empty.
	// +optional
	Name string `json:"name,omitempty"`

	// Env are environment variables given to the plugin.
	// +optional
	Env []EnvEntry `json:"env,omitempty"`

	// Parameters are the plugin's declared parameters.
	// +optional
	Parameters []ApplicationSourcePluginParameter `json:"parameters,omitempty"`
}

// EnvEntry is one environment variable.
type EnvEntry struct {
	// Name of the variable.
	Name string `json:"name"`

	// Value of the variable.
	Value string `json:"value"`
}

// ApplicationSourcePluginParameter is one plugin parameter; it carries a
// string, a map or an array value.
type ApplicationSourcePluginParameter struct {
	// Name of the parameter.
	// +optional
	Name string `json:"name,omitempty"`

	// String is the value of a string parameter.
	// +optional
	String *string `json:"string,omitempty"`

	// Map is the value of a map parameter.
	// +optional
	Map map[string]string `json:"map,omitempty"`

	// Array is the value of an array parameter.
	// +optional
	Array []string `json:"array,omitempty"`
}

// SourceHydrator renders manifests from a dry source, commits them to a Git
// branch and syncs from there.
type SourceHydrator struct {
	// DrySource is where the unrendered manifests live.
	DrySource DrySource `json:"drySource"`

	// SyncSource is the branch and path the rendered manifests are synced
	// from.
	SyncSource SyncSource `json:"syncSource"`

	// HydrateTo, when set, is a staging branch the rendered manifests are
	// pushed to instead; moving them to SyncSource is left to another
	// process, such as a pull request.
	// +optional
	HydrateTo *HydrateTo `json:"hydrateTo,omitempty"`
}

// DrySource is the location of the unrendered manifests of a SourceHydrator.
type DrySource struct {
	// RepoURL is the Git repository.
	RepoURL string `json:"repoURL"`

	// TargetRevision is the revision to render.
	TargetRevision string `json:"targetRevision"`

	// Path is the directory of the manifests in the repository.
	Path string `json:"path"`

	// Helm holds Helm options for rendering.
	// +optional
	Helm *ApplicationSourceHelm `json:"helm,omitempty"`

	// Kustomize holds Kustomize options for rendering.
	// +optional
	Kustomize *ApplicationSourceKustomize `json:"kustomize,omitempty"`

	// Directory holds directory options for rendering.
	// +optional
	Directory *ApplicationSourceDirectory `json:"directory,omitempty"`

	// Plugin holds plugin options for rendering.
	// +optional
	Plugin *ApplicationSourcePlugin `json:"plugin,omitempty"`
}

// SyncSource is where a SourceHydrator commits rendered manifests and syncs
// them from; the repository is the dry source's.
type SyncSource struct {
	// TargetBranch is the branch the rendered manifests are synced from
	// (and committed to, unless HydrateTo is set).
	TargetBranch string `json:"targetBranch"`

	// Path is the directory of the rendered manifests in the branch. It
	// must not be the repository root.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:Pattern=`^.{2,}|[^./]$`
	Path string `json:"path"`
}

// HydrateTo is a staging branch for rendered manifests.
type HydrateTo struct {
	// TargetBranch is the branch the rendered manifests are committed to.
	TargetBranch string `json:"targetBranch"`
}
