package helmrelease

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	"github.com/tether-gitops/tether/internal/helm"
)

// Inspection is a HelmRelease's last release beside the cluster: its
// drift, found without writing anything (the web UI's and the API's
// diff).
type Inspection struct {
	// Release names the release compared: "<namespace>/<name>.v<version>
	// (<chart>@<version>)".
	Release string
	// Objects are the release manifest's objects, each with what a drift
	// correction (or an upgrade) would do to it: ActionConfigured with
	// the live and predicted forms (spec.driftDetection.ignore applied),
	// ActionCreated when missing, ActionUnchanged. The forms are as read:
	// a caller that shows them masks Secret values.
	Objects []ObjectState
}

// Inspect compares obj's last release with its cluster by server-side
// dry run; the cluster, the release and obj's status are left as they
// are. Its errors never show the values obj took from Secrets.
func (r *Reconciler) Inspect(ctx context.Context, obj *helmv2.HelmRelease) (_ *Inspection, retErr error) {
	defer func() { retErr = r.secretsOf(client.ObjectKeyFromObject(obj)).Error(retErr) }()
	obj = obj.DeepCopy()
	tgt, err := r.target(ctx, obj)
	if err != nil {
		return nil, err
	}
	releases := &helm.Releases{Cluster: tgt.cluster, StorageNamespace: obj.GetStorageNamespace()}
	rel, err := releases.Last(releaseName(obj))
	if err != nil {
		return nil, err
	}
	if rel == nil {
		return nil, fmt.Errorf("HelmRelease %s/%s has no release yet", obj.Namespace, obj.Name)
	}
	states, err := releaseStates(ctx, obj, tgt, rel)
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("%s/%s.v%d", rel.Namespace, rel.Name, rel.Version)
	if rel.Chart != nil && rel.Chart.Metadata != nil {
		name += fmt.Sprintf(" (%s@%s)", rel.Chart.Metadata.Name, rel.Chart.Metadata.Version)
	}
	return &Inspection{Release: name, Objects: states}, nil
}
