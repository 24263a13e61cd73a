package metrics

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	"github.com/tether-gitops/tether/internal/scheme"
)

func newScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s, err := scheme.New()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func app(i int, sync argov1.SyncStatusCode, health argov1.HealthStatusCode) *argov1.Application {
	a := &argov1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: "argocd", Name: fmt.Sprintf("app-%04d", i)}}
	a.Spec.Project = "default"
	a.Spec.Source = &argov1.ApplicationSource{RepoURL: "https://git.example.com/apps.git", Path: fmt.Sprintf("apps/%d", i)}
	a.Spec.Destination = argov1.ApplicationDestination{Server: "https://kubernetes.default.svc", Namespace: "apps"}
	a.Status.Sync.Status, a.Status.Health.Status = sync, health
	a.Status.Sync.Revision = fmt.Sprintf("%040d", i) // never a label
	return a
}

// The state metrics of 1,000 apps and 1,000 Kustomizations: one
// argocd_app_info series per app, six series per Flux object, one cluster;
// no revision or message in any label.
func TestCollectorCardinality(t *testing.T) {
	var objs []client.Object
	for i := range 1000 {
		objs = append(objs, app(i, argov1.SyncStatusCodeSynced, argov1.HealthStatusHealthy))
		ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: "flux-system", Name: fmt.Sprintf("ks-%04d", i)}}
		ks.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "ReconciliationSucceeded",
			Message: fmt.Sprintf("Applied revision: main@sha1:%040d", i)}}
		objs = append(objs, ks)
	}
	c := &Collector{Reader: fake.NewClientBuilder().WithScheme(newScheme(t)).WithObjects(objs...).Build(),
		InClusterName: "in-cluster", InClusterServer: "https://kubernetes.default.svc"}
	if n, want := testutil.CollectAndCount(c), 1000+1+1000*6; n != want {
		t.Errorf("%d series, want %d", n, want)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.Contains(l.GetValue(), "sha1:") || strings.Contains(l.GetValue(), "0000000000") {
					t.Fatalf("%s carries a revision in label %s=%q", f.GetName(), l.GetName(), l.GetValue())
				}
			}
		}
	}
}

func TestCollectorValues(t *testing.T) {
	out := app(1, argov1.SyncStatusCodeOutOfSync, argov1.HealthStatusMissing)
	degraded := app(2, argov1.SyncStatusCodeSynced, argov1.HealthStatusDegraded)
	degraded.Spec.SyncPolicy = &argov1.SyncPolicy{Automated: &argov1.SyncPolicyAutomated{}}
	suspended := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: "flux-system", Name: "held"}}
	suspended.Spec.Suspend = true
	suspended.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: metav1.ConditionFalse, Reason: "BuildFailed"}}
	c := &Collector{Reader: fake.NewClientBuilder().WithScheme(newScheme(t)).WithObjects(out, degraded, suspended).Build(),
		InClusterName: "in-cluster", InClusterServer: "https://kubernetes.default.svc"}
	want := `
# HELP argocd_app_info Information about Applications: their sync and health status (1 for each app).
# TYPE argocd_app_info gauge
argocd_app_info{autosync_enabled="false",dest_namespace="apps",dest_server="https://kubernetes.default.svc",health_status="Missing",name="app-0001",namespace="argocd",operation="",project="default",repo="https://git.example.com/apps.git",sync_status="OutOfSync"} 1
argocd_app_info{autosync_enabled="true",dest_namespace="apps",dest_server="https://kubernetes.default.svc",health_status="Degraded",name="app-0002",namespace="argocd",operation="",project="default",repo="https://git.example.com/apps.git",sync_status="Synced"} 1
# HELP gotk_reconcile_condition The Ready condition of a Flux object: 1 for its status, 0 for the others.
# TYPE gotk_reconcile_condition gauge
gotk_reconcile_condition{kind="Kustomization",name="held",namespace="flux-system",status="Deleted",type="Ready"} 0
gotk_reconcile_condition{kind="Kustomization",name="held",namespace="flux-system",status="False",type="Ready"} 1
gotk_reconcile_condition{kind="Kustomization",name="held",namespace="flux-system",status="True",type="Ready"} 0
gotk_reconcile_condition{kind="Kustomization",name="held",namespace="flux-system",status="Unknown",type="Ready"} 0
# HELP gotk_suspend_status Whether a Flux object is suspended (1) or not (0).
# TYPE gotk_suspend_status gauge
gotk_suspend_status{kind="Kustomization",name="held",namespace="flux-system"} 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "argocd_app_info", "gotk_reconcile_condition", "gotk_suspend_status"); err != nil {
		t.Error(err)
	}
}
