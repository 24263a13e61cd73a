package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestCLIInstallCheckUninstall: `tether install --overlay flux-compat`
// applies the embedded install (Flux's names in flux-system), `tether
// check` reports the version, every CRD and the Deployment, and `tether
// uninstall` removes the install while keeping the CRDs (and so every
// user's object); check then fails naming what is missing.
func TestCLIInstallCheckUninstall(t *testing.T) {
	c := kubeClient(t)
	cli := newCLI(t)
	if out := cli.ok("tether", "check", "--pre"); !strings.Contains(out, "✔ Kubernetes v1.") {
		t.Errorf("check --pre:\n%s", out)
	}
	out := cli.ok("tether", "install", "--overlay", "flux-compat")
	for _, want := range []string{"✔ CustomResourceDefinition kustomizations.kustomize.toolkit.fluxcd.io applied", "✔ Deployment flux-system/tether applied",
		"✔ Service flux-system/source-controller applied"} {
		if !strings.Contains(out, want) {
			t.Errorf("install does not say %q:\n%s", want, out)
		}
	}
	t.Cleanup(func() { cli.run("tether", "uninstall", "--overlay", "flux-compat") })
	eventually(t, 2*time.Minute, "tether check passes (kwok makes the pod available)", func(ctx context.Context) error {
		res := cli.run("tether", "check")
		if res.code != 0 {
			return fmt.Errorf("check exited %d:\n%s", res.code, res.stdout)
		}
		if !strings.Contains(res.stdout, "✔ CRD helmreleases.helm.toolkit.fluxcd.io established") || !strings.Contains(res.stdout, "✔ Deployment flux-system/tether: 1 of 1 available") {
			return fmt.Errorf("check:\n%s", res.stdout)
		}
		return nil
	})
	out = cli.ok("tether", "uninstall", "--overlay", "flux-compat")
	if !strings.Contains(out, "✔ Deployment flux-system/tether deleted") || strings.Contains(out, "CustomResourceDefinition") {
		t.Errorf("uninstall:\n%s", out)
	}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: "flux-system", Name: "tether"}, &appsv1.Deployment{}); err == nil {
		t.Error("the Deployment is still there")
	}
	res := cli.run("tether", "check")
	if res.code == 0 || !strings.Contains(res.stdout, "✗ Tether's Deployment: none labelled app.kubernetes.io/part-of=tether") {
		t.Errorf("check after uninstall exited %d:\n%s", res.code, res.stdout)
	}
}
