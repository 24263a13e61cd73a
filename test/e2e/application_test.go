package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// guestbookFiles are the files of the guestbook example repository, at the
// paths the seed's Application names.
func guestbookFiles(t *testing.T) map[string]string {
	t.Helper()
	return folderFiles(t, "testdata/argocd-example-apps", "")
}

// folderFiles reads every file under dir into repository paths under
// prefix.
func folderFiles(t *testing.T, dir, prefix string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(filepath.Join(prefix, rel))] = string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestApplicationGuestbookSeed01 runs the seed's 01 example unchanged: the
// guestbook directory is applied to namespace guestbook; Synced and
// Healthy; a deleted or edited object is put back (selfHeal); an object
// removed from Git is deleted (prune); a new commit is synced.
func TestApplicationGuestbookSeed01(t *testing.T) {
	c := kubeClient(t)
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "argocd-example-apps")
	head := repo.Commit(t, "master", guestbookFiles(t), "guestbook")
	tether := startTether(t, "--url-rewrite", "https://github.com/argoproj/argocd-example-apps.git="+repo.URL,
		"--git-resolve-ttl", "1s", "--app-resync-period", "2s")
	for _, o := range seedObjects(t, filepath.Join(seedDir, "01-argo-application-guestbook.yaml")) {
		checkAppliedAsWritten(t, newApplier(t), o)
	}
	t.Cleanup(func() { deleteApp(t, c, "argocd", "guestbook") })

	t.Run("Synced and Healthy in namespace guestbook", func(t *testing.T) {
		app := waitApp(t, c, "argocd", "guestbook", head, "Synced", "Healthy", 90*time.Second)
		var dep appsv1.Deployment
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: "guestbook", Name: "guestbook-ui"}, &dep); err != nil {
			t.Fatal(err)
		}
		if got := dep.Annotations[argov1.AnnotationKeyTrackingID]; got != "guestbook:apps/Deployment:guestbook/guestbook-ui" {
			t.Errorf("tracking annotation %q", got)
		}
		if len(app.Status.Resources) != 2 {
			t.Errorf("status.resources = %+v, want the Deployment and the Service", app.Status.Resources)
		}
		for _, r := range app.Status.Resources {
			if r.Status != argov1.SyncStatusCodeSynced || r.Namespace != "guestbook" {
				t.Errorf("resource %s/%s: %s in %q", r.Kind, r.Name, r.Status, r.Namespace)
			}
			if r.Kind == "Deployment" && (r.Health == nil || r.Health.Status != argov1.HealthStatusHealthy) {
				t.Errorf("Deployment health %+v", r.Health)
			}
		}
		if got := strings.Join(app.Status.Summary.Images, ","); got != "gcr.io/heptio-images/ks-guestbook-demo:0.2" {
			t.Errorf("summary images %q", got)
		}
		st := app.Status.OperationState
		if st == nil || st.Phase != argov1.OperationSucceeded || !st.Operation.InitiatedBy.Automated || st.SyncResult == nil || st.SyncResult.Revision != head {
			t.Errorf("operationState %+v", st)
		}
		if len(app.Status.History) != 1 || app.Status.History[0].Revision != head {
			t.Errorf("history %+v", app.Status.History)
		}
		var def argov1.AppProject
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: "argocd", Name: "default"}, &def); err != nil ||
			len(def.Spec.SourceRepos) != 1 || def.Spec.SourceRepos[0] != "*" {
			t.Errorf("the default AppProject does not exist out of the box, permitting everything: %+v (err %v)", def.Spec, err)
		}
		if app.Status.SourceType != argov1.ApplicationSourceTypeDirectory || app.Status.ReconciledAt == nil {
			t.Errorf("sourceType %q, reconciledAt %v", app.Status.SourceType, app.Status.ReconciledAt)
		}
	})

	t.Run("an edited Deployment is put back within 5 seconds", func(t *testing.T) {
		var dep appsv1.Deployment
		key := types.NamespacedName{Namespace: "guestbook", Name: "guestbook-ui"}
		if err := c.Get(context.Background(), key, &dep); err != nil {
			t.Fatal(err)
		}
		patch := client.MergeFrom(dep.DeepCopy())
		three := int32(3)
		dep.Spec.Replicas = &three
		dep.Spec.Template.Spec.Containers[0].Image = "example.com/not-in-git:1"
		if err := c.Patch(context.Background(), &dep, patch); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, "Deployment put back", func(ctx context.Context) error {
			if err := c.Get(ctx, key, &dep); err != nil {
				return err
			}
			if *dep.Spec.Replicas != 1 || dep.Spec.Template.Spec.Containers[0].Image != "gcr.io/heptio-images/ks-guestbook-demo:0.2" {
				return fmt.Errorf("replicas %d image %s", *dep.Spec.Replicas, dep.Spec.Template.Spec.Containers[0].Image)
			}
			return nil
		})
	})

	t.Run("a deleted Deployment is put back within 5 seconds", func(t *testing.T) {
		key := types.NamespacedName{Namespace: "guestbook", Name: "guestbook-ui"}
		var dep appsv1.Deployment
		if err := c.Get(context.Background(), key, &dep); err != nil {
			t.Fatal(err)
		}
		old := dep.UID
		if err := c.Delete(context.Background(), &dep); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, "Deployment recreated", func(ctx context.Context) error {
			if err := c.Get(ctx, key, &dep); err != nil {
				return err
			}
			if dep.UID == old {
				return fmt.Errorf("still the old object")
			}
			return nil
		})
		waitApp(t, c, "argocd", "guestbook", head, "Synced", "Healthy", 30*time.Second)
	})

	t.Run("steady state: a Synced app makes no writes on refresh", func(t *testing.T) {
		waitApp(t, c, "argocd", "guestbook", head, "Synced", "Healthy", 30*time.Second)
		time.Sleep(2 * time.Second)
		paths := []string{"/applications/guestbook", "/namespaces/guestbook/"}
		logs := func(msg string) int { return countLines(tether.Logs.String(), `"msg":"`+msg+`"`, `"name":"guestbook"`) }
		writes, compared, quiet := countWrites(t, "tether", paths...), logs("compared"), logs("unchanged since the last comparison")
		time.Sleep(3 * time.Second)
		// Someone else labels the Deployment: the watch wakes the app, whose
		// full comparison finds it still Synced (the label is not Git's).
		var dep appsv1.Deployment
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: "guestbook", Name: "guestbook-ui"}, &dep); err != nil {
			t.Fatal(err)
		}
		labels := dep.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels["team"] = "someone-else"
		dep.SetLabels(labels)
		if err := c.Update(context.Background(), &dep); err != nil {
			t.Fatal(err)
		}
		time.Sleep(4 * time.Second)
		if got := countWrites(t, "tether", paths...) - writes; got != 0 {
			t.Errorf("%d write requests while nothing changed", got)
		}
		full, skipped := logs("compared")-compared, logs("unchanged since the last comparison")-quiet
		if full+skipped < 3 || full < 1 {
			t.Errorf("%d full comparisons and %d quiet refreshes in 7s at a 2s resync period, one of them woken by a label change; the check proves nothing", full, skipped)
		}
		waitApp(t, c, "argocd", "guestbook", head, "Synced", "Healthy", 10*time.Second)
	})

	t.Run("an object removed from Git is deleted", func(t *testing.T) {
		next := repo.Commit(t, "master", map[string]string{"guestbook/guestbook-ui-svc.yaml": ""}, "drop the service")
		waitApp(t, c, "argocd", "guestbook", next, "Synced", "Healthy", 30*time.Second)
		waitGone(t, c, 10*time.Second, "Service guestbook/guestbook-ui pruned", "guestbook", "guestbook-ui", &corev1.Service{})
	})

	t.Run("a new commit is synced", func(t *testing.T) {
		next := repo.Commit(t, "master", map[string]string{
			"guestbook/guestbook-config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: guestbook-config\ndata:\n  title: Hello\n",
		}, "add a config map")
		app := waitApp(t, c, "argocd", "guestbook", next, "Synced", "Healthy", 30*time.Second)
		var cm corev1.ConfigMap
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: "guestbook", Name: "guestbook-config"}, &cm); err != nil {
			t.Fatal(err)
		}
		if n := len(app.Status.History); n < 3 || app.Status.History[n-1].Revision != next {
			t.Errorf("history %+v, want the new revision last", app.Status.History)
		}
	})
}

// waitApp waits until the app is compared at revision (any when empty)
// with the given sync and health status, and no operation is running (as
// `argocd app wait` does).
func waitApp(t *testing.T, c client.Client, ns, name, revision, sync, health string, timeout time.Duration) *argov1.Application {
	t.Helper()
	app := &argov1.Application{}
	eventually(t, timeout, fmt.Sprintf("Application %s/%s %s/%s at %.7s", ns, name, sync, health, revision), func(ctx context.Context) error {
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, app); err != nil {
			return err
		}
		st := app.Status
		running := st.OperationState != nil && st.OperationState.Phase == argov1.OperationRunning
		if running || string(st.Sync.Status) != sync || string(st.Health.Status) != health || (revision != "" && st.Sync.Revision != revision) {
			return fmt.Errorf("sync %s at %.7s, health %s (%s); conditions %+v; operation %s",
				st.Sync.Status, st.Sync.Revision, st.Health.Status, st.Health.Message, st.Conditions, operationSummary(st.OperationState))
		}
		return nil
	})
	return app
}

func operationSummary(st *argov1.OperationState) string {
	if st == nil {
		return "none"
	}
	return fmt.Sprintf("%s (retry %d): %s", st.Phase, st.RetryCount, st.Message)
}

// deleteApp deletes an app and waits until it is gone, so later tests'
// Tether processes do not reconcile it.
func deleteApp(t *testing.T, c client.Client, ns, name string) {
	t.Helper()
	app := &argov1.Application{}
	app.Namespace, app.Name = ns, name
	if err := c.Delete(context.Background(), app); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("delete app %s: %v", name, err)
		return
	}
	eventually(t, 60*time.Second, "app "+name+" deleted", func(ctx context.Context) error {
		err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, app)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there: finalizers %v (err %v)", app.Finalizers, err)
	})
}

// waitCondition waits until Application argocd/name has a condition of
// type typ whose message contains part, and returns the app.
func waitCondition(t *testing.T, c client.Client, name string, typ argov1.ApplicationConditionType, part string) *argov1.Application {
	t.Helper()
	var app argov1.Application
	eventually(t, 30*time.Second, name+" "+string(typ), func(ctx context.Context) error {
		if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: name}, &app); err != nil {
			return err
		}
		if !hasCondition(&app, typ, part) {
			return fmt.Errorf("conditions %+v; operation %s", app.Status.Conditions, operationSummary(app.Status.OperationState))
		}
		return nil
	})
	return &app
}
