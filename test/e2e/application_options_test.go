package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
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

const deploymentYAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: %s
spec:
  replicas: 1
  selector: {matchLabels: {app: %s}}
  template:
    metadata: {labels: {app: %s}}
    spec: {containers: [{name: web, image: %s}]}
`

// TestApplicationOptions covers deletion, ignoreDifferences, sync options
// and the errors an app reports before anything is written.
func TestApplicationOptions(t *testing.T) {
	c := kubeClient(t)
	secret := "app-" + randomText(24)
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "sync-features")
	repo.Commit(t, "master", map[string]string{
		"fin/cm.yaml":       configMap("fin-cm", ""),
		"keep/cm.yaml":      configMap("keep-cm", ""),
		"ignore/dep.yaml":   fmt.Sprintf(deploymentYAML, "scaled", "scaled", "scaled", "nginx:1"),
		"ignore/cm.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: tuned\ndata:\n  volatile: \"a\"\n  level: \"1\"\n",
		"shared/cm.yaml":    configMap("shared-cm", ""),
		"opts/replace.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: replaced\n  annotations: {argocd.argoproj.io/sync-options: Replace=true}\ndata:\n  a: b\n",
		"opts/loose.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: loose\n  annotations: {argocd.argoproj.io/sync-options: Validate=false}\nunknownField: dropped\ndata:\n  a: b\n",
		"opts/kept.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept\n  annotations: {argocd.argoproj.io/sync-options: Prune=false}\ndata:\n  a: b\n",
		"opts/oos-a.yaml":   configMap("oos-a", ""),
		"opts/oos-b.yaml":   configMap("oos-b", ""),
		"opts/replace-dep.yaml": strings.Replace(fmt.Sprintf(deploymentYAML, "replaced-web", "replaced-web", "replaced-web", "nginx:1"),
			"  name: replaced-web\n", "  name: replaced-web\n  annotations: {argocd.argoproj.io/sync-options: Replace=true}\n", 1),
		"broken/ok.yaml":  configMap("never-applied", ""),
		"broken/bad.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: bad\nspec:\n  replicas: two\n  selector: {matchLabels: {app: bad}}\n  template:\n    metadata: {labels: {app: bad}}\n    spec: {containers: [{name: c, image: nginx}]}\n",
		"secret/s.yaml":   "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: " + secret + "\n",
		"secret/bad.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: bad-svc\nspec:\n  ports: [{port: not-a-number}]\n",
	}, "options")
	tether := startTether(t, "--url-rewrite", "https://git.example.com/sync-features.git="+repo.URL,
		"--git-resolve-ttl", "1s", "--app-resync-period", "2s")
	apps := []string{"fin", "keep", "ignore", "shared-a", "shared-b", "shared-c", "opts", "broken", "secret", "elsewhere", "no-project", "escape", "multi", "nsmeta"}
	t.Cleanup(func() {
		for _, a := range apps {
			deleteApp(t, c, "argocd", a)
		}
	})
	in := func(ns string) func(ctx context.Context, name string, obj client.Object) error {
		return func(ctx context.Context, name string, obj client.Object) error {
			return c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, obj)
		}
	}

	t.Run("the resources finalizer deletes the app's objects; without it they stay", func(t *testing.T) {
		applyYAML(t, strings.Replace(appYAML("fin", "fin", "fin", automatedSync), "  namespace: argocd\n",
			"  namespace: argocd\n  finalizers: [resources-finalizer.argocd.argoproj.io]\n", 1))
		applyYAML(t, appYAML("keep", "keep", "keep", automatedSync))
		waitApp(t, c, "argocd", "fin", "", "Synced", "Healthy", 60*time.Second)
		waitApp(t, c, "argocd", "keep", "", "Synced", "Healthy", 60*time.Second)
		deleteApp(t, c, "argocd", "fin")
		deleteApp(t, c, "argocd", "keep")
		if err := in("fin")(context.Background(), "fin-cm", &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
			t.Errorf("fin-cm still there after deleting its app with the finalizer: %v", err)
		}
		if err := in("keep")(context.Background(), "keep-cm", &corev1.ConfigMap{}); err != nil {
			t.Errorf("keep-cm gone after deleting its app without the finalizer: %v", err)
		}
	})

	t.Run("ignoreDifferences: pointers, jq and managers; RespectIgnoreDifferences keeps live values", func(t *testing.T) {
		applyYAML(t, appYAML("ignore", "ignore", "ignore", `  ignoreDifferences:
  - {group: apps, kind: Deployment, jsonPointers: [/spec/replicas]}
  - {kind: ConfigMap, name: tuned, jqPathExpressions: [.data.volatile]}
  - {kind: ConfigMap, name: tuned, managedFieldsManagers: [e2e-scaler]}
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true, RespectIgnoreDifferences=true]
`))
		waitApp(t, c, "argocd", "ignore", "", "Synced", "Healthy", 60*time.Second)
		get := in("ignore")
		var dep appsv1.Deployment
		if err := get(context.Background(), "scaled", &dep); err != nil {
			t.Fatal(err)
		}
		patch := client.MergeFrom(dep.DeepCopy())
		three := int32(3)
		dep.Spec.Replicas = &three
		if err := c.Patch(context.Background(), &dep, patch); err != nil {
			t.Fatal(err)
		}
		var cm corev1.ConfigMap
		if err := get(context.Background(), "tuned", &cm); err != nil {
			t.Fatal(err)
		}
		cmPatch := client.MergeFrom(cm.DeepCopy())
		cm.Data["volatile"], cm.Data["level"] = "changed", "9"
		if err := c.Patch(context.Background(), &cm, cmPatch, client.FieldOwner("e2e-scaler")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(4 * time.Second)
		waitApp(t, c, "argocd", "ignore", "", "Synced", "Healthy", 5*time.Second)
		if err := get(context.Background(), "scaled", &dep); err != nil || *dep.Spec.Replicas != 3 {
			t.Errorf("replicas %d (err %v): an ignored field was put back", *dep.Spec.Replicas, err)
		}
		if err := get(context.Background(), "tuned", &cm); err != nil || cm.Data["volatile"] != "changed" || cm.Data["level"] != "9" {
			t.Errorf("ConfigMap data %v (err %v): ignored fields were put back", cm.Data, err)
		}
		next := repo.Commit(t, "master", map[string]string{"ignore/dep.yaml": fmt.Sprintf(deploymentYAML, "scaled", "scaled", "scaled", "nginx:2")}, "new image")
		waitApp(t, c, "argocd", "ignore", next, "Synced", "Healthy", 30*time.Second)
		if err := get(context.Background(), "scaled", &dep); err != nil || *dep.Spec.Replicas != 3 || dep.Spec.Template.Spec.Containers[0].Image != "nginx:2" {
			t.Errorf("after a sync with RespectIgnoreDifferences: replicas %d image %s (err %v), want 3 and nginx:2",
				*dep.Spec.Replicas, dep.Spec.Template.Spec.Containers[0].Image, err)
		}
		if err := get(context.Background(), "tuned", &cm); err != nil || cm.Data["volatile"] != "changed" || cm.Data["level"] != "9" {
			t.Errorf("after a sync with RespectIgnoreDifferences: ConfigMap data %v (err %v), want the live values kept", cm.Data, err)
		}
	})

	t.Run("FailOnSharedResource fails the sync of a second app claiming an object", func(t *testing.T) {
		applyYAML(t, appYAML("shared-a", "shared", "shared", automatedSync))
		waitApp(t, c, "argocd", "shared-a", "", "Synced", "Healthy", 60*time.Second)
		applyYAML(t, appYAML("shared-b", "shared", "shared", `  syncPolicy:
    automated: {prune: true}
    syncOptions: [FailOnSharedResource=true]
`))
		var app argov1.Application
		eventually(t, 30*time.Second, "shared-b sync failed", func(ctx context.Context) error {
			if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: "shared-b"}, &app); err != nil {
				return err
			}
			if st := app.Status.OperationState; st == nil || st.Phase != argov1.OperationFailed {
				return fmt.Errorf("%s", operationSummary(st))
			}
			return nil
		})
		if msg := app.Status.OperationState.Message; !strings.Contains(msg, "shared-a") {
			t.Errorf("message %q does not name the other app", msg)
		}
		if !hasCondition(&app, argov1.ApplicationConditionSharedResourceWarning, "shared-a") {
			t.Errorf("no SharedResourceWarning: %+v", app.Status.Conditions)
		}
		var cm corev1.ConfigMap
		if err := in("shared")(context.Background(), "shared-cm", &cm); err != nil || !strings.HasPrefix(cm.Annotations[argov1.AnnotationKeyTrackingID], "shared-a:") {
			t.Errorf("shared-cm tracking %q (err %v), want still shared-a's", cm.Annotations[argov1.AnnotationKeyTrackingID], err)
		}
	})

	t.Run("two automated apps claiming one object: the second reports the owner, neither flaps", func(t *testing.T) {
		owner := waitApp(t, c, "argocd", "shared-a", "", "Synced", "Healthy", 30*time.Second)
		history := len(owner.Status.History)
		writes := func() int { return countWrites(t, "tether", "/namespaces/shared/configmaps/shared-cm") }
		before := writes()
		applyYAML(t, appYAML("shared-c", "shared", "shared", automatedSync)) // selfHeal, no FailOnSharedResource
		var app argov1.Application
		eventually(t, 30*time.Second, "shared-c sync failed", func(ctx context.Context) error {
			if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: "shared-c"}, &app); err != nil {
				return err
			}
			if st := app.Status.OperationState; st == nil || st.Phase != argov1.OperationFailed {
				return fmt.Errorf("%s", operationSummary(st))
			}
			return nil
		})
		if msg := app.Status.OperationState.Message; !strings.Contains(msg, "ConfigMap/shared-cm is already part of another application shared-a") {
			t.Errorf("message %q does not name the object and its owner", msg)
		}
		started := app.Status.OperationState.StartedAt
		// Both apps keep being compared every 2 s: nothing is written, the
		// owner stays Synced, and shared-c does not try again.
		time.Sleep(8 * time.Second)
		owner = waitApp(t, c, "argocd", "shared-a", "", "Synced", "Healthy", 5*time.Second)
		if len(owner.Status.History) != history {
			t.Errorf("shared-a synced again (%d history entries, was %d): the apps flap", len(owner.Status.History), history)
		}
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: "argocd", Name: "shared-c"}, &app); err != nil {
			t.Fatal(err)
		}
		if st := app.Status.OperationState; st.Phase != argov1.OperationFailed || !st.StartedAt.Equal(&started) {
			t.Errorf("shared-c's operation %s started %s, want the one failed attempt of %s", st.Phase, st.StartedAt, started)
		}
		if n := writes(); n != before {
			t.Errorf("shared-cm written %d times while two apps claimed it, want 0", n-before)
		}
		var cm corev1.ConfigMap
		if err := in("shared")(context.Background(), "shared-cm", &cm); err != nil || !strings.HasPrefix(cm.Annotations[argov1.AnnotationKeyTrackingID], "shared-a:") {
			t.Errorf("shared-cm tracking %q (err %v), want still shared-a's", cm.Annotations[argov1.AnnotationKeyTrackingID], err)
		}
	})

	t.Run("per-object Replace, Validate=false and Prune=false; ApplyOutOfSyncOnly", func(t *testing.T) {
		applyYAML(t, appYAML("opts", "opts", "opts", `  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true, ApplyOutOfSyncOnly=true]
`))
		waitApp(t, c, "argocd", "opts", "", "Synced", "Healthy", 60*time.Second)
		get := in("opts")
		var replaced corev1.ConfigMap
		if err := get(context.Background(), "replaced", &replaced); err != nil {
			t.Fatal(err)
		}
		for _, mf := range replaced.ManagedFields {
			if mf.Manager == "argocd-controller" && mf.Operation != "Update" {
				t.Errorf("Replace=true object written by %s %s, want a create/update", mf.Manager, mf.Operation)
			}
		}
		if err := get(context.Background(), "loose", &corev1.ConfigMap{}); err != nil {
			t.Errorf("Validate=false object with an unknown field not applied: %v", err)
		}
		// A replaced Deployment gains annotations from its controller; that
		// is not drift, so the app stays Synced and nothing is synced again.
		app := waitApp(t, c, "argocd", "opts", "", "Synced", "Healthy", 20*time.Second)
		history := len(app.Status.History)
		time.Sleep(5 * time.Second)
		app = waitApp(t, c, "argocd", "opts", "", "Synced", "Healthy", 5*time.Second)
		if len(app.Status.History) != history {
			t.Errorf("history grew from %d to %d with nothing changed: a replaced object is synced again and again", history, len(app.Status.History))
		}
		var a corev1.ConfigMap
		if err := get(context.Background(), "oos-a", &a); err != nil {
			t.Fatal(err)
		}
		patches := func(name string) int { return countWrites(t, "tether", "/namespaces/opts/configmaps/"+name) }
		beforeA, beforeB := patches("oos-a"), patches("oos-b")
		p := client.MergeFrom(a.DeepCopy())
		a.Data["a"] = "drifted"
		if err := c.Patch(context.Background(), &a, p); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, "oos-a put back", func(ctx context.Context) error {
			if err := get(ctx, "oos-a", &a); err != nil || a.Data["a"] != "b" {
				var app argov1.Application
				_ = c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: "opts"}, &app)
				return fmt.Errorf("data %v (err %v); app: operation %s, conditions %+v", a.Data, err, operationSummary(app.Status.OperationState), app.Status.Conditions)
			}
			return nil
		})
		if patches("oos-a") == beforeA || patches("oos-b") != beforeB {
			t.Errorf("writes during self-heal: oos-a %d, oos-b %d; want only the out-of-sync oos-a written",
				patches("oos-a")-beforeA, patches("oos-b")-beforeB)
		}
		next := repo.Commit(t, "master", map[string]string{"opts/kept.yaml": ""}, "drop kept")
		app = waitApp(t, c, "argocd", "opts", next, "OutOfSync", "Healthy", 30*time.Second)
		if err := get(context.Background(), "kept", &corev1.ConfigMap{}); err != nil {
			t.Errorf("Prune=false object deleted: %v", err)
		}
		found := false
		for _, r := range app.Status.Resources {
			found = found || (r.Name == "kept" && r.RequiresPruning && r.Status == argov1.SyncStatusCodeOutOfSync)
		}
		if !found {
			t.Errorf("resources %+v: want kept listed as OutOfSync, requiresPruning", app.Status.Resources)
		}
	})

	t.Run("an invalid object fails the comparison naming the file; nothing is applied", func(t *testing.T) {
		applyYAML(t, appYAML("broken", "broken", "broken", automatedSync))
		app := waitCondition(t, c, "broken", argov1.ApplicationConditionComparisonError, "broken/bad.yaml")
		if app.Status.Sync.Status != argov1.SyncStatusCodeOutOfSync {
			t.Errorf("sync status %s, want OutOfSync", app.Status.Sync.Status)
		}
		if err := in("broken")(context.Background(), "never-applied", &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
			t.Errorf("an object of the invalid revision was applied: %v", err)
		}
	})

	t.Run("CreateNamespace with managedNamespaceMetadata labels the namespace", func(t *testing.T) {
		applyYAML(t, appYAML("nsmeta", "keep", "nsmeta", `  syncPolicy:
    automated: {prune: true}
    syncOptions: [CreateNamespace=true]
    managedNamespaceMetadata:
      labels: {team: blue}
      annotations: {owner: platform}
`))
		waitApp(t, c, "argocd", "nsmeta", "", "Synced", "Healthy", 60*time.Second)
		var ns corev1.Namespace
		if err := c.Get(context.Background(), types.NamespacedName{Name: "nsmeta"}, &ns); err != nil {
			t.Fatal(err)
		}
		if ns.Labels["team"] != "blue" || ns.Annotations["owner"] != "platform" {
			t.Errorf("namespace labels %v annotations %v", ns.Labels, ns.Annotations)
		}
	})

	t.Run("several sources are rendered together", func(t *testing.T) {
		applyYAML(t, `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: multi, namespace: argocd}
spec:
  project: default
  sources:
  - {repoURL: "https://git.example.com/sync-features.git", targetRevision: HEAD, path: fin}
  - {repoURL: "https://git.example.com/sync-features.git", targetRevision: master, path: keep}
  - {repoURL: "https://git.example.com/sync-features.git", targetRevision: HEAD, ref: values}
  destination: {server: "https://kubernetes.default.svc", namespace: multi}
`+automatedSync)
		app := waitApp(t, c, "argocd", "multi", "", "Synced", "Healthy", 60*time.Second)
		for _, name := range []string{"fin-cm", "keep-cm"} {
			if err := in("multi")(context.Background(), name, &corev1.ConfigMap{}); err != nil {
				t.Errorf("%s of one of the sources: %v", name, err)
			}
		}
		if len(app.Status.Sync.Revisions) != 3 || len(app.Status.Resources) != 2 {
			t.Errorf("revisions %v, resources %+v: want one revision per source and the two ConfigMaps", app.Status.Sync.Revisions, app.Status.Resources)
		}
	})

	t.Run("a path outside the repository is refused (CVE-2022-36035)", func(t *testing.T) {
		applyYAML(t, appYAML("escape", "../../fin", "fin", automatedSync))
		eventually(t, 30*time.Second, "ComparisonError", func(ctx context.Context) error {
			var a argov1.Application
			if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: "escape"}, &a); err != nil {
				return err
			}
			if !hasCondition(&a, argov1.ApplicationConditionComparisonError, `path "../../fin"`) || a.Status.Sync.Status != argov1.SyncStatusCodeUnknown {
				return fmt.Errorf("sync %s, conditions %+v", a.Status.Sync.Status, a.Status.Conditions)
			}
			return nil
		})
	})

	t.Run("an unknown cluster or project is an InvalidSpecError", func(t *testing.T) {
		applyYAML(t, strings.Replace(appYAML("elsewhere", "fin", "fin", automatedSync), "https://kubernetes.default.svc", "https://nowhere.example.com", 1))
		applyYAML(t, strings.Replace(appYAML("no-project", "fin", "fin", automatedSync), "project: default", "project: nope", 1))
		for app, want := range map[string]string{"elsewhere": "https://nowhere.example.com", "no-project": "Application referencing project nope which does not exist"} {
			waitCondition(t, c, app, argov1.ApplicationConditionInvalidSpecError, want)
		}
	})

	t.Run("a Secret's value never appears in status, events or logs", func(t *testing.T) {
		applyYAML(t, appYAML("secret", "secret", "secret-app", automatedSync))
		var app argov1.Application
		eventually(t, 30*time.Second, "sync failed", func(ctx context.Context) error {
			if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: "secret"}, &app); err != nil {
				return err
			}
			if st := app.Status.OperationState; st == nil || st.Phase != argov1.OperationFailed {
				return fmt.Errorf("%s", operationSummary(st))
			}
			return nil
		})
		status, _ := json.Marshal(app.Status)
		var events corev1.EventList
		if err := c.List(context.Background(), &events, client.InNamespace("argocd")); err != nil {
			t.Fatal(err)
		}
		eventText, _ := json.Marshal(events.Items)
		for _, s := range []string{secret, base64.StdEncoding.EncodeToString([]byte(secret))} {
			for where, text := range map[string]string{"status": string(status), "events": string(eventText), "logs": tether.Logs.String()} {
				if strings.Contains(text, s) {
					t.Errorf("the Secret's value appears in %s", where)
				}
			}
		}
		if len(events.Items) == 0 || !strings.Contains(string(status), "bad-svc") {
			t.Errorf("no events, or status does not name the bad Service; the check proves nothing: %s", status)
		}
	})
}

func hasCondition(app *argov1.Application, typ argov1.ApplicationConditionType, part string) bool {
	for _, c := range app.Status.Conditions {
		if c.Type == typ && strings.Contains(c.Message, part) {
			return true
		}
	}
	return false
}
