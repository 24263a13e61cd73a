package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// fluxDiff is the answer of GET /api/v1/flux/kustomizations/.../diff.
type fluxDiff struct {
	Revision string
	Items    []struct {
		Kind, Namespace, Name, Action string
		LiveState, PredictedLiveState string
	}
}

// TestAPIKustomizationDiff: the diff of a Kustomization says what
// reconciling it now would do, from its source's current revision and a
// dry run against the cluster, without doing it: a ConfigMap changed by
// hand is "configured" with both states, a new file "created", a removed
// one "deleted" (the Kustomization prunes), a Secret's values never
// shown; the cluster is left as it was.
func TestAPIKustomizationDiff(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	apiFixture(t, c)
	const ns = "api-diff"
	const first, second = "first-SECRET-value", "second-SECRET-value"
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "api-diff")
	configMap := func(name, color string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  color: %s\n", name, color)
	}
	secret := func(value string) string {
		return "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: " + value + "\n"
	}
	repo.Commit(t, "main", map[string]string{
		"app/kept.yaml": configMap("kept", "blue"), "app/gone.yaml": configMap("gone", "green"), "app/secret.yaml": secret(first),
	}, "first")
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); client.IgnoreAlreadyExists(err) != nil {
		t.Fatal(err)
	}
	tether := startTether(t, "--git-resolve-ttl", "1s") // stopped after the cleanup below
	applyYAML(t, fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: api-diff, namespace: %[1]s}
spec:
  interval: 1h
  url: %[2]s
  ref: {branch: main}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: api-diff, namespace: %[1]s}
spec:
  interval: 1h
  path: ./app
  prune: true
  targetNamespace: %[1]s
  sourceRef: {kind: GitRepository, name: api-diff}
`, ns, repo.URL))
	t.Cleanup(func() {
		ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "api-diff"}}
		_ = c.Delete(ctx, ks)
		waitGone(t, c, time.Minute, "Kustomization api-diff", ns, "api-diff", ks)
	})
	waitKustomization(t, c, ns, "api-diff", "True", 2*time.Minute)
	api, admin := adminSession(t, c, tether)
	carol := api.login("carol", "carol-password")
	path := "/api/v1/flux/kustomizations/" + ns + "/api-diff/diff"
	diff := func(who string) (fluxDiff, string) {
		t.Helper()
		body := api.expect("GET", path, who, nil, http.StatusOK)
		for _, v := range []string{first, second} {
			if strings.Contains(string(body), v) {
				t.Errorf("the diff shows a Secret value: %s", body)
			}
		}
		var d fluxDiff
		if err := json.Unmarshal(body, &d); err != nil {
			t.Fatal(err)
		}
		actions := map[string]string{}
		for _, it := range d.Items {
			actions[it.Kind+"/"+it.Name] = it.Action
		}
		return d, fmt.Sprint(actions)
	}

	if _, got := diff(carol); got != "map[ConfigMap/gone:unchanged ConfigMap/kept:unchanged Secret/db:unchanged]" {
		t.Errorf("in sync, as role:readonly: %s", got)
	}

	// Held still: suspended, changed by hand and in Git.
	api.expect("POST", "/api/v1/flux/kustomizations/"+ns+"/api-diff/suspend", admin, nil, http.StatusOK)
	eventually(t, 10*time.Second, "suspended", func(ctx context.Context) error {
		var ks kustomizev1.Kustomization
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "api-diff"}, &ks); err != nil || !ks.Spec.Suspend {
			return fmt.Errorf("not suspended (%v)", err)
		}
		return nil
	})
	kept := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "kept"}}
	if err := c.Patch(ctx, kept, client.RawPatch("application/merge-patch+json", []byte(`{"data":{"color":"red"}}`)), client.FieldOwner("someone")); err != nil {
		t.Fatal(err)
	}
	head := repo.Commit(t, "main", map[string]string{
		"app/gone.yaml": "", "app/new.yaml": configMap("new", "yellow"), "app/secret.yaml": secret(second),
	}, "second")
	requestGitReconcileIn(t, c, ns, "api-diff")
	eventually(t, time.Minute, "the GitRepository at the second commit", func(ctx context.Context) error {
		repo, err := getRepo(ctx, c, ns, "api-diff")
		if err != nil || repo.Status.Artifact == nil || !strings.HasSuffix(repo.Status.Artifact.Revision, head) {
			return fmt.Errorf("not yet (%v)", err)
		}
		return nil
	})

	d, got := diff(admin)
	if want := "map[ConfigMap/gone:deleted ConfigMap/kept:configured ConfigMap/new:created Secret/db:configured]"; got != want {
		t.Errorf("after the changes: %s, want %s", got, want)
	}
	if !strings.HasSuffix(d.Revision, head) {
		t.Errorf("revision %q, want the second commit %s", d.Revision, head)
	}
	for _, it := range d.Items {
		if it.Name == "kept" && (!strings.Contains(it.LiveState, `"color":"red"`) || !strings.Contains(it.PredictedLiveState, `"color":"blue"`)) {
			t.Errorf("kept: live %s, predicted %s; want red, then blue", it.LiveState, it.PredictedLiveState)
		}
	}

	// Nothing was done: the hand's change stays, new is not made, gone stays.
	if err := c.Get(ctx, client.ObjectKeyFromObject(kept), kept); err != nil || kept.Data["color"] != "red" {
		t.Errorf("kept after the diff: %v (%v), want red", kept.Data, err)
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "new"}, &corev1.ConfigMap{}); err == nil {
		t.Error("the diff created ConfigMap new")
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "gone"}, &corev1.ConfigMap{}); err != nil {
		t.Errorf("the diff deleted ConfigMap gone: %v", err)
	}
}
