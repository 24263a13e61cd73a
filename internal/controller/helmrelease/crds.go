package helmrelease

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	"github.com/tether-gitops/tether/internal/helm"
)

// applyCRDs puts the chart's crds/ folder (subcharts' included) on the
// cluster before an install or upgrade, as Flux does, by policy: Create
// creates the missing ones and leaves existing ones alone, CreateReplace
// also updates existing ones, Skip does nothing. Helm itself would create
// them on install only, never on upgrade. It reports whether anything was
// written (discovery must then learn the new kinds).
func applyCRDs(ctx context.Context, req *request, policy helmv2.CRDsPolicy) (bool, error) {
	if policy == helmv2.Skip {
		return false, nil
	}
	var objs []*unstructured.Unstructured
	for _, ch := range append([]*helm.Chart{req.chart}, req.chart.Dependencies()...) {
		for _, crd := range ch.CRDObjects() {
			decoded, err := decodeManifest(crd.File.Data)
			if err != nil {
				return false, fmt.Errorf("CRD file %s: %w", crd.Filename, err)
			}
			objs = append(objs, decoded...)
		}
	}
	wrote := false
	c := req.target.client
	for _, o := range objs {
		o.SetLabels(merged(o.GetLabels(), map[string]string{helmv2.NameLabel: req.obj.Name, helmv2.NamespaceLabel: req.obj.Namespace}))
		err := c.Create(ctx, o)
		switch {
		case err == nil:
			wrote = true
			continue
		case !apierrors.IsAlreadyExists(err):
			return wrote, fmt.Errorf("create CRD %s: %w", o.GetName(), err)
		case policy != helmv2.CreateReplace:
			continue
		}
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(o.GroupVersionKind())
		if err := c.Get(ctx, client.ObjectKeyFromObject(o), live); err != nil {
			return wrote, fmt.Errorf("read CRD %s: %w", o.GetName(), err)
		}
		o.SetResourceVersion(live.GetResourceVersion())
		if err := c.Update(ctx, o); err != nil {
			return wrote, fmt.Errorf("replace CRD %s: %w", o.GetName(), err)
		}
		wrote = true
	}
	if wrote {
		return true, waitEstablished(ctx, c, objs)
	}
	return false, nil
}

// waitEstablished waits (up to a minute) until the API server serves the
// CRDs, so the release's own objects of those kinds can be made.
func waitEstablished(ctx context.Context, c client.Client, crds []*unstructured.Unstructured) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for _, o := range crds {
		for {
			live := &unstructured.Unstructured{}
			live.SetGroupVersionKind(o.GroupVersionKind())
			err := c.Get(ctx, client.ObjectKeyFromObject(o), live)
			if err == nil && established(live) {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("CRD %s is not established: %w", o.GetName(), ctx.Err())
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}

func established(crd *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// crdPolicy is the policy of an action: spec.crds, or skip when the
// deprecated skipCRDs is set, else Create.
func crdPolicy(policy helmv2.CRDsPolicy, skip bool) helmv2.CRDsPolicy {
	switch {
	case policy != "":
		return policy
	case skip:
		return helmv2.Skip
	}
	return helmv2.Create
}
