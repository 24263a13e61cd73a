package helmrelease

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	chart "helm.sh/helm/v4/pkg/chart/v2"
	release "helm.sh/helm/v4/pkg/release/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	"github.com/tether-gitops/tether/api/meta"
	"github.com/tether-gitops/tether/internal/conditions"
	"github.com/tether-gitops/tether/internal/helm"
)

func ptr[T any](v T) *T { return &v }

// hrWith returns a HelmRelease with the given install and upgrade
// remediation and failure counts.
func hrWith(install *helmv2.InstallRemediation, upgrade *helmv2.UpgradeRemediation, installFailures, upgradeFailures int64) *helmv2.HelmRelease {
	obj := &helmv2.HelmRelease{}
	obj.Spec.Install = &helmv2.Install{Remediation: install}
	obj.Spec.Upgrade = &helmv2.Upgrade{Remediation: upgrade}
	obj.Status.InstallFailures = installFailures
	obj.Status.UpgradeFailures = upgradeFailures
	return obj
}

func TestRemediationExhausted(t *testing.T) {
	tests := []struct {
		name     string
		action   helmv2.ReleaseAction
		install  *helmv2.InstallRemediation
		upgrade  *helmv2.UpgradeRemediation
		ifail    int64
		ufail    int64
		nilSpecs bool
		want     bool
	}{
		{name: "upgrade retries 3, no failure", action: helmv2.ReleaseActionUpgrade, upgrade: &helmv2.UpgradeRemediation{Retries: 3}, ufail: 0, want: false},
		{name: "upgrade retries 3, 3 failures", action: helmv2.ReleaseActionUpgrade, upgrade: &helmv2.UpgradeRemediation{Retries: 3}, ufail: 3, want: false},
		{name: "upgrade retries 3, 4 failures", action: helmv2.ReleaseActionUpgrade, upgrade: &helmv2.UpgradeRemediation{Retries: 3}, ufail: 4, want: true},
		{name: "upgrade retries -1 never run out", action: helmv2.ReleaseActionUpgrade, upgrade: &helmv2.UpgradeRemediation{Retries: -1}, ufail: 1000, want: false},
		{name: "upgrade retries 0, no failure", action: helmv2.ReleaseActionUpgrade, upgrade: &helmv2.UpgradeRemediation{}, ufail: 0, want: false},
		{name: "upgrade retries 0, 1 failure", action: helmv2.ReleaseActionUpgrade, upgrade: &helmv2.UpgradeRemediation{}, ufail: 1, want: true},
		{name: "upgrade without remediation, 1 failure", action: helmv2.ReleaseActionUpgrade, ufail: 1, want: true},
		{name: "no install or upgrade spec, 1 failure", action: helmv2.ReleaseActionUpgrade, ufail: 1, nilSpecs: true, want: true},
		{name: "install retries 3, 3 failures", action: helmv2.ReleaseActionInstall, install: &helmv2.InstallRemediation{Retries: 3}, ifail: 3, want: false},
		{name: "install retries 3, 4 failures", action: helmv2.ReleaseActionInstall, install: &helmv2.InstallRemediation{Retries: 3}, ifail: 4, want: true},
		{name: "install retries -1", action: helmv2.ReleaseActionInstall, install: &helmv2.InstallRemediation{Retries: -1}, ifail: 50, want: false},
		{name: "install counts install failures only", action: helmv2.ReleaseActionInstall, install: &helmv2.InstallRemediation{Retries: 1}, ufail: 5, want: false},
		{name: "upgrade counts upgrade failures only", action: helmv2.ReleaseActionUpgrade, upgrade: &helmv2.UpgradeRemediation{Retries: 1}, ifail: 5, want: false},
		{name: "install uses install retries", action: helmv2.ReleaseActionInstall, install: &helmv2.InstallRemediation{Retries: 0}, upgrade: &helmv2.UpgradeRemediation{Retries: 5}, ifail: 1, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := hrWith(tt.install, tt.upgrade, tt.ifail, tt.ufail)
			if tt.nilSpecs {
				obj.Spec.Install, obj.Spec.Upgrade = nil, nil
			}
			if got := remediationOf(obj, tt.action).exhausted(obj); got != tt.want {
				t.Errorf("exhausted = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRemediateLastFailure(t *testing.T) {
	tests := []struct {
		name    string
		action  helmv2.ReleaseAction
		install *helmv2.InstallRemediation
		upgrade *helmv2.UpgradeRemediation
		want    bool
	}{
		{name: "install default", action: helmv2.ReleaseActionInstall, want: false},
		{name: "install default with retries", action: helmv2.ReleaseActionInstall, install: &helmv2.InstallRemediation{Retries: 3}, want: false},
		{name: "install set", action: helmv2.ReleaseActionInstall, install: &helmv2.InstallRemediation{RemediateLastFailure: ptr(true)}, want: true},
		{name: "upgrade default without retries", action: helmv2.ReleaseActionUpgrade, want: false},
		{name: "upgrade default with retries", action: helmv2.ReleaseActionUpgrade, upgrade: &helmv2.UpgradeRemediation{Retries: 3}, want: true},
		{name: "upgrade default with unlimited retries", action: helmv2.ReleaseActionUpgrade, upgrade: &helmv2.UpgradeRemediation{Retries: -1}, want: false},
		{name: "upgrade turned off with retries", action: helmv2.ReleaseActionUpgrade, upgrade: &helmv2.UpgradeRemediation{Retries: 3, RemediateLastFailure: ptr(false)}, want: false},
		{name: "upgrade turned on without retries", action: helmv2.ReleaseActionUpgrade, upgrade: &helmv2.UpgradeRemediation{RemediateLastFailure: ptr(true)}, want: true},
		{name: "install ignores the upgrade setting", action: helmv2.ReleaseActionInstall, upgrade: &helmv2.UpgradeRemediation{RemediateLastFailure: ptr(true)}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := hrWith(tt.install, tt.upgrade, 0, 0)
			if got := remediationOf(obj, tt.action).remediateLastFailure(obj); got != tt.want {
				t.Errorf("remediateLastFailure = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRemediationStrategy(t *testing.T) {
	uninstall, rollback := helmv2.UninstallRemediationStrategy, helmv2.RollbackRemediationStrategy
	tests := []struct {
		name    string
		action  helmv2.ReleaseAction
		upgrade *helmv2.UpgradeRemediation
		want    helmv2.RemediationStrategy
	}{
		{name: "install", action: helmv2.ReleaseActionInstall, want: uninstall},
		{name: "install even when upgrades roll back", action: helmv2.ReleaseActionInstall, upgrade: &helmv2.UpgradeRemediation{Strategy: ptr(rollback)}, want: uninstall},
		{name: "upgrade default", action: helmv2.ReleaseActionUpgrade, want: rollback},
		{name: "upgrade default with a remediation", action: helmv2.ReleaseActionUpgrade, upgrade: &helmv2.UpgradeRemediation{Retries: 2}, want: rollback},
		{name: "upgrade uninstall", action: helmv2.ReleaseActionUpgrade, upgrade: &helmv2.UpgradeRemediation{Strategy: ptr(uninstall)}, want: uninstall},
		{name: "upgrade rollback", action: helmv2.ReleaseActionUpgrade, upgrade: &helmv2.UpgradeRemediation{Strategy: ptr(rollback)}, want: rollback},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := hrWith(nil, tt.upgrade, 0, 0)
			if got := remediationOf(obj, tt.action).strategy(obj); got != tt.want {
				t.Errorf("strategy = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestIgnoreTestFailures(t *testing.T) {
	tests := []struct {
		name       string
		action     helmv2.ReleaseAction
		test       *helmv2.Test
		install    *helmv2.InstallRemediation
		upgrade    *helmv2.UpgradeRemediation
		want       bool
		wantAction helmv2.ReleaseAction
	}{
		{name: "default", action: helmv2.ReleaseActionUpgrade, want: false},
		{name: "from spec.test", action: helmv2.ReleaseActionUpgrade, test: &helmv2.Test{Enable: true, IgnoreFailures: true}, want: true},
		{name: "upgrade overrides spec.test", action: helmv2.ReleaseActionUpgrade, test: &helmv2.Test{IgnoreFailures: true}, upgrade: &helmv2.UpgradeRemediation{IgnoreTestFailures: ptr(false)}, want: false},
		{name: "install overrides spec.test", action: helmv2.ReleaseActionInstall, test: &helmv2.Test{}, install: &helmv2.InstallRemediation{IgnoreTestFailures: ptr(true)}, want: true},
		{name: "install ignores the upgrade override", action: helmv2.ReleaseActionInstall, upgrade: &helmv2.UpgradeRemediation{IgnoreTestFailures: ptr(true)}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := hrWith(tt.install, tt.upgrade, 0, 0)
			obj.Spec.Test = tt.test
			if got := remediationOf(obj, tt.action).ignoreTestFailures(obj); got != tt.want {
				t.Errorf("ignoreTestFailures = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCountFailure(t *testing.T) {
	tests := []struct {
		action           helmv2.ReleaseAction
		wantIns, wantUpg int64
	}{
		{action: helmv2.ReleaseActionInstall, wantIns: 1},
		{action: helmv2.ReleaseActionUpgrade, wantUpg: 1},
		{action: helmv2.ReleaseActionRollback},
		{action: helmv2.ReleaseActionUninstall},
	}
	for _, tt := range tests {
		t.Run(string(tt.action), func(t *testing.T) {
			obj := hrWith(nil, nil, 0, 0)
			remediationOf(obj, tt.action).countFailure(obj)
			if obj.Status.InstallFailures != tt.wantIns || obj.Status.UpgradeFailures != tt.wantUpg {
				t.Errorf("install failures %d, upgrade failures %d; want %d, %d", obj.Status.InstallFailures, obj.Status.UpgradeFailures, tt.wantIns, tt.wantUpg)
			}
		})
	}
}

// cond is a condition as a test writes it.
type cond struct {
	typ    string
	status metav1.ConditionStatus
	reason string
	gen    int64
}

func withConditions(obj *helmv2.HelmRelease, conds ...cond) {
	for _, c := range conds {
		obj.Status.Conditions = append(obj.Status.Conditions, metav1.Condition{
			Type: c.typ, Status: c.status, Reason: c.reason, Message: c.reason + " message", ObservedGeneration: c.gen,
		})
	}
}

func TestSummarize(t *testing.T) {
	const (
		T = metav1.ConditionTrue
		F = metav1.ConditionFalse
	)
	released := func(s metav1.ConditionStatus, reason string, gen int64) cond {
		return cond{helmv2.ReleasedCondition, s, reason, gen}
	}
	remediated := func(gen int64) cond {
		return cond{helmv2.RemediatedCondition, T, helmv2.RollbackSucceededReason, gen}
	}
	tested := func(s metav1.ConditionStatus, reason string, gen int64) cond {
		return cond{helmv2.TestSuccessCondition, s, reason, gen}
	}
	stalled := cond{meta.StalledCondition, T, "Stalled", 1}
	reconciling := cond{meta.ReconcilingCondition, T, "Progressing", 1}
	tests := []struct {
		name       string
		gen        int64
		test       *helmv2.Test
		conds      []cond
		wantReady  metav1.ConditionStatus // "" means no Ready condition
		wantReason string
		// wantGone and wantKept are condition types.
		wantGone, wantKept []string
	}{
		{name: "nothing to summarize", gen: 1, conds: nil, wantReady: ""},
		{
			name: "released", gen: 1,
			conds:     []cond{released(T, helmv2.InstallSucceededReason, 1), stalled, reconciling},
			wantReady: T, wantReason: helmv2.InstallSucceededReason,
			wantGone: []string{meta.StalledCondition, meta.ReconcilingCondition},
		},
		{
			name: "release failed", gen: 1,
			conds:     []cond{released(F, helmv2.UpgradeFailedReason, 1), reconciling},
			wantReady: F, wantReason: helmv2.UpgradeFailedReason,
			wantKept: []string{meta.ReconcilingCondition},
		},
		{
			name: "remediated wins at the same generation and is never ready", gen: 2,
			conds:     []cond{released(T, helmv2.UpgradeSucceededReason, 2), remediated(2)},
			wantReady: F, wantReason: helmv2.RollbackSucceededReason,
		},
		{
			name: "remediated wins at the same generation whatever the order", gen: 2,
			conds:     []cond{remediated(2), released(T, helmv2.UpgradeSucceededReason, 2)},
			wantReady: F, wantReason: helmv2.RollbackSucceededReason,
		},
		{
			name: "a newer release wins over an older remediation", gen: 3,
			conds:     []cond{remediated(2), released(T, helmv2.UpgradeSucceededReason, 3)},
			wantReady: T, wantReason: helmv2.UpgradeSucceededReason,
		},
		{
			name: "a newer remediation wins over an older release", gen: 3,
			conds:     []cond{released(T, helmv2.UpgradeSucceededReason, 2), remediated(3)},
			wantReady: F, wantReason: helmv2.RollbackSucceededReason,
		},
		{
			name: "failed tests count when enabled", gen: 1, test: &helmv2.Test{Enable: true},
			conds:     []cond{released(T, helmv2.InstallSucceededReason, 1), tested(F, helmv2.TestFailedReason, 1)},
			wantReady: F, wantReason: helmv2.TestFailedReason,
		},
		{
			name: "passed tests give Ready", gen: 1, test: &helmv2.Test{Enable: true},
			conds:     []cond{released(T, helmv2.InstallSucceededReason, 1), tested(T, helmv2.TestSucceededReason, 1)},
			wantReady: T, wantReason: helmv2.TestSucceededReason,
		},
		{
			name: "ignored test failures do not count", gen: 1, test: &helmv2.Test{Enable: true, IgnoreFailures: true},
			conds:     []cond{released(T, helmv2.InstallSucceededReason, 1), tested(F, helmv2.TestFailedReason, 1)},
			wantReady: T, wantReason: helmv2.InstallSucceededReason,
			wantKept: []string{helmv2.TestSuccessCondition},
		},
		{
			name: "TestSuccess removed when tests are off", gen: 1, test: &helmv2.Test{Enable: false},
			conds:     []cond{released(T, helmv2.InstallSucceededReason, 1), tested(F, helmv2.TestFailedReason, 1)},
			wantReady: T, wantReason: helmv2.InstallSucceededReason,
			wantGone: []string{helmv2.TestSuccessCondition},
		},
		{
			name: "TestSuccess removed without spec.test", gen: 1,
			conds:     []cond{released(T, helmv2.InstallSucceededReason, 1), tested(T, helmv2.TestSucceededReason, 1)},
			wantReady: T, wantReason: helmv2.InstallSucceededReason,
			wantGone: []string{helmv2.TestSuccessCondition},
		},
		{
			name: "an older test result loses to a newer release", gen: 2, test: &helmv2.Test{Enable: true},
			conds:     []cond{tested(F, helmv2.TestFailedReason, 1), released(T, helmv2.UpgradeSucceededReason, 2)},
			wantReady: T, wantReason: helmv2.UpgradeSucceededReason,
		},
		{
			name: "remediation wins over failed tests", gen: 1, test: &helmv2.Test{Enable: true},
			conds:     []cond{released(T, helmv2.UpgradeSucceededReason, 1), tested(F, helmv2.TestFailedReason, 1), remediated(1)},
			wantReady: F, wantReason: helmv2.RollbackSucceededReason,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := &helmv2.HelmRelease{}
			obj.Generation = tt.gen
			obj.Spec.Test = tt.test
			withConditions(obj, tt.conds...)
			summarize(obj)
			ready := conditions.Get(obj, meta.ReadyCondition)
			if tt.wantReady == "" {
				if ready != nil {
					t.Fatalf("Ready = %+v, want none", ready)
				}
				return
			}
			if ready == nil {
				t.Fatal("no Ready condition")
			}
			if ready.Status != tt.wantReady || ready.Reason != tt.wantReason {
				t.Errorf("Ready = %s/%s, want %s/%s", ready.Status, ready.Reason, tt.wantReady, tt.wantReason)
			}
			if ready.Message != tt.wantReason+" message" {
				t.Errorf("Ready message %q, want the message of the winning condition", ready.Message)
			}
			for _, typ := range tt.wantGone {
				if conditions.Get(obj, typ) != nil {
					t.Errorf("condition %s still there", typ)
				}
			}
			for _, typ := range tt.wantKept {
				if conditions.Get(obj, typ) == nil {
					t.Errorf("condition %s removed", typ)
				}
			}
		})
	}
}

func TestReplaceRemediated(t *testing.T) {
	history := helmv2.Snapshots{
		{Name: "podinfo", Namespace: "apps", Version: 2, Status: "superseded", ChartName: "podinfo", ChartVersion: "6.0.0"},
		{Name: "podinfo", Namespace: "apps", Version: 3, Status: "deployed", ChartName: "podinfo", ChartVersion: "6.0.1"},
	}
	tests := []struct {
		name         string
		conds        []cond
		history      helmv2.Snapshots
		wantRemed    bool
		wantReleased string // reason; "" means none
		wantMessage  string
	}{
		{
			name:         "remediated becomes released",
			conds:        []cond{{helmv2.RemediatedCondition, metav1.ConditionTrue, helmv2.RollbackSucceededReason, 1}},
			history:      history,
			wantReleased: helmv2.UpgradeSucceededReason,
			wantMessage:  "Helm upgrade succeeded for release apps/podinfo.v3 with chart podinfo@6.0.1",
		},
		{
			name:         "failed remediation stays",
			conds:        []cond{{helmv2.RemediatedCondition, metav1.ConditionFalse, helmv2.RollbackFailedReason, 1}},
			history:      history,
			wantRemed:    true,
			wantReleased: "",
		},
		{
			name:         "no remediation: nothing changes",
			conds:        []cond{{helmv2.ReleasedCondition, metav1.ConditionFalse, helmv2.UpgradeFailedReason, 1}},
			history:      history,
			wantReleased: helmv2.UpgradeFailedReason,
		},
		{
			name:         "no history: remediated goes, nothing is released",
			conds:        []cond{{helmv2.RemediatedCondition, metav1.ConditionTrue, helmv2.RollbackSucceededReason, 1}},
			wantReleased: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := &helmv2.HelmRelease{}
			obj.Status.History = tt.history
			withConditions(obj, tt.conds...)
			replaceRemediated(obj)
			if got := conditions.Get(obj, helmv2.RemediatedCondition) != nil; got != tt.wantRemed {
				t.Errorf("Remediated present %v, want %v", got, tt.wantRemed)
			}
			rel := conditions.Get(obj, helmv2.ReleasedCondition)
			switch {
			case tt.wantReleased == "" && rel != nil:
				t.Errorf("Released = %+v, want none", rel)
			case tt.wantReleased != "" && (rel == nil || rel.Reason != tt.wantReleased):
				t.Errorf("Released = %+v, want reason %s", rel, tt.wantReleased)
			case tt.wantMessage != "" && rel.Message != tt.wantMessage:
				t.Errorf("Released message %q, want %q", rel.Message, tt.wantMessage)
			}
		})
	}
}

func testRelease() *helm.Release {
	first := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return &helm.Release{
		Name:      "podinfo",
		Namespace: "apps",
		Version:   4,
		Info: &release.Info{
			FirstDeployed: first,
			LastDeployed:  first.Add(time.Hour),
			Status:        helm.StatusDeployed,
		},
		Chart:    &chart.Chart{Metadata: &chart.Metadata{Name: "podinfo", Version: "6.0.3", AppVersion: "6.0.3"}},
		Config:   map[string]any{"replicaCount": 3},
		Manifest: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
		Hooks: []*release.Hook{
			{Name: "pre", Kind: "Job", Path: "podinfo/templates/pre.yaml", Manifest: "kind: Job", Events: []release.HookEvent{release.HookPreInstall}},
			{Name: "podinfo-test", Kind: "Job", Path: "podinfo/templates/tests/t.yaml", Manifest: "kind: Job", Events: []release.HookEvent{release.HookTest},
				LastRun: release.HookExecution{StartedAt: first, CompletedAt: first.Add(time.Minute), Phase: release.HookPhaseFailed}},
		},
	}
}

func TestSnapshotOf(t *testing.T) {
	rel := testRelease()
	s := snapshotOf(rel, helmv2.ReleaseActionUpgrade)
	want := &helmv2.Snapshot{
		Digest:        releaseDigest(rel),
		Name:          "podinfo",
		Namespace:     "apps",
		Version:       4,
		Status:        "deployed",
		Action:        helmv2.ReleaseActionUpgrade,
		ChartName:     "podinfo",
		ChartVersion:  "6.0.3",
		AppVersion:    "6.0.3",
		ConfigDigest:  configDigest(map[string]any{"replicaCount": 3}),
		FirstDeployed: metav1.NewTime(rel.Info.FirstDeployed),
		LastDeployed:  metav1.NewTime(rel.Info.LastDeployed),
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("snapshotOf = %+v\nwant %+v", s, want)
	}
	if !strings.HasPrefix(s.Digest, "sha256:") {
		t.Errorf("digest %q", s.Digest)
	}

	deleted := testRelease()
	deleted.Info.Deleted = deleted.Info.LastDeployed.Add(time.Hour)
	deleted.Info.Status = helm.StatusUninstalled
	if s := snapshotOf(deleted, helmv2.ReleaseActionUninstall); s.Deleted.IsZero() || s.Status != "uninstalled" {
		t.Errorf("deleted release: Deleted %v, status %s", s.Deleted, s.Status)
	}

	bare := &helm.Release{Name: "x", Namespace: "y", Version: 1}
	if s := snapshotOf(bare, helmv2.ReleaseActionInstall); s.Status != "" || s.ChartName != "" || s.Name != "x" {
		t.Errorf("release without info or chart: %+v", s)
	}
}

func TestReleaseDigest(t *testing.T) {
	base := releaseDigest(testRelease())
	tests := []struct {
		name       string
		change     func(r *helm.Release)
		wantChange bool
	}{
		{name: "same release", change: func(*helm.Release) {}, wantChange: false},
		{name: "test hook result", change: func(r *helm.Release) { r.Hooks[1].LastRun.Phase = release.HookPhaseSucceeded }, wantChange: false},
		{name: "test hook added", change: func(r *helm.Release) {
			r.Hooks = append(r.Hooks, &release.Hook{Name: "t2", Events: []release.HookEvent{release.HookTest}})
		}, wantChange: false},
		{name: "deploy times", change: func(r *helm.Release) { r.Info.LastDeployed = r.Info.LastDeployed.Add(time.Hour) }, wantChange: false},
		{name: "manifest", change: func(r *helm.Release) { r.Manifest += "data: {}\n" }, wantChange: true},
		{name: "values", change: func(r *helm.Release) { r.Config["replicaCount"] = 4 }, wantChange: true},
		{name: "status", change: func(r *helm.Release) { r.Info.Status = helm.StatusFailed }, wantChange: true},
		{name: "version", change: func(r *helm.Release) { r.Version++ }, wantChange: true},
		{name: "chart version", change: func(r *helm.Release) { r.Chart.Metadata.Version = "6.0.4" }, wantChange: true},
		{name: "non-test hook", change: func(r *helm.Release) { r.Hooks[0].Manifest = "kind: Pod" }, wantChange: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rel := testRelease()
			tt.change(rel)
			if got := releaseDigest(rel) != base; got != tt.wantChange {
				t.Errorf("digest changed %v, want %v", got, tt.wantChange)
			}
		})
	}
}

func TestTestHooks(t *testing.T) {
	rel := testRelease()
	got := testHooks(rel)
	if len(got) != 1 || got["podinfo-test"] == nil || got["podinfo-test"].Phase != "Failed" {
		t.Fatalf("testHooks = %v", got)
	}
	if len(testHooks(nil)) != 0 {
		t.Error("testHooks(nil) not empty")
	}
	tests := []struct {
		name string
		s    *helmv2.Snapshot
		want bool
	}{
		{name: "nil", s: nil, want: false},
		{name: "no hooks", s: &helmv2.Snapshot{}, want: false},
		{name: "failed hook", s: &helmv2.Snapshot{TestHooks: &got}, want: true},
		{name: "passed hook", s: &helmv2.Snapshot{TestHooks: &map[string]*helmv2.TestHookStatus{"t": {Phase: "Succeeded"}}}, want: false},
	}
	for _, tt := range tests {
		if g := testFailed(tt.s); g != tt.want {
			t.Errorf("%s: testFailed = %v, want %v", tt.name, g, tt.want)
		}
	}
}

func TestMarkSuperseded(t *testing.T) {
	obj := &helmv2.HelmRelease{}
	obj.Status.History = helmv2.Snapshots{{Version: 3, Status: "deployed"}, {Version: 2, Status: "superseded"}, {Version: 1, Status: "failed"}}
	markSuperseded(obj)
	var got []string
	for _, s := range obj.Status.History {
		got = append(got, s.Status)
	}
	if fmt.Sprint(got) != "[superseded superseded failed]" {
		t.Errorf("statuses %v", got)
	}
}

func TestTruncateHistory(t *testing.T) {
	// h builds a history from "version:status" pairs.
	h := func(entries ...string) helmv2.Snapshots {
		var out helmv2.Snapshots
		for _, e := range entries {
			var v int
			var status string
			if _, err := fmt.Sscanf(strings.Replace(e, ":", " ", 1), "%d %s", &v, &status); err != nil {
				t.Fatal(err)
			}
			out = append(out, &helmv2.Snapshot{Version: v, Status: status})
		}
		return out
	}
	tests := []struct {
		name    string
		history helmv2.Snapshots
		want    []int
	}{
		{name: "empty", history: nil, want: nil},
		{name: "one", history: h("1:deployed"), want: []int{1}},
		{name: "down to the previous superseded", history: h("3:deployed", "2:superseded", "1:superseded"), want: []int{3, 2}},
		{name: "failures down to the previous deployed", history: h("5:failed", "4:failed", "3:deployed", "2:superseded", "1:superseded"), want: []int{5, 4, 3}},
		{name: "the latest deployed is not the rollback target", history: h("4:deployed", "3:failed", "2:failed", "1:superseded"), want: []int{4, 3, 2, 1}},
		{name: "unsorted input", history: h("1:superseded", "3:failed", "2:deployed"), want: []int{3, 2}},
		{name: "no success: at most five", history: h("7:failed", "6:failed", "5:failed", "4:failed", "3:failed", "2:failed", "1:failed"), want: []int{7, 6, 5, 4, 3}},
		{name: "no success, five or fewer: all", history: h("3:failed", "2:pending-upgrade", "1:failed"), want: []int{3, 2, 1}},
		{name: "uninstalled is no rollback target", history: h("3:failed", "2:uninstalled", "1:failed"), want: []int{3, 2, 1}},
		{name: "success beyond five is kept", history: h("7:failed", "6:failed", "5:failed", "4:failed", "3:failed", "2:failed", "1:superseded"), want: []int{7, 6, 5, 4, 3, 2, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := &helmv2.HelmRelease{}
			obj.Status.History = tt.history
			truncateHistory(obj)
			var got []int
			for _, s := range obj.Status.History {
				got = append(got, s.Version)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("history %v, want %v", got, tt.want)
			}
		})
	}
}

func TestReleaseName(t *testing.T) {
	long := "a-very-long-target-namespace-name-for-tests-and-a-long-helmrelease"
	fiftyFour := strings.Repeat("x", 54)
	tests := []struct {
		name, objName, targetNS, releaseName string
		want                                 string
	}{
		{name: "name", objName: "podinfo", want: "podinfo"},
		{name: "target namespace prefix", objName: "podinfo", targetNS: "prod", want: "prod-podinfo"},
		{name: "spec.releaseName", objName: "podinfo", targetNS: "prod", releaseName: "web", want: "web"},
		{name: "53 characters stay", objName: strings.Repeat("x", 53), want: strings.Repeat("x", 53)},
		// want: name[:40] + "-" + the first 12 hex characters of
		// sha256(name), computed with sha256sum.
		{name: "54 characters are shortened", objName: fiftyFour, want: strings.Repeat("x", 40) + "-45f316e10b2c"},
		{name: "long target namespace and name", objName: "and-a-long-helmrelease", targetNS: "a-very-long-target-namespace-name-for-tests", want: long[:40] + "-bdd018a87df8"},
		{name: "long spec.releaseName", objName: "podinfo", releaseName: long, want: long[:40] + "-bdd018a87df8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := &helmv2.HelmRelease{}
			obj.Name = tt.objName
			obj.Spec.TargetNamespace = tt.targetNS
			obj.Spec.ReleaseName = tt.releaseName
			got := releaseName(obj)
			if got != tt.want {
				t.Errorf("releaseName = %q, want %q", got, tt.want)
			}
			if len(got) > 53 {
				t.Errorf("releaseName %q is %d characters long", got, len(got))
			}
		})
	}
}

func TestConfigDigest(t *testing.T) {
	const empty = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	// Built in a different order; Go maps have none, but the digest must
	// not depend on iteration either.
	a := map[string]any{}
	a["a"] = 1
	a["b"] = map[string]any{"c": "x"}
	b := map[string]any{"b": map[string]any{"c": "x"}, "a": 1}
	tests := []struct {
		name   string
		values map[string]any
		want   string
	}{
		{name: "nil", values: nil, want: empty},
		{name: "empty", values: map[string]any{}, want: empty},
		// The YAML of the values ("foo: bar\n"), as Flux digests them.
		{name: "one value", values: map[string]any{"foo": "bar"}, want: "sha256:1dabc4e3cbbd6a0818bd460f3a6c9855bfe95d506c74726bc0f2edb0aecb1f4e"},
		{name: "nested, sorted keys", values: a, want: "sha256:9ff14b920cc0b4325c7eeb2532f0265221645f0809aae49a8b4eba7545aa153d"},
		{name: "nested, other order", values: b, want: "sha256:9ff14b920cc0b4325c7eeb2532f0265221645f0809aae49a8b4eba7545aa153d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 5 {
				if got := configDigest(tt.values); got != tt.want {
					t.Fatalf("configDigest = %s, want %s", got, tt.want)
				}
			}
		})
	}
	if configDigest(map[string]any{"a": 1}) == configDigest(map[string]any{"a": 2}) {
		t.Error("different values give the same digest")
	}
}

func TestFullNameAndChartName(t *testing.T) {
	s := &helmv2.Snapshot{Name: "podinfo", Namespace: "apps", Version: 12, ChartName: "podinfo", ChartVersion: "6.0.3"}
	if got := fullName(s); got != "apps/podinfo.v12" {
		t.Errorf("fullName = %q", got)
	}
	if got := chartName(s); got != "podinfo@6.0.3" {
		t.Errorf("chartName = %q", got)
	}
	if fullName(nil) != "" || chartName(nil) != "" {
		t.Error("nil snapshot should give empty names")
	}
}

// ssaMode and testFilters live in release.go.

func TestSSAMode(t *testing.T) {
	tests := []struct {
		in   helmv2.ServerSideApplyMode
		want string
	}{
		{helmv2.ServerSideApplyEnabled, "true"},
		{"Enabled", "true"},
		{helmv2.ServerSideApplyDisabled, "false"},
		{"DISABLED", "false"},
		{helmv2.ServerSideApplyAuto, "auto"},
		{"", "auto"},
		{"something-else", "auto"},
	}
	for _, tt := range tests {
		if got := ssaMode(tt.in); got != tt.want {
			t.Errorf("ssaMode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTestFilters(t *testing.T) {
	tests := []struct {
		name    string
		filters []helmv2.Filter
		want    map[string][]string
	}{
		{name: "none", filters: nil, want: map[string][]string{}},
		{name: "include", filters: []helmv2.Filter{{Name: "a"}, {Name: "b"}}, want: map[string][]string{"name": {"a", "b"}}},
		{name: "exclude", filters: []helmv2.Filter{{Name: "a", Exclude: true}}, want: map[string][]string{"!name": {"a"}}},
		{name: "both", filters: []helmv2.Filter{{Name: "a"}, {Name: "b", Exclude: true}, {Name: "c"}}, want: map[string][]string{"name": {"a", "c"}, "!name": {"b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := testFilters(tt.filters); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("testFilters = %v, want %v", got, tt.want)
			}
		})
	}
}
