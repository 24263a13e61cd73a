// Package kustomize measures Tether applying many Flux Kustomizations of
// 10 objects each from one Git repository, against a real control plane,
// beside the API server's own server-side-apply ceiling measured in the
// same run. Run it with `make bench` (TETHER_BENCH=1); plain `go test`
// skips it.
package kustomize

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/bench/internal/harness"
	"github.com/tether-gitops/tether/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	os.Exit(harness.Main(m, "Kustomization", testenv.Options{Audit: true}, &env))
}

func TestKustomizationScale(t *testing.T) {
	results := harness.Scale(t, env, measureTether, 100, 1000)
	harness.Report(t, "TETHER_BENCH_OUT_KUSTOMIZE", harness.Table("time to all Ready", "reconciles/s", results)+
		"\nSteady state:\n\n"+harness.SteadyTable(results))
	harness.SaveJSON(t, "kustomizations", results)
}

// measureTether creates one GitRepository and a Kustomization per app
// folder, and waits until all are Ready.
func measureTether(t *testing.T, c client.Client, r *harness.Round) harness.Result {
	ctx := context.Background()
	ns := r.Name
	gr := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Name: "apps", Namespace: ns},
		Spec: sourcev1.GitRepositorySpec{URL: r.URL, Interval: metav1.Duration{Duration: 10 * time.Minute}}}
	if err := c.Create(ctx, gr); err != nil {
		t.Fatal(err)
	}
	for a := range r.Apps {
		ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("app-%04d", a), Namespace: ns},
			Spec: kustomizev1.KustomizationSpec{
				Interval: metav1.Duration{Duration: 10 * time.Minute}, Path: "./" + harness.AppPath(a), Prune: true,
				TargetNamespace: ns, SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "apps"},
			}}
		if err := c.Create(ctx, ks); err != nil {
			t.Fatal(err)
		}
	}
	res := r.Await(t, func() (int, string) {
		var list kustomizev1.KustomizationList
		if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		ready := 0
		for i := range list.Items {
			if apimeta.IsStatusConditionTrue(list.Items[i].Status.Conditions, "Ready") {
				ready++
			}
		}
		return ready, fmt.Sprintf("%d Kustomizations Ready", ready)
	})
	r.Steady(t, c, &res)
	return res
}
