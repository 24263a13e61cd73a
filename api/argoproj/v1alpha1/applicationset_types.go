package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// ApplicationSet generates Applications from a template and the
// parameter sets of its generators: one Application per set (per cluster,
// per Git folder or file, per list element, or combinations of them).
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=applicationsets,shortName=appset;appsets
type ApplicationSet struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`

	// Spec holds the generators and the template.
	Spec ApplicationSetSpec `json:"spec"`

	// Status is what the controller last generated.
	// +optional
	Status ApplicationSetStatus `json:"status,omitempty"`
}

// ApplicationSetList is a list of ApplicationSets.
//
// +kubebuilder:object:root=true
type ApplicationSetList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata"`
	Items           []ApplicationSet `json:"items"`
}

// ApplicationSetSpec says which Applications to generate.
type ApplicationSetSpec struct {
	// GoTemplate renders the template with Go's text/template (and Sprig)
	// instead of the default "{{param}}" substitution.
	// +optional
	GoTemplate bool `json:"goTemplate,omitempty"`

	// GoTemplateOptions are text/template options, such as
	// "missingkey=error".
	// +optional
	GoTemplateOptions []string `json:"goTemplateOptions,omitempty"`

	// Generators produce the parameter sets; each set makes one
	// Application.
	Generators []ApplicationSetGenerator `json:"generators"`

	// Template is the Application each parameter set is rendered into.
	Template ApplicationSetTemplate `json:"template"`

	// SyncPolicy controls what the controller may do to the Applications
	// it generated.
	// +optional
	SyncPolicy *ApplicationSetSyncPolicy `json:"syncPolicy,omitempty"`

	// Strategy chooses how changes roll out (AllAtOnce or RollingSync).
	// +optional
	Strategy *ApplicationSetStrategy `json:"strategy,omitempty"`

	// PreservedFields are annotations and labels of generated
	// Applications that the controller leaves as others set them.
	// +optional
	PreservedFields *ApplicationPreservedFields `json:"preservedFields,omitempty"`

	// IgnoreApplicationDifferences are parts of generated Applications
	// that the controller does not overwrite.
	// +optional
	IgnoreApplicationDifferences []ApplicationSetResourceIgnoreDifferences `json:"ignoreApplicationDifferences,omitempty"`

	// TemplatePatch is a Go template (goTemplate only) rendering a patch
	// merged into each generated Application, for fields that are not
	// strings.
	// +optional
	TemplatePatch *string `json:"templatePatch,omitempty"`
}

// ApplicationPreservedFields lists annotation and label keys to keep.
type ApplicationPreservedFields struct {
	// +optional
	Annotations []string `json:"annotations,omitempty"`
	// +optional
	Labels []string `json:"labels,omitempty"`
}

// ApplicationSetResourceIgnoreDifferences names fields of the generated
// Applications (by JSON pointer or JQ path) to leave alone.
type ApplicationSetResourceIgnoreDifferences struct {
	// Name limits the rule to one Application; empty matches all.
	// +optional
	Name string `json:"name,omitempty"`
	// JSONPointers are RFC 6901 pointers into the Application.
	// +optional
	JSONPointers []string `json:"jsonPointers,omitempty"`
	// JQPathExpressions are JQ paths into the Application.
	// +optional
	JQPathExpressions []string `json:"jqPathExpressions,omitempty"`
}

// ApplicationSetStrategy is the rollout strategy.
type ApplicationSetStrategy struct {
	// Type is AllAtOnce (the default) or RollingSync.
	// +optional
	Type string `json:"type,omitempty"`
	// RollingSync syncs the Applications step by step.
	// +optional
	RollingSync *ApplicationSetRolloutStrategy `json:"rollingSync,omitempty"`
	// DeletionOrder is AllAtOnce or Reverse (the steps backwards).
	// +optional
	DeletionOrder string `json:"deletionOrder,omitempty"`
}

// ApplicationSetRolloutStrategy is the list of RollingSync steps.
type ApplicationSetRolloutStrategy struct {
	// Steps run in order; each selects Applications by label.
	// +optional
	Steps []ApplicationSetRolloutStep `json:"steps,omitempty"`
}

// ApplicationSetRolloutStep selects the Applications of one step.
type ApplicationSetRolloutStep struct {
	// MatchExpressions select Applications by their labels.
	// +optional
	MatchExpressions []ApplicationMatchExpression `json:"matchExpressions,omitempty"`
	// MaxUpdate bounds how many of the step's Applications sync at once
	// (a number or a percentage; default all).
	// +optional
	MaxUpdate *intstr.IntOrString `json:"maxUpdate,omitempty"`
}

// ApplicationMatchExpression is a label requirement (In or NotIn).
type ApplicationMatchExpression struct {
	// +optional
	Key string `json:"key,omitempty"`
	// +optional
	Operator string `json:"operator,omitempty"`
	// +optional
	Values []string `json:"values,omitempty"`
}

// ApplicationsSyncPolicy says what the controller may do to generated
// Applications: create-only, create-update, create-delete or sync (all).
// +kubebuilder:validation:Enum=create-only;create-update;create-delete;sync
type ApplicationsSyncPolicy string

// The policies of ApplicationsSyncPolicy.
const (
	ApplicationsSyncPolicyCreateOnly   ApplicationsSyncPolicy = "create-only"
	ApplicationsSyncPolicyCreateUpdate ApplicationsSyncPolicy = "create-update"
	ApplicationsSyncPolicyCreateDelete ApplicationsSyncPolicy = "create-delete"
	ApplicationsSyncPolicySync         ApplicationsSyncPolicy = "sync"
)

// ApplicationSetSyncPolicy controls changes to generated Applications.
type ApplicationSetSyncPolicy struct {
	// PreserveResourcesOnDeletion keeps the objects of an Application the
	// controller deletes (its resources finalizer is removed first).
	// +optional
	PreserveResourcesOnDeletion bool `json:"preserveResourcesOnDeletion,omitempty"`
	// ApplicationsSync limits what the controller does to Applications;
	// empty is sync (create, update and delete).
	// +optional
	ApplicationsSync *ApplicationsSyncPolicy `json:"applicationsSync,omitempty"`
}

// ApplicationSetTemplate is an Application with parameters in it.
type ApplicationSetTemplate struct {
	// +optional
	ApplicationSetTemplateMeta `json:"metadata"`
	// +optional
	Spec ApplicationSpec `json:"spec"`
}

// ApplicationSetTemplateMeta is the metadata of a generated Application.
type ApplicationSetTemplateMeta struct {
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
	// +optional
	Finalizers []string `json:"finalizers,omitempty"`
}

// ApplicationSetGenerator is one generator of parameter sets. Exactly one
// of its fields is set.
type ApplicationSetGenerator struct {
	// +optional
	List *ListGenerator `json:"list,omitempty"`
	// +optional
	Clusters *ClusterGenerator `json:"clusters,omitempty"`
	// +optional
	Git *GitGenerator `json:"git,omitempty"`
	// +optional
	Matrix *MatrixGenerator `json:"matrix,omitempty"`
	// +optional
	Merge *MergeGenerator `json:"merge,omitempty"`
	// SCMProvider is not supported by Tether; it is kept so that the
	// ApplicationSet is accepted and reports so.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +optional
	SCMProvider *apiextensionsv1.JSON `json:"scmProvider,omitempty"`
	// ClusterDecisionResource is not supported (see SCMProvider).
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +optional
	ClusterDecisionResource *apiextensionsv1.JSON `json:"clusterDecisionResource,omitempty"`
	// PullRequest is not supported (see SCMProvider).
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +optional
	PullRequest *apiextensionsv1.JSON `json:"pullRequest,omitempty"`
	// Plugin is not supported (see SCMProvider).
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +optional
	Plugin *apiextensionsv1.JSON `json:"plugin,omitempty"`
	// Selector keeps only the parameter sets it matches.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
}

// ApplicationSetNestedGenerator is a generator inside a matrix or merge;
// a matrix or merge nested in it is kept as raw JSON (one more level).
type ApplicationSetNestedGenerator struct {
	// +optional
	List *ListGenerator `json:"list,omitempty"`
	// +optional
	Clusters *ClusterGenerator `json:"clusters,omitempty"`
	// +optional
	Git *GitGenerator `json:"git,omitempty"`
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +optional
	Matrix *apiextensionsv1.JSON `json:"matrix,omitempty"`
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +optional
	Merge *apiextensionsv1.JSON `json:"merge,omitempty"`
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +optional
	SCMProvider *apiextensionsv1.JSON `json:"scmProvider,omitempty"`
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +optional
	ClusterDecisionResource *apiextensionsv1.JSON `json:"clusterDecisionResource,omitempty"`
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +optional
	PullRequest *apiextensionsv1.JSON `json:"pullRequest,omitempty"`
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +optional
	Plugin *apiextensionsv1.JSON `json:"plugin,omitempty"`
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
}

// ListGenerator yields its elements, each a parameter set.
type ListGenerator struct {
	// Elements are objects whose fields are the parameters.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Elements []apiextensionsv1.JSON `json:"elements,omitempty"`
	// ElementsYaml is a YAML list of elements (usually templated).
	// +optional
	ElementsYaml string `json:"elementsYaml,omitempty"`
	// Template overrides fields of the ApplicationSet's template.
	// +optional
	Template ApplicationSetTemplate `json:"template,omitempty"`
}

// ClusterGenerator yields one parameter set per registered cluster that
// Selector matches (cluster Secrets, and the local cluster when the
// selector is empty).
type ClusterGenerator struct {
	// +optional
	Selector metav1.LabelSelector `json:"selector,omitempty"`
	// +optional
	Template ApplicationSetTemplate `json:"template,omitempty"`
	// Values are extra parameters, "values.<key>", themselves templated
	// with the cluster's parameters.
	// +optional
	Values map[string]string `json:"values,omitempty"`
	// FlatList yields one parameter set holding every cluster.
	// +optional
	FlatList bool `json:"flatList,omitempty"`
}

// GitGenerator yields parameter sets from a Git repository: one per
// directory matching Directories, or per file matching Files.
type GitGenerator struct {
	RepoURL string `json:"repoURL"`
	// +optional
	Directories []GitDirectoryGeneratorItem `json:"directories,omitempty"`
	// +optional
	Files []GitFileGeneratorItem `json:"files,omitempty"`
	// Revision is a branch, tag or commit; empty is HEAD.
	// +optional
	Revision string `json:"revision"`
	// RequeueAfterSeconds is how often the repository is read again.
	// +optional
	RequeueAfterSeconds *int64 `json:"requeueAfterSeconds,omitempty"`
	// +optional
	Template ApplicationSetTemplate `json:"template,omitempty"`
	// PathParamPrefix prefixes the path parameters ("<prefix>.path").
	// +optional
	PathParamPrefix string `json:"pathParamPrefix,omitempty"`
	// Values are extra parameters, "values.<key>".
	// +optional
	Values map[string]string `json:"values,omitempty"`
}

// GitDirectoryGeneratorItem is a path glob of directories to include, or
// with Exclude to leave out.
type GitDirectoryGeneratorItem struct {
	Path string `json:"path"`
	// +optional
	Exclude bool `json:"exclude,omitempty"`
}

// GitFileGeneratorItem is a path glob of JSON or YAML files whose fields
// are parameters.
type GitFileGeneratorItem struct {
	Path string `json:"path"`
	// +optional
	Exclude bool `json:"exclude,omitempty"`
}

// MatrixGenerator yields the combinations of the parameter sets of its
// two generators; the second may use the first's parameters.
type MatrixGenerator struct {
	Generators []ApplicationSetNestedGenerator `json:"generators"`
	// +optional
	Template ApplicationSetTemplate `json:"template,omitempty"`
}

// MergeGenerator yields the first generator's parameter sets, with the
// parameters of the later generators' sets that agree on MergeKeys merged
// in.
type MergeGenerator struct {
	Generators []ApplicationSetNestedGenerator `json:"generators"`
	MergeKeys  []string                        `json:"mergeKeys"`
	// +optional
	Template ApplicationSetTemplate `json:"template,omitempty"`
}

// ApplicationSetStatus is what the controller last did.
type ApplicationSetStatus struct {
	// +optional
	Conditions []ApplicationSetCondition `json:"conditions,omitempty"`
	// ApplicationStatus is each Application's place in a RollingSync.
	// +optional
	ApplicationStatus []ApplicationSetApplicationStatus `json:"applicationStatus,omitempty"`
	// Resources are the generated Applications with their sync and
	// health status.
	// +optional
	Resources []ResourceStatus `json:"resources,omitempty"`
	// ResourcesCount is how many Applications the set has.
	// +optional
	ResourcesCount int64 `json:"resourcesCount,omitempty"`
}

// ApplicationSetCondition is one condition of an ApplicationSet.
type ApplicationSetCondition struct {
	// Type is ErrorOccurred, ParametersGenerated, ResourcesUpToDate or
	// RolloutProgressing.
	Type string `json:"type"`
	// Message says why.
	Message string `json:"message"`
	// +optional
	LastTransitionTime *metav1.Time `json:"lastTransitionTime,omitempty"`
	// Status is "True", "False" or "Unknown".
	Status string `json:"status"`
	// Reason is a CamelCase word.
	Reason string `json:"reason"`
}

// ApplicationSetApplicationStatus is one Application's RollingSync state.
type ApplicationSetApplicationStatus struct {
	// Application is the Application's name.
	Application string `json:"application"`
	// +optional
	LastTransitionTime *metav1.Time `json:"lastTransitionTime,omitempty"`
	// Message says what happens to it.
	Message string `json:"message"`
	// Status is Waiting, Pending, Progressing or Healthy.
	Status string `json:"status"`
	// Step is the 1-based step the Application belongs to.
	Step string `json:"step"`
	// TargetRevisions are the revisions it was last synced to.
	// +optional
	TargetRevisions []string `json:"targetRevisions,omitempty"`
}

// The condition types and reasons of an ApplicationSet.
const (
	ApplicationSetConditionErrorOccurred       = "ErrorOccurred"
	ApplicationSetConditionParametersGenerated = "ParametersGenerated"
	ApplicationSetConditionResourcesUpToDate   = "ResourcesUpToDate"
	ApplicationSetConditionRolloutProgressing  = "RolloutProgressing"
)
