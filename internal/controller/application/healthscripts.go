package application

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/health"
)

// argocdConfigMap is Argo CD's main ConfigMap, in the control-plane
// namespace; Tether reads its Lua health checks and whether syncs
// impersonate (impersonation.go).
const argocdConfigMap = "argocd-cm"

// healthScriptsTTL is how long argocd-cm's health scripts are used before
// the ConfigMap is read again (ConfigMaps are not cached: memory would
// follow every ConfigMap of the cluster).
const healthScriptsTTL = 10 * time.Second

// healthScriptCache holds the compiled health scripts of argocd-cm,
// recompiled only when the ConfigMap's resourceVersion changes.
type healthScriptCache struct {
	mu      sync.Mutex
	readAt  time.Time
	version string
	scripts *health.Scripts
	// impersonation: application.sync.impersonation.enabled is "true".
	impersonation bool
}

// healthScripts returns argocd-cm's Lua health checks (nil when there is
// no argocd-cm). A script that does not compile is logged once per
// version of the ConfigMap and makes its kind's objects Unknown.
func (r *Reconciler) healthScripts(ctx context.Context) (*health.Scripts, error) {
	c := &r.luaHealth
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.readAt) < healthScriptsTTL {
		return c.scripts, nil
	}
	var cm corev1.ConfigMap
	err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: r.ControlPlaneNamespace, Name: argocdConfigMap}, &cm)
	switch {
	case apierrors.IsNotFound(err):
		c.readAt, c.version, c.scripts, c.impersonation = time.Now(), "", nil, false
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read %s/%s: %w", r.ControlPlaneNamespace, argocdConfigMap, err)
	}
	c.readAt = time.Now()
	if cm.ResourceVersion != c.version {
		scripts, err := health.ScriptsFromConfigMap(cm.Data)
		if err != nil {
			log.FromContext(ctx).Error(err, "health checks in argocd-cm; the kinds they name are Unknown until fixed")
		}
		c.version, c.scripts = cm.ResourceVersion, scripts
		c.impersonation = cm.Data[impersonationEnabledKey] == "true"
	}
	return c.scripts, nil
}

// syncImpersonation reports whether argocd-cm enables sync impersonation,
// read with (and as often as) its health checks.
func (r *Reconciler) syncImpersonation(ctx context.Context) (bool, error) {
	if _, err := r.healthScripts(ctx); err != nil {
		return false, err
	}
	r.luaHealth.mu.Lock()
	defer r.luaHealth.mu.Unlock()
	return r.luaHealth.impersonation, nil
}

// healthOf judges a live object with argocd-cm's Lua health checks, else
// Argo CD's built-in rules: Missing when it is absent, nil when its kind
// has no health.
func healthOf(ctx context.Context, scripts *health.Scripts, live *unstructured.Unstructured) *argov1.HealthStatus {
	if live == nil {
		return &argov1.HealthStatus{Status: argov1.HealthStatusMissing}
	}
	res, err := health.AssessWith(ctx, scripts, live)
	switch {
	case err != nil:
		return &argov1.HealthStatus{Status: argov1.HealthStatusUnknown, Message: err.Error()}
	case res == nil:
		return nil
	}
	return &argov1.HealthStatus{Status: argov1.HealthStatusCode(res.Status), Message: res.Message}
}
