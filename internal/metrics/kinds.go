package metrics

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
)

// fluxKind is one Flux kind the collector reports.
type fluxKind struct {
	gvk     schema.GroupVersionKind
	newList func() client.ObjectList
	items   func(client.ObjectList) []conditioned
}

func itemsOf[T any, P interface {
	*T
	conditioned
}](items []T) []conditioned {
	out := make([]conditioned, len(items))
	for i := range items {
		out[i] = P(&items[i])
	}
	return out
}

var fluxKinds = []fluxKind{
	{kustomizev1.GroupVersion.WithKind("Kustomization"), func() client.ObjectList { return &kustomizev1.KustomizationList{} },
		func(l client.ObjectList) []conditioned { return itemsOf(l.(*kustomizev1.KustomizationList).Items) }},
	{helmv2.GroupVersion.WithKind("HelmRelease"), func() client.ObjectList { return &helmv2.HelmReleaseList{} },
		func(l client.ObjectList) []conditioned { return itemsOf(l.(*helmv2.HelmReleaseList).Items) }},
	{sourcev1.GroupVersion.WithKind("GitRepository"), func() client.ObjectList { return &sourcev1.GitRepositoryList{} },
		func(l client.ObjectList) []conditioned { return itemsOf(l.(*sourcev1.GitRepositoryList).Items) }},
	{sourcev1.GroupVersion.WithKind("HelmRepository"), func() client.ObjectList { return &sourcev1.HelmRepositoryList{} },
		func(l client.ObjectList) []conditioned { return itemsOf(l.(*sourcev1.HelmRepositoryList).Items) }},
	{sourcev1.GroupVersion.WithKind("HelmChart"), func() client.ObjectList { return &sourcev1.HelmChartList{} },
		func(l client.ObjectList) []conditioned { return itemsOf(l.(*sourcev1.HelmChartList).Items) }},
	{sourcev1.GroupVersion.WithKind("OCIRepository"), func() client.ObjectList { return &sourcev1.OCIRepositoryList{} },
		func(l client.ObjectList) []conditioned { return itemsOf(l.(*sourcev1.OCIRepositoryList).Items) }},
	{sourcev1.GroupVersion.WithKind("Bucket"), func() client.ObjectList { return &sourcev1.BucketList{} },
		func(l client.ObjectList) []conditioned { return itemsOf(l.(*sourcev1.BucketList).Items) }},
}
