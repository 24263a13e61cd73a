package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// comparisons counts the full comparisons tether logged for app (debug
// level) in logs.
func comparisons(logs, app string) int {
	n := 0
	for line := range strings.SplitSeq(logs, "\n") {
		if strings.Contains(line, `"msg":"compared"`) && strings.Contains(line, `"name":"`+app+`"`) {
			n++
		}
	}
	return n
}

// TestQuietAppIsNotComparedAgain: an app compared every 2 seconds that is
// Synced, whose commit, spec and objects nobody changes, is not rendered
// and compared again at each period (one full comparison answers); a
// drift of one of its objects and a push are still acted on at once.
func TestQuietAppIsNotComparedAgain(t *testing.T) {
	c := kubeClient(t)
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "quiet")
	first := repo.Commit(t, "master", map[string]string{"app/cm.yaml": settingsMap("quiet-settings", "one")}, "first")
	tether := startTetherOn(t, srv, "--log-level", "debug")
	applyYAML(t, headApp("quiet-app", "quiet", "HEAD", "app", "quiet-app"))
	t.Cleanup(func() { deleteApp(t, c, "argocd", "quiet-app") })
	waitApp(t, c, "argocd", "quiet-app", first, "Synced", "Healthy", 90*time.Second)

	t.Run("periodic refreshes of a quiet app compare once", func(t *testing.T) {
		time.Sleep(3 * time.Second) // the refresh after the sync, and the one that finds it quiet
		before := comparisons(tether.Logs.String(), "quiet-app")
		if before == 0 {
			t.Fatal("no comparison of quiet-app logged: the count below would prove nothing")
		}
		time.Sleep(10 * time.Second) // five periods
		if n := comparisons(tether.Logs.String(), "quiet-app") - before; n > 1 {
			t.Errorf("%d full comparisons in five quiet periods, want at most 1", n)
		}
	})

	t.Run("a drift is still put back at once", func(t *testing.T) {
		ctx := context.Background()
		var cm corev1.ConfigMap
		if err := c.Get(ctx, types.NamespacedName{Namespace: "quiet-app", Name: "quiet-settings"}, &cm); err != nil {
			t.Fatal(err)
		}
		cm.Data["value"] = "drifted"
		if err := c.Update(ctx, &cm); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "drift put back", func(ctx context.Context) error {
			v, err := configMapValue(ctx, c, "quiet-app", "quiet-settings")
			if err != nil || v != "one" {
				return fmt.Errorf("value %q (err %v)", v, err)
			}
			return nil
		})
	})

	t.Run("a push is still deployed at the next period", func(t *testing.T) {
		second := repo.Commit(t, "master", map[string]string{"app/cm.yaml": settingsMap("quiet-settings", "two")}, "second")
		waitApp(t, c, "argocd", "quiet-app", second, "Synced", "Healthy", 30*time.Second)
		if v, err := configMapValue(context.Background(), c, "quiet-app", "quiet-settings"); err != nil || v != "two" {
			t.Errorf("value %q (err %v), want two", v, err)
		}
	})
}
