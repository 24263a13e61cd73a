package helmrelease

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	"github.com/tether-gitops/tether/internal/helm"
	"github.com/tether-gitops/tether/internal/redact"
)

// values composes the release's values: spec.valuesFrom in order, then
// spec.values. It also returns the values taken from Secrets, which the
// release's messages must never show; they are returned, as far as they
// were read, with an error too.
func (r *Reconciler) values(ctx context.Context, obj *helmv2.HelmRelease) (map[string]any, *redact.Values, error) {
	secrets := &redact.Values{}
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
			return nil, secrets, fail("unsupported values reference kind")
		}
		switch {
		case apierrors.IsNotFound(err) && ref.Optional:
			log.FromContext(ctx).V(1).Info("optional values reference not found", "kind", ref.Kind, "name", nn.String())
			continue
		case apierrors.IsNotFound(err):
			return nil, secrets, fail("resource not found")
		case err != nil:
			return nil, secrets, fail(client.IgnoreNotFound(err).Error())
		case !found && ref.Optional:
			continue
		case !found:
			return nil, secrets, fail("key not found")
		}
		if ref.Kind == "Secret" {
			addSecretValues(secrets, data, ref.TargetPath)
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
			return nil, secrets, fmt.Errorf("spec.values: %w", err)
		}
	}
	vals, err := helm.ComposeValues(from, inline)
	if err != nil {
		return nil, secrets, fmt.Errorf("failed to merge values: %w", err)
	}
	return vals, secrets, nil
}

// addSecretValues adds to secrets what a Secret's values data puts in
// the release: with a targetPath the whole value (also trimmed and
// unquoted, as it is set), else every string leaf of the YAML; each also
// base64-encoded, since a chart may put it in a Secret's data. Data that
// is not YAML is added whole (the merge then fails on it).
func addSecretValues(secrets *redact.Values, data []byte, targetPath string) {
	if targetPath == "" {
		if err := secrets.AddYAMLLeaves(data); err == nil {
			return
		}
	}
	v := strings.TrimSpace(string(data))
	secrets.AddWithBase64(string(data), v)
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		secrets.AddWithBase64(v[1 : len(v)-1])
	}
}
