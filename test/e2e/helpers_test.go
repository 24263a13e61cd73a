package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/internal/testenv"
)

// startTether runs `tether run` against the package's cluster.
func startTether(t *testing.T, args ...string) *testenv.Tether {
	t.Helper()
	return testenv.StartTether(t, cluster(t), args...)
}

// kubeClient returns a controller-runtime client that knows Tether's kinds.
func kubeClient(t *testing.T) client.Client {
	t.Helper()
	c, err := cluster(t).Client()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// eventually polls check every 250ms until it returns nil or timeout
// passes, then fails the test with the last error.
func eventually(t *testing.T, timeout time.Duration, what string, check func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last error
	for {
		if last = check(ctx); last == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not within %s: %v", what, timeout, last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// applyYAML server-side applies every document of doc.
func applyYAML(t *testing.T, doc string) []*unstructured.Unstructured {
	t.Helper()
	objs := mustObjects(t, doc)
	applier := newApplier(t)
	for _, o := range objs {
		if _, err := applier.Apply(context.Background(), o); err != nil {
			t.Fatalf("apply %s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}
	return objs
}

func mustObjects(t *testing.T, doc string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := readObjects(strings.TrimSpace(doc))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func newApplier(t *testing.T) *testenv.Applier {
	t.Helper()
	a, err := testenv.NewApplier(cluster(t).Config)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func readObjects(doc string) ([]*unstructured.Unstructured, error) {
	return testenv.ReadObjects([]byte(doc))
}

func readyMessage(conds []metav1.Condition) string {
	if c := apimeta.FindStatusCondition(conds, "Ready"); c != nil {
		return c.Message
	}
	return ""
}

func readyReason(conds []metav1.Condition) string {
	if c := apimeta.FindStatusCondition(conds, "Ready"); c != nil {
		return c.Reason
	}
	return ""
}

// waitGone waits until the object ns/name of obj's kind no longer exists.
func waitGone(t *testing.T, c client.Client, timeout time.Duration, what, ns, name string, obj client.Object) {
	t.Helper()
	eventually(t, timeout, what, func(ctx context.Context) error {
		err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, obj)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there (err %v)", err)
	})
}

// progressOf reads the sync progress events of app from tether's debug
// log, each as "<phase>/<wave> <action> <result> <object>" ("-" when the
// event concerns the whole sync).
func progressOf(logs, app string) []string {
	var out []string
	for line := range strings.SplitSeq(logs, "\n") {
		var e struct {
			Logger, App, Phase, Action, Result, Object string
			Wave                                       int
		}
		if json.Unmarshal([]byte(line), &e) != nil || e.Logger != "progress" || e.App != app {
			continue
		}
		if e.Object == "" {
			e.Object = "-"
		}
		out = append(out, fmt.Sprintf("%s/%d %s %s %s", e.Phase, e.Wave, e.Action, e.Result, e.Object))
	}
	return out
}

// inOrder checks that events holds want as a subsequence.
func inOrder(events []string, want ...string) error {
	i := 0
	for _, e := range events {
		if i < len(want) && e == want[i] {
			i++
		}
	}
	if i < len(want) {
		return fmt.Errorf("no %q after the earlier ones in:\n%s", want[i], strings.Join(events, "\n"))
	}
	return nil
}

// watchesEnded checks that a watch by user on env has ended: the audit log
// records a watch when it ends.
func watchesEnded(env *testenv.Env, user string) error {
	events, err := env.AuditEvents()
	if err != nil {
		return err
	}
	for _, e := range events {
		if e.Verb == "watch" && e.User.Username == user {
			return nil
		}
	}
	return fmt.Errorf("no watch of %s has ended", user)
}
