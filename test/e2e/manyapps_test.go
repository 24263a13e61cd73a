package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// manyApps creates n automated Applications "<name>-NNN" of path app in
// repository repo (https://git.example.com/<repo>.git), deploying to
// namespace ns with objects prefixed "<prefix>NNN-"; extra is added to
// their syncPolicy. They are deleted when the test ends.
func manyApps(t *testing.T, c client.Client, n int, name, repo, ns, prefix, extra string) {
	t.Helper()
	for i := range n {
		applyYAML(t, fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: %s-%03d, namespace: argocd}
spec:
  project: default
  source: {repoURL: "https://git.example.com/%s.git", path: app, kustomize: {namePrefix: %s%03d-}}
  destination: {server: "https://kubernetes.default.svc", namespace: %s}
  syncPolicy:
    automated: {prune: true}
    syncOptions: [CreateNamespace=true]
%s`, name, i, repo, prefix, i, ns, extra))
	}
	t.Cleanup(func() {
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				app := &argov1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: "argocd", Name: fmt.Sprintf("%s-%03d", name, i)}}
				_ = c.Delete(context.Background(), app)
			}()
		}
		wg.Wait()
	})
}

// waitAppsConverged waits until the n apps "<name>-NNN" are Synced at
// revision and pass done (nil: nothing more).
func waitAppsConverged(t *testing.T, c client.Client, name string, n int, revision string, timeout time.Duration, done func(*argov1.Application) bool) {
	t.Helper()
	eventually(t, timeout, fmt.Sprintf("%d apps Synced at %.7s", n, revision), func(ctx context.Context) error {
		var list argov1.ApplicationList
		if err := c.List(ctx, &list, client.InNamespace("argocd")); err != nil {
			return err
		}
		ok, last := 0, ""
		for i := range list.Items {
			a := &list.Items[i]
			switch {
			case !strings.HasPrefix(a.Name, name+"-"):
			case a.Status.Sync.Status == argov1.SyncStatusCodeSynced && a.Status.Sync.Revision == revision && (done == nil || done(a)):
				ok++
			default:
				last = fmt.Sprintf("%s: %s/%s %s", a.Name, a.Status.Sync.Status, a.Status.Health.Status, operationSummary(a.Status.OperationState))
			}
		}
		if ok != n {
			return fmt.Errorf("%d of %d; e.g. %s", ok, n, last)
		}
		return nil
	})
}
