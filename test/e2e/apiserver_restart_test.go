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
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// TestAPIServerRestartDuringRollout: the kube-apiserver is killed and
// started again while 100 Applications sync. Once it is back every app
// converges: Synced and Healthy, its operation Succeeded, each of its
// three objects present with the values of Git. Nothing is lost and
// nothing is left half-applied.
func TestAPIServerRestartDuringRollout(t *testing.T) {
	if testing.Short() {
		t.Skip("100 apps")
	}
	const apps = 100
	c := kubeClient(t)
	env := cluster(t)
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "rollout")
	files := map[string]string{"app/kustomization.yaml": "resources: [a.yaml, b.yaml, c.yaml]\n"}
	for _, n := range []string{"a", "b", "c"} {
		files["app/"+n+".yaml"] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {v: %q}\n", n, n)
	}
	head := repo.Commit(t, "master", files, "three ConfigMaps")
	// The restart outlasts the default renew deadline (10 s): a leader
	// that cannot renew steps down and exits, which a Deployment restarts;
	// here one process must live through it.
	tether := startTether(t, "--url-rewrite", "https://git.example.com/="+srv.URL+"/", "--git-resolve-ttl", "1s",
		"--app-resync-period", "5s", "--leader-election-lease-duration", "90s", "--leader-election-renew-deadline", "60s")
	manyApps(t, c, apps, "rollout", "rollout", "rollout", "r", "    retry: {limit: 10, backoff: {duration: 2s, factor: 2, maxDuration: 20s}}\n")
	eventually(t, 2*time.Minute, "the rollout under way", func(ctx context.Context) error {
		var list argov1.ApplicationList
		if err := c.List(ctx, &list, client.InNamespace("argocd")); err != nil {
			return err
		}
		started := 0
		for _, a := range list.Items {
			if a.Status.OperationState != nil {
				started++
			}
		}
		if started < 10 {
			return fmt.Errorf("%d syncs started", started)
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := env.RestartAPIServer(ctx, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Log("kube-apiserver restarted")

	waitAppsConverged(t, c, "rollout", apps, head, 5*time.Minute, func(a *argov1.Application) bool {
		st := a.Status.OperationState
		return a.Status.Health.Status == "Healthy" && st != nil && st.Phase == argov1.OperationSucceeded
	})
	for i := range apps {
		for _, n := range []string{"a", "b", "c"} {
			var cm corev1.ConfigMap
			key := types.NamespacedName{Namespace: "rollout", Name: fmt.Sprintf("r%03d-%s", i, n)}
			if err := c.Get(context.Background(), key, &cm); err != nil || cm.Data["v"] != n {
				t.Errorf("%s: %v (err %v), want v=%s", key, cm.Data, err, n)
			}
		}
	}
	if logs := tether.Logs.String(); strings.Contains(logs, "leader election lost") || strings.Contains(logs, "problem running manager") {
		t.Error("tether stopped during the restart")
	}
}
