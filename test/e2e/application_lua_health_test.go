package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// luaHealthScript judges a ServiceMonitor by an annotation, so the test can
// steer it from Git.
const luaHealthScript = `hs = {}
local want = nil
if obj.metadata.annotations ~= nil then
  want = obj.metadata.annotations["tether.test/health"]
end
if want == nil then
  hs.status = "Progressing"
  hs.message = "no verdict yet"
  return hs
end
hs.status = want
hs.message = "lua says " .. want .. " for " .. obj.metadata.name
return hs
`

func serviceMonitor(health string) string {
	return fmt.Sprintf(`apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: judged
  annotations: {tether.test/health: %s}
spec:
  selector: {matchLabels: {app: judged}}
  endpoints: [{port: http}]
`, health)
}

// TestApplicationLuaHealthCheck: a Lua health script in argocd-cm
// (resource.customizations.health.<group>_<kind>) decides the health of a
// custom kind, as in Argo CD: the app follows what the script returns.
func TestApplicationLuaHealthCheck(t *testing.T) {
	c := kubeClient(t)
	cm := &corev1.ConfigMap{}
	cm.Namespace, cm.Name = "argocd", "argocd-cm"
	cm.Data = map[string]string{"resource.customizations.health.monitoring.coreos.com_ServiceMonitor": luaHealthScript}
	if err := c.Create(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), cm) })
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "lua-health")
	first := repo.Commit(t, "master", map[string]string{"app/sm.yaml": serviceMonitor("Degraded")}, "degraded")
	startTetherOn(t, srv)
	applyYAML(t, headApp("lua-health", "lua-health", "HEAD", "app", "lua-health"))
	t.Cleanup(func() { deleteApp(t, c, "argocd", "lua-health") })

	resourceHealth := func(app *argov1.Application) string {
		for _, r := range app.Status.Resources {
			if r.Kind == "ServiceMonitor" && r.Health != nil {
				return string(r.Health.Status) + ": " + r.Health.Message
			}
		}
		return "none"
	}
	var app argov1.Application
	eventually(t, 90*time.Second, "the script makes the app Degraded", func(ctx context.Context) error {
		if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: "lua-health"}, &app); err != nil {
			return err
		}
		if app.Status.Sync.Revision != first || app.Status.Health.Status != argov1.HealthStatusDegraded {
			return fmt.Errorf("at %.7s, health %s, ServiceMonitor %s", app.Status.Sync.Revision, app.Status.Health.Status, resourceHealth(&app))
		}
		return nil
	})
	if got := resourceHealth(&app); got != "Degraded: lua says Degraded for judged" {
		t.Errorf("ServiceMonitor health %q", got)
	}

	second := repo.Commit(t, "master", map[string]string{"app/sm.yaml": serviceMonitor("Healthy")}, "healthy")
	got := waitApp(t, c, "argocd", "lua-health", second, "Synced", "Healthy", 60*time.Second)
	if h := resourceHealth(got); !strings.HasPrefix(h, "Healthy: lua says Healthy") {
		t.Errorf("ServiceMonitor health %q", h)
	}
}
