package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"

	"github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// appState is what the demo reports of the Application.
type appState struct {
	found      bool
	sync       string
	revision   string // of status.sync, shortened
	health     string
	phase      string // of status.operationState
	conditions string // "Type: message; ..."
}

func stateOf(app *v1alpha1.Application) appState {
	s := appState{found: true, sync: string(app.Status.Sync.Status), health: string(app.Status.Health.Status)}
	if s.revision = app.Status.Sync.Revision; len(s.revision) > 7 {
		s.revision = s.revision[:7]
	}
	if op := app.Status.OperationState; op != nil {
		s.phase = string(op.Phase)
	}
	var conds []string
	for _, c := range app.Status.Conditions {
		conds = append(conds, fmt.Sprintf("%s: %s", c.Type, c.Message))
	}
	s.conditions = strings.Join(conds, "; ")
	return s
}

// ready reports whether the Application is Synced and Healthy.
func (s appState) ready() bool {
	return s.sync == string(v1alpha1.SyncStatusCodeSynced) && s.health == string(v1alpha1.HealthStatusHealthy)
}

func (s appState) String() string {
	switch {
	case !s.found:
		return "not found"
	case s == appState{found: true}:
		return "no status yet"
	}
	line := fmt.Sprintf("sync=%s health=%s operation=%s", orNone(s.sync), orNone(s.health), orNone(s.phase))
	if s.revision != "" {
		line += " revision=" + s.revision
	}
	if s.conditions != "" {
		line += " conditions: " + s.conditions
	}
	return line
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

var appGVR = v1alpha1.GroupVersion.WithResource("applications")

// watchApp sends the Application's state when the demo starts watching and
// on every change, until ctx ends. A broken watch is listed and watched
// again.
func watchApp(ctx context.Context, dyn dynamic.Interface, states chan<- appState) {
	apps := dyn.Resource(appGVR).Namespace(appNamespace)
	opts := metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", appName).String()}
	for ctx.Err() == nil {
		list, err := apps.List(ctx, opts)
		if err != nil {
			sleep(ctx, time.Second)
			continue
		}
		state := appState{}
		if len(list.Items) > 0 {
			state = decode(&list.Items[0])
		}
		send(ctx, states, state)
		w, err := apps.Watch(ctx, metav1.ListOptions{FieldSelector: opts.FieldSelector, ResourceVersion: list.GetResourceVersion()})
		if err != nil {
			sleep(ctx, time.Second)
			continue
		}
		forward(ctx, w, states)
		w.Stop()
	}
}

// forward sends the state of every event until the watch ends or breaks.
func forward(ctx context.Context, w watch.Interface, states chan<- appState) {
	for ev := range w.ResultChan() {
		switch ev.Type {
		case watch.Added, watch.Modified:
			if u, ok := ev.Object.(*unstructured.Unstructured); ok {
				send(ctx, states, decode(u))
			}
		case watch.Deleted:
			send(ctx, states, appState{})
		case watch.Error:
			return
		}
	}
}

func decode(u *unstructured.Unstructured) appState {
	var app v1alpha1.Application
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &app); err != nil {
		return appState{found: true, conditions: "demo: cannot read the status: " + err.Error()}
	}
	return stateOf(&app)
}

func send(ctx context.Context, states chan<- appState, s appState) {
	select {
	case states <- s:
	case <-ctx.Done():
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

// follow prints each change of the Application's state. With -once it
// returns nil when the Application is Synced and Healthy and an error
// with the reason when it is not within -timeout; otherwise it says how to
// look around and goes on until ctx ends. It fails when Tether exits.
func (d *demo) follow(ctx context.Context) error {
	dyn, err := dynamic.NewForConfig(d.env.Config)
	if err != nil {
		return err
	}
	watchCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	states := make(chan appState)
	go watchApp(watchCtx, dyn, states)
	d.say("watching Application %s/%s (sync, health, operation, conditions)", appNamespace, appName)

	timeout := time.NewTimer(d.cfg.timeout)
	defer timeout.Stop()
	var last appState
	seen, announced := false, false
	for {
		select {
		case <-ctx.Done():
			if d.cfg.once {
				return errors.New("interrupted before the Application was Synced and Healthy")
			}
			return nil
		case <-d.tether.done:
			return fmt.Errorf("tether run exited (%v); last lines of %s:\n%s", d.tether.err, d.rel(d.logPath()), d.logTail(20))
		case <-timeout.C:
			if announced {
				continue
			}
			if d.cfg.once {
				return d.notReady(last)
			}
			d.say("still not Synced and Healthy after %s: see %s", d.cfg.timeout, d.rel(d.logPath()))
		case s := <-states:
			if !seen || s != last {
				d.say("%s/%s: %s", appNamespace, appName, s)
			}
			seen, last = true, s
			if s.ready() && !announced {
				if d.cfg.once {
					d.say("%s/%s is Synced and Healthy", appNamespace, appName)
					return nil
				}
				announced = true
				d.lookAround()
			}
		}
	}
}

// notReady is the error of -once when the Application is not Synced and
// Healthy in time: its last state, conditions and Tether's last log lines.
func (d *demo) notReady(last appState) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Application %s/%s is not Synced and Healthy after %s\n", appNamespace, appName, d.cfg.timeout)
	fmt.Fprintf(&b, "  last status: %s\n", last)
	if last == (appState{found: true}) {
		b.WriteString("  (nothing has written its status: is Tether's Application controller running in `tether run`?)\n")
	}
	conditions := last.conditions
	if conditions == "" {
		conditions = "none"
	}
	fmt.Fprintf(&b, "  conditions: %s\n", conditions)
	fmt.Fprintf(&b, "last lines of %s:\n%s", d.rel(d.logPath()), d.logTail(20))
	return errors.New(b.String())
}

// lookAround tells the person what to try while the demo runs.
func (d *demo) lookAround() {
	kubectl := ""
	if _, err := exec.LookPath("kubectl"); err != nil {
		kubectl = "\n  (kubectl is not on your PATH: install any recent kubectl to follow along)\n"
	}
	fmt.Fprintf(d.out, `
Application %[1]s/%[2]s is Synced and Healthy. Look around from another terminal:%[3]s

  export KUBECONFIG=%[4]s
  kubectl get applications -n %[1]s
  kubectl -n %[5]s get deploy,svc
  kubectl -n %[1]s get application %[2]s -o yaml

Self-heal: change the cluster, and Tether puts back what Git says within
seconds (the replicas return to 1):

  kubectl -n %[5]s scale deploy guestbook-ui --replicas=3
  kubectl -n %[5]s get deploy guestbook-ui

Or change Git. The Application's repository,
https://github.com/argoproj/argocd-example-apps.git, is served through the
URL rewrite from %[6]s
(made from %[7]s), which takes pushes:

  git clone %[6]s /tmp/guestbook && cd /tmp/guestbook
  # edit guestbook/guestbook-ui-deployment.yaml (replicas: 2), then
  git commit -am "change the guestbook" && git push
  # Tether looks at Git every 3 minutes; to make it look now:
  kubectl -n %[1]s annotate application %[2]s argocd.argoproj.io/refresh=normal

Open the web UI at %[9]s/ (a self-signed certificate: accept it) and log
in as admin with the generated password:

  PASS=$(kubectl -n %[1]s get secret argocd-initial-admin-secret -o jsonpath='{.data.password}' | base64 -d); echo "$PASS"

Or use Tether's CLI (the same binary, %[10]s; also as argocd or flux
through a link), logged in to its API server at %[9]s as admin:

  %[10]s login %[9]s --username admin --password "$PASS" --insecure
  %[10]s app get %[2]s
  %[10]s app diff %[2]s
  %[10]s app sync %[2]s --prune && %[10]s app wait %[2]s --health --timeout 120
  %[10]s app history %[2]s

or its REST API (Argo CD's shapes) directly:

  TOKEN=$(curl -sk %[9]s/api/v1/session -d "{\"username\":\"admin\",\"password\":\"$PASS\"}" | sed 's/.*"token":"\([^"]*\)".*/\1/')
  curl -sk -H "Authorization: Bearer $TOKEN" %[9]s/api/v1/applications/%[2]s

Tether's logs are in %[8]s.
Press Ctrl-C to stop Tether, the Git server and the cluster.

`, appNamespace, appName, kubectl, d.kubeconfig, destNamespace, d.repoURL, exampleRepo, d.rel(d.logPath()), d.apiURL, d.rel(d.cfg.tether))
}
