package kustomization

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	"github.com/tether-gitops/tether/internal/controller/drift"
	"github.com/tether-gitops/tether/internal/livecache"
)

// newDriftWatcher watches the objects that carry a Kustomization's name
// label, and marks that Kustomization dirty when one of them is changed or
// deleted by someone else. With live (the live cache of the cluster), the
// watches share its informers; otherwise they are metadata-only, on the
// cluster of cfg and mapper when set (a remote one), else the manager's,
// run by run (see drift.Options.Run).
func newDriftWatcher(mgr ctrl.Manager, c controller.Controller, onDrift func(types.NamespacedName), cfg *rest.Config, mapper meta.RESTMapper, live *livecache.Cache, run func(manager.Runnable) error) (*drift.Watcher, error) {
	if live != nil {
		return drift.New(mgr, c, drift.Options{Cache: live.Informers(), Owner: ownerOf,
			OnEvent: func(key types.NamespacedName, _ bool) { onDrift(key) }, Run: run})
	}
	owned, err := labels.NewRequirement(kustomizev1.NameLabel, selection.Exists, nil)
	if err != nil {
		return nil, fmt.Errorf("drift selector: %w", err)
	}
	return drift.New(mgr, c, drift.Options{
		Selector: labels.NewSelector().Add(*owned),
		Owner:    ownerOf,
		OnEvent:  func(key types.NamespacedName, _ bool) { onDrift(key) },
		Config:   cfg,
		Mapper:   mapper,
		Run:      run,
	})
}

// ownerOf reads the Kustomization that applied o from its labels.
func ownerOf(o client.Object) (types.NamespacedName, bool) {
	l := o.GetLabels()
	name, ns := l[kustomizev1.NameLabel], l[kustomizev1.NamespaceLabel]
	return types.NamespacedName{Namespace: ns, Name: name}, name != "" && ns != ""
}
