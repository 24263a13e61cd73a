package install

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/internal/cli/connect"
	"github.com/tether-gitops/tether/internal/cli/output"
)

// fieldManager owns what `tether install` applies.
const fieldManager = "tether-install"

// minKubernetes is the oldest Kubernetes `tether check` accepts.
const minKubernetes = "1.30.0"

// NewInstallCmd returns `tether install`.
func NewInstallCmd(conn *connect.Options) *cobra.Command {
	var overlay string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Install Tether on the cluster of your kubeconfig (CRDs, RBAC, one Deployment, Services)",
		Long: "Install applies config/install (embedded in this binary) with server-side apply, CRDs and namespaces first.\n" +
			"--overlay argocd-compat uses Argo CD's names and labels (namespace argocd), flux-compat Flux's (flux-system).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			objs, err := Manifests(overlay)
			if err != nil {
				return err
			}
			if dryRun {
				return output.Objects(cmd.OutOrStdout(), "yaml", objs)
			}
			c, err := conn.Kube()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Minute)
			defer cancel()
			return Apply(ctx, c, objs, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&overlay, "overlay", "base", "which install: "+strings.Join(Overlays, ", "))
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the manifests instead of applying them")
	conn.AddFlags(cmd.Flags())
	return cmd
}

// Apply server-side applies objs: CRDs and namespaces first, then, once
// every CRD is established, the rest.
func Apply(ctx context.Context, c client.Client, objs []*unstructured.Unstructured, out io.Writer) error {
	first := slices.DeleteFunc(slices.Clone(objs), func(o *unstructured.Unstructured) bool { return !clusterWide(o) })
	rest := slices.DeleteFunc(slices.Clone(objs), clusterWide)
	for _, batch := range [][]*unstructured.Unstructured{first, rest} {
		for _, o := range batch {
			if err := c.Patch(ctx, o.DeepCopy(), client.Apply, client.FieldOwner(fieldManager), client.ForceOwnership); err != nil {
				return fmt.Errorf("apply %s %s: %w", o.GetKind(), o.GetName(), err)
			}
			fmt.Fprintf(out, "✔ %s %s applied\n", o.GetKind(), name(o))
		}
		if err := waitEstablished(ctx, c, batch); err != nil {
			return err
		}
	}
	return nil
}

func name(o *unstructured.Unstructured) string {
	if o.GetNamespace() == "" {
		return o.GetName()
	}
	return o.GetNamespace() + "/" + o.GetName()
}

// waitEstablished waits until every CRD of objs is established.
func waitEstablished(ctx context.Context, c client.Client, objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		if o.GetKind() != "CustomResourceDefinition" {
			continue
		}
		for {
			crd, err := getCRD(ctx, c, o.GetName())
			if err == nil && established(crd) {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("CRD %s not established (last read: %v): %w", o.GetName(), err, ctx.Err())
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}

// getCRD reads a CRD as unstructured (the CLI's scheme has no
// apiextensions types) and converts it.
func getCRD(ctx context.Context, c client.Client, name string) (*apiextensionsv1.CustomResourceDefinition, error) {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("apiextensions.k8s.io/v1")
	u.SetKind("CustomResourceDefinition")
	if err := c.Get(ctx, client.ObjectKey{Name: name}, u); err != nil {
		return nil, err
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, crd); err != nil {
		return nil, fmt.Errorf("CRD %s: %w", name, err)
	}
	return crd, nil
}

func established(crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
			return true
		}
	}
	return false
}

// NewUninstallCmd returns `tether uninstall`.
func NewUninstallCmd(conn *connect.Options) *cobra.Command {
	var overlay string
	var crds bool
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Remove what tether install applied (the CRDs, and with them every Tether object, only with --crds)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			objs, err := Manifests(overlay)
			if err != nil {
				return err
			}
			c, err := conn.Kube()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Minute)
			defer cancel()
			for _, o := range slices.Backward(objs) {
				switch {
				case o.GetKind() == "Namespace":
					continue // it may hold more than the install
				case o.GetKind() == "CustomResourceDefinition" && !crds:
					continue
				}
				err := c.Delete(ctx, o)
				switch {
				case apierrors.IsNotFound(err):
				case err != nil:
					return fmt.Errorf("delete %s %s: %w", o.GetKind(), name(o), err)
				default:
					fmt.Fprintf(cmd.OutOrStdout(), "✔ %s %s deleted\n", o.GetKind(), name(o))
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&overlay, "overlay", "base", "which install: "+strings.Join(Overlays, ", "))
	cmd.Flags().BoolVar(&crds, "crds", false, "also delete the CRDs, which deletes every Application, Kustomization, HelmRelease... of the cluster")
	conn.AddFlags(cmd.Flags())
	return cmd
}

// ErrCheckFailed is returned by check when something is missing.
var ErrCheckFailed = errors.New("some checks failed")

// NewCheckCmd returns `tether check`.
func NewCheckCmd(conn *connect.Options) *cobra.Command {
	var pre bool
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check that the cluster can run Tether (--pre) and that Tether is installed: Kubernetes version, CRDs, the Deployment",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := conn.RESTConfig()
			if err != nil {
				return err
			}
			dc, err := discovery.NewDiscoveryClientForConfig(cfg)
			if err != nil {
				return err
			}
			c, err := conn.Kube()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
			defer cancel()
			return Check(ctx, dc, c, pre, cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&pre, "pre", false, "only check that the cluster can run Tether (before install)")
	conn.AddFlags(cmd.Flags())
	return cmd
}

// Check reports, a line each, the Kubernetes version, every CRD of the
// install (present, established, serving the versions the install has)
// and the Deployments labelled app.kubernetes.io/part-of=tether (available);
// it returns ErrCheckFailed when one fails.
func Check(ctx context.Context, dc discovery.ServerVersionInterface, c client.Client, pre bool, out io.Writer) error {
	ok := true
	report := func(good bool, format string, args ...any) {
		mark := "✔"
		if !good {
			mark, ok = "✗", false
		}
		fmt.Fprintf(out, "%s %s\n", mark, fmt.Sprintf(format, args...))
	}
	sv, err := dc.ServerVersion()
	switch {
	case err != nil:
		report(false, "Kubernetes version: %v", err)
	default:
		v, perr := version.ParseGeneric(sv.GitVersion)
		report(perr == nil && v.AtLeast(version.MustParseGeneric(minKubernetes)), "Kubernetes %s (>= %s)", sv.GitVersion, minKubernetes)
	}
	if pre {
		return checked(ok)
	}
	objs, err := Manifests("base")
	if err != nil {
		return err
	}
	for _, o := range objs {
		if o.GetKind() != "CustomResourceDefinition" {
			continue
		}
		crd, err := getCRD(ctx, c, o.GetName())
		if err != nil {
			report(false, "CRD %s: %v", o.GetName(), err)
			continue
		}
		want, _, _ := unstructured.NestedSlice(o.Object, "spec", "versions")
		var missing []string
		for _, w := range want {
			n, _ := w.(map[string]any)["name"].(string)
			if !slices.ContainsFunc(crd.Spec.Versions, func(v apiextensionsv1.CustomResourceDefinitionVersion) bool { return v.Name == n && v.Served }) {
				missing = append(missing, n)
			}
		}
		report(established(crd) && len(missing) == 0, "CRD %s established%s", o.GetName(), versionsNote(missing))
	}
	var deps appsv1.DeploymentList
	if err := c.List(ctx, &deps, client.MatchingLabels{"app.kubernetes.io/part-of": "tether"}); err != nil {
		report(false, "Tether's Deployment: %v", err)
	} else if len(deps.Items) == 0 {
		report(false, "Tether's Deployment: none labelled app.kubernetes.io/part-of=tether (run tether install)")
	}
	for _, d := range deps.Items {
		report(d.Status.AvailableReplicas > 0, "Deployment %s/%s: %d of %d available", d.Namespace, d.Name, d.Status.AvailableReplicas, d.Status.Replicas)
	}
	return checked(ok)
}

func versionsNote(missing []string) string {
	if len(missing) == 0 {
		return ""
	}
	return ", but does not serve " + strings.Join(missing, ", ") + " (run tether install)"
}

func checked(ok bool) error {
	if ok {
		return nil
	}
	return ErrCheckFailed
}
