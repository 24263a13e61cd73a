package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/testenv"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// leaseFlags make elections quick enough for a test: a standby takes
// over at most 6 s after the leader's last renewal.
var leaseFlags = []string{"--leader-election-lease-duration", "6s", "--leader-election-renew-deadline", "4s",
	"--leader-election-retry-period", "1s"}

// gatedJob is a Sync hook Job in wave 1 whose Pod can only be scheduled
// once the test labels the node: the sync waits on it for as long as the
// test wants.
const gatedJob = `apiVersion: batch/v1
kind: Job
metadata:
  name: gate
  annotations:
    argocd.argoproj.io/hook: Sync
    argocd.argoproj.io/sync-wave: "1"
    argocd.argoproj.io/hook-delete-policy: BeforeHookCreation
spec:
  backoffLimit: 0
  template:
    spec:
      nodeSelector: {failover-gate: open}
      restartPolicy: Never
      containers: [{name: run, image: busybox}]
`

// TestFailoverResumesTheSync: two replicas elect a leader. The leader is
// killed (SIGKILL) in the middle of a sync, while it waits for a hook of
// wave 1 after a PreSync hook and wave 0 are done. The standby takes over
// once the lease runs out and finishes the same operation: the audit log
// shows each hook created once and each object applied once by the sync.
func TestFailoverResumesTheSync(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	env := cluster(t)
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "failover")
	const ns = "failover"
	head := repo.Commit(t, "master", map[string]string{
		"app/schema.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: schema\n  annotations: {argocd.argoproj.io/hook: PreSync}\ndata: {v: \"1\"}\n",
		"app/one.yaml":    configMap("one", ""),
		"app/gate.yaml":   gatedJob,
		"app/two.yaml":    configMap("two", `argocd.argoproj.io/sync-wave: "2"`),
	}, "a PreSync hook, wave 0, a gated hook in wave 1, wave 2")
	args := append([]string{"--url-rewrite", "https://git.example.com/=" + srv.URL + "/", "--git-resolve-ttl", "1s",
		"--app-resync-period", "2s"}, leaseFlags...)

	first := startTether(t, args...)
	eventually(t, 30*time.Second, "the first replica leads", func(context.Context) error {
		if !strings.Contains(first.Logs.String(), "Successfully acquired lease") {
			return fmt.Errorf("no lease yet")
		}
		return nil
	})
	second := startTether(t, args...)
	t.Cleanup(func() {
		deleteApp(t, c, "argocd", ns)
		openGate(t, env, c, false)
	})
	applyYAML(t, manualApp(ns, "failover", "app", ns))
	var app argov1.Application
	if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: ns}, &app); err != nil {
		t.Fatal(err)
	}
	app.Operation = &argov1.Operation{Sync: &argov1.SyncOperation{Revision: head}, InitiatedBy: argov1.OperationInitiator{Username: "e2e"}}
	if err := c.Update(ctx, &app); err != nil {
		t.Fatal(err)
	}

	// The leader runs the sync up to the gated hook, and records that.
	eventually(t, 60*time.Second, "the gated hook running, recorded", func(ctx context.Context) error {
		if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: ns}, &app); err != nil {
			return err
		}
		st := app.Status.OperationState
		if st == nil || st.SyncResult == nil {
			return fmt.Errorf("no progress recorded")
		}
		for _, r := range st.SyncResult.Resources {
			if r.Name == "gate" && r.HookPhase == argov1.OperationRunning {
				return nil
			}
		}
		return fmt.Errorf("%s", operationSummary(st))
	})
	if err := first.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	openGate(t, env, c, true)

	eventually(t, 90*time.Second, "the standby finishes the sync", func(ctx context.Context) error {
		if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: ns}, &app); err != nil {
			return err
		}
		if st := app.Status.OperationState; st == nil || st.Phase != argov1.OperationSucceeded {
			return fmt.Errorf("%s", operationSummary(st))
		}
		return nil
	})
	if !strings.Contains(second.Logs.String(), "resuming an interrupted sync") {
		t.Error("the standby did not log that it resumed the sync")
	}
	took := time.Since(killed)
	t.Logf("the standby finished the sync %s after the leader was killed", took.Round(time.Second))

	// One result per object and hook, every hook Succeeded.
	seen := map[string]int{}
	for _, r := range app.Status.OperationState.SyncResult.Resources {
		seen[r.Kind+"/"+r.Name]++
		if r.HookType != "" && r.HookPhase != argov1.OperationSucceeded {
			t.Errorf("hook %s ended %s: %s", r.Name, r.HookPhase, r.Message)
		}
	}
	for _, want := range []string{"ConfigMap/schema", "ConfigMap/one", "Job/gate", "ConfigMap/two"} {
		if seen[want] != 1 {
			t.Errorf("%s has %d results, want 1: %v", want, seen[want], seen)
		}
	}

	// The audit log: each hook created once, each object applied once.
	events, err := env.AuditEvents()
	if err != nil {
		t.Fatal(err)
	}
	writes := map[string]int{}
	for _, e := range events {
		if !e.IsWrite() || !strings.HasPrefix(e.UserAgent, "tether") || e.ObjectRef.Namespace != ns || e.ObjectRef.Subresource != "" ||
			e.ResponseStatus.Code >= 300 {
			continue
		}
		writes[e.Verb+" "+e.ObjectRef.Resource+"/"+e.ObjectRef.Name]++
	}
	for _, want := range []string{"create configmaps/schema", "patch configmaps/one", "create jobs/gate", "patch configmaps/two"} {
		if writes[want] != 1 {
			t.Errorf("%q %d times, want once; tether's writes in %s: %v", want, writes[want], ns, writes)
		}
	}
}

// openGate labels the cluster's node so that the gated Job's Pod can run,
// or removes the label.
func openGate(t *testing.T, env *testenv.Env, c client.Client, open bool) {
	t.Helper()
	var node corev1.Node
	if err := c.Get(context.Background(), types.NamespacedName{Name: env.NodeName}, &node); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(node.DeepCopy())
	if open {
		node.Labels["failover-gate"] = "open"
	} else {
		delete(node.Labels, "failover-gate")
	}
	if err := c.Patch(context.Background(), &node, patch); err != nil {
		t.Fatal(err)
	}
}
