package helmrelease

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	"github.com/tether-gitops/tether/internal/helm"
)

// values composes the release's values: spec.valuesFrom in order, then
// spec.values. Secret values are never put in messages.
func (r *Reconciler) values(ctx context.Context, obj *helmv2.HelmRelease) (map[string]any, error) {
	var from []helm.ValuesSource
	for _, ref := range obj.Spec.ValuesFrom {
		key := ref.ValuesKey
		if key == "" {
			key = "values.yaml"
		}
		optional := ""
		if ref.Optional {
			optional = " optional"
		}
		nn := types.NamespacedName{Namespace: obj.Namespace, Name: ref.Name}
		fail := func(reason string) error {
			return fmt.Errorf("could not resolve%s %s chart values reference '%s' with key '%s': %s", optional, ref.Kind, nn, key, reason)
		}
		var (
			data  []byte
			found bool
			err   error
		)
		switch ref.Kind {
		case "ConfigMap":
			var cm corev1.ConfigMap
			err = r.APIReader.Get(ctx, nn, &cm)
			if err == nil {
				var s string
				s, found = cm.Data[key]
				data = []byte(s)
				if !found {
					data, found = cm.BinaryData[key]
				}
			}
		case "Secret":
			var secret corev1.Secret
			err = r.APIReader.Get(ctx, nn, &secret)
			if err == nil {
				data, found = secret.Data[key]
			}
		default:
			return nil, fail("unsupported values reference kind")
		}
		switch {
		case apierrors.IsNotFound(err) && ref.Optional:
			log.FromContext(ctx).V(1).Info("optional values reference not found", "kind", ref.Kind, "name", nn.String())
			continue
		case apierrors.IsNotFound(err):
			return nil, fail("resource not found")
		case err != nil:
			return nil, fail(client.IgnoreNotFound(err).Error())
		case !found && ref.Optional:
			continue
		case !found:
			return nil, fail("key not found")
		}
		from = append(from, helm.ValuesSource{
			Description: fmt.Sprintf("%s chart values reference '%s' with key '%s'", ref.Kind, nn, key),
			Data:        data,
			TargetPath:  ref.TargetPath,
		})
	}
	var inline map[string]any
	if obj.Spec.Values != nil && len(obj.Spec.Values.Raw) > 0 {
		if err := json.Unmarshal(obj.Spec.Values.Raw, &inline); err != nil {
			return nil, fmt.Errorf("spec.values: %w", err)
		}
	}
	vals, err := helm.ComposeValues(from, inline)
	if err != nil {
		return nil, fmt.Errorf("failed to merge values: %w", err)
	}
	return vals, nil
}
