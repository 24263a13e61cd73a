package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// finalCheckTimeout bounds the one read per object that explains a failed
// wait.
const finalCheckTimeout = 15 * time.Second

// Wait waits until every object of refs is healthy - kstatus Current:
// a Deployment's replicas all updated and available, a Job complete, a
// custom resource's Ready condition true - or until timeout passes, or
// until every object is either healthy or failed. refs may be an
// inventory's (Inventory.Refs) or any objects, as Flux's
// spec.healthChecks. The error names every unhealthy object with its
// status and kstatus' reason, one per line:
//
//	Deployment/default/podinfo: InProgress: Available: 0/2
func (e *Engine) Wait(ctx context.Context, refs []ObjectRef, timeout time.Duration) error {
	if len(refs) == 0 {
		return nil
	}
	set := make(object.ObjMetadataSet, 0, len(refs))
	for _, r := range refs {
		m, err := r.objMetadata()
		if err != nil {
			return err
		}
		set = append(set, m)
	}
	err := e.manager(1).WaitForSetWithContext(ctx, set, ssa.WaitOptions{Interval: e.pollInterval, Timeout: timeout})
	if err == nil {
		return nil
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("health check canceled: %w", ctx.Err())
	}
	// ssa's error gives each object's status but not why; read them once
	// more to say why, even when ctx's own deadline has passed.
	checkCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalCheckTimeout)
	defer cancel()
	var bad []string
	for _, r := range refs {
		if line := e.unhealthy(checkCtx, r); line != "" {
			bad = append(bad, line)
		}
	}
	if len(bad) == 0 {
		return nil // healthy by now
	}
	return fmt.Errorf("%d of %d objects not healthy after %s:\n%s", len(bad), len(refs), timeout, strings.Join(bad, "\n"))
}

// unhealthy is "" when r is Current, else "<ref>: <status>: <why>".
func (e *Engine) unhealthy(ctx context.Context, r ObjectRef) string {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(r.APIVersion)
	u.SetKind(r.Kind)
	err := e.client.Get(ctx, client.ObjectKey{Namespace: r.Namespace, Name: r.Name}, u)
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Sprintf("%s: %s: not found", r, status.NotFoundStatus)
	case err != nil:
		return fmt.Sprintf("%s: %s: %s", r, status.UnknownStatus, describe(err))
	}
	res, err := status.Compute(u)
	switch {
	case err != nil:
		return fmt.Sprintf("%s: %s: %s", r, status.UnknownStatus, err)
	case res.Status == status.CurrentStatus:
		return ""
	case res.Message == "":
		return fmt.Sprintf("%s: %s", r, res.Status)
	}
	return fmt.Sprintf("%s: %s: %s", r, res.Status, res.Message)
}
