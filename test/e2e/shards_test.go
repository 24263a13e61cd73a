package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/internal/shard"
	"github.com/tether-gitops/tether/internal/testenv"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// TestShardsSpreadAndMoveApps: three replicas with --shards auto share 300
// Applications: each app's status and objects are written by exactly one
// replica, and every replica has a share. One replica is killed (SIGKILL):
// once its member Lease runs out its apps move to the others, and a new
// commit reaches all 300 apps; nothing is lost.
func TestShardsSpreadAndMoveApps(t *testing.T) {
	if testing.Short() {
		t.Skip("300 apps")
	}
	const apps = 300
	c := kubeClient(t)
	env := cluster(t)
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "shards")
	cm := func(v string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {v: \"" + v + "\"}\n"
	}
	first := repo.Commit(t, "master", map[string]string{
		"app/kustomization.yaml": "resources: [cm.yaml]\n",
		"app/cm.yaml":            cm("1"),
	}, "one ConfigMap")
	replicas := map[string]*testenv.Tether{}
	for _, id := range []string{"shard-a", "shard-b", "shard-c"} {
		replicas[id] = startTether(t, append([]string{"--shards", "auto", "--shard-identity", id,
			"--url-rewrite", "https://git.example.com/=" + srv.URL + "/", "--git-resolve-ttl", "1s", "--app-resync-period", "10s"},
			leaseFlags...)...)
	}
	eventually(t, 60*time.Second, "three members", func(ctx context.Context) error {
		var leases coordinationv1.LeaseList
		if err := c.List(ctx, &leases, client.InNamespace("default"), client.MatchingLabels{shard.GroupLabel: "tether"}); err != nil {
			return err
		}
		if len(leases.Items) != 3 {
			return fmt.Errorf("%d member Leases", len(leases.Items))
		}
		return nil
	})
	time.Sleep(3 * time.Second) // every replica has read the three

	manyApps(t, c, apps, "shard", "shards", "shards", "a", "")
	waitAppsConverged(t, c, "shard", apps, first, 5*time.Minute, nil)

	// Each app's status and ConfigMap were written by one replica only.
	owner, writers := shardWriters(t, env)
	share := map[string]int{}
	for i := range apps {
		app, obj := fmt.Sprintf("shard-%03d", i), fmt.Sprintf("a%03d-cm", i)
		w := writers["applications/"+app]
		if len(w) != 1 {
			t.Errorf("app %s's status written by %v, want one replica", app, w)
			continue
		}
		if o := writers["configmaps/"+obj]; len(o) != 1 || !o[owner["applications/"+app]] {
			t.Errorf("ConfigMap %s written by %v, want only %s, its app's replica", obj, o, owner["applications/"+app])
		}
		share[owner["applications/"+app]]++
	}
	t.Logf("shares: %v", share)
	for id := range replicas {
		if share[id] == 0 {
			t.Errorf("replica %s reconciled no app: %v", id, share)
		}
	}

	// Kill one replica; its apps move to the others, which take a new
	// commit to all 300.
	if err := replicas["shard-b"].Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	second := repo.Commit(t, "master", map[string]string{"app/cm.yaml": cm("2")}, "a new value")
	waitAppsConverged(t, c, "shard", apps, second, 5*time.Minute, nil)
	t.Logf("all %d apps at the new commit %s after shard-b was killed", apps, time.Since(killed).Round(time.Second))
	for i := range apps {
		var got corev1.ConfigMap
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: "shards", Name: fmt.Sprintf("a%03d-cm", i)}, &got); err != nil || got.Data["v"] != "2" {
			t.Errorf("a%03d-cm: %v (err %v), want v=2", i, got.Data, err)
		}
	}
}

// shardWriters reads the audit log: for each "resource/name" in the
// argocd and shards namespaces, the replicas (by user agent) that wrote
// it, and the first one.
func shardWriters(t *testing.T, env *testenv.Env) (first map[string]string, writers map[string]map[string]bool) {
	t.Helper()
	events, err := env.AuditEvents()
	if err != nil {
		t.Fatal(err)
	}
	first, writers = map[string]string{}, map[string]map[string]bool{}
	for _, e := range events {
		ns := e.ObjectRef.Namespace
		if !e.IsWrite() || (ns != "argocd" && ns != "shards") || e.ResponseStatus.Code >= 300 {
			continue
		}
		_, id, ok := strings.Cut(e.UserAgent, "(shard ")
		if !ok {
			continue
		}
		id = strings.TrimSuffix(id, ")")
		key := e.ObjectRef.Resource + "/" + e.ObjectRef.Name
		if writers[key] == nil {
			writers[key] = map[string]bool{}
			first[key] = id
		}
		writers[key][id] = true
	}
	return first, writers
}
