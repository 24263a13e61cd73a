package localbuild

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
)

// loadKustomization returns the Kustomization of opts: from its file
// when one is given (with the cluster's status, when the cluster has the
// Kustomization, for the inventory), else from the cluster.
func loadKustomization(ctx context.Context, opts *Options, c client.Client) (*kustomizev1.Kustomization, error) {
	key := types.NamespacedName{Namespace: opts.Namespace, Name: opts.Name}
	if opts.KustomizationFile == "" {
		var ks kustomizev1.Kustomization
		if err := c.Get(ctx, key, &ks); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("no Kustomization %s in the cluster: check the name and -n, or give --kustomization-file", key)
			}
			return nil, fmt.Errorf("read Kustomization %s: %w", key, err)
		}
		return &ks, nil
	}
	data, err := os.ReadFile(opts.KustomizationFile)
	if err != nil {
		return nil, fmt.Errorf("--kustomization-file: %w", err)
	}
	ks, err := findKustomization(data, opts.Name, opts.Namespace)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opts.KustomizationFile, err)
	}
	if c == nil {
		return ks, nil
	}
	var live kustomizev1.Kustomization
	switch err := c.Get(ctx, key, &live); {
	case err == nil:
		ks.Status = live.Status
	case !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("read Kustomization %s: %w", key, err)
	}
	return ks, nil
}

// findKustomization returns the Kustomization name (in namespace, or with
// none) among the YAML or JSON documents of data, any of its API
// versions: the v1 type holds the fields of all of them.
func findKustomization(data []byte, name, namespace string) (*kustomizev1.Kustomization, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for doc := 1; ; doc++ {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
		if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
			continue
		}
		var ks kustomizev1.Kustomization
		if err := json.Unmarshal(raw, &ks); err != nil {
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
		if ks.Kind != "Kustomization" || !strings.HasPrefix(ks.APIVersion, kustomizev1.GroupVersion.Group+"/") ||
			ks.Name != name || (ks.Namespace != "" && ks.Namespace != namespace) {
			continue
		}
		ks.Namespace = namespace
		return &ks, nil
	}
	return nil, fmt.Errorf("no Kustomization %s/%s (%s) in the file", namespace, name, kustomizev1.GroupVersion.Group)
}
