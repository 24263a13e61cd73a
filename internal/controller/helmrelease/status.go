package helmrelease

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	"github.com/tether-gitops/tether/api/meta"
	"github.com/tether-gitops/tether/internal/conditions"
	"github.com/tether-gitops/tether/internal/helm"
)

// remediation is the retry policy of the action last attempted (install
// or upgrade).
type remediation struct {
	action  helmv2.ReleaseAction
	install helmv2.InstallRemediation
	upgrade helmv2.UpgradeRemediation
}

func remediationOf(obj *helmv2.HelmRelease, action helmv2.ReleaseAction) remediation {
	rem := remediation{action: action}
	if r := obj.GetInstall().Remediation; r != nil {
		rem.install = *r
	}
	if r := obj.GetUpgrade().Remediation; r != nil {
		rem.upgrade = *r
	}
	return rem
}

func (r remediation) retries() int {
	if r.action == helmv2.ReleaseActionInstall {
		return r.install.Retries
	}
	return r.upgrade.Retries
}

func (r remediation) failures(obj *helmv2.HelmRelease) int64 {
	if r.action == helmv2.ReleaseActionInstall {
		return obj.Status.InstallFailures
	}
	return obj.Status.UpgradeFailures
}

func (r remediation) countFailure(obj *helmv2.HelmRelease) {
	if r.action == helmv2.ReleaseActionInstall {
		obj.Status.InstallFailures++
	} else if r.action == helmv2.ReleaseActionUpgrade {
		obj.Status.UpgradeFailures++
	}
}

// exhausted: retries >= 0 and more failures than retries (retries: 3
// allows four attempts); negative retries never run out.
func (r remediation) exhausted(obj *helmv2.HelmRelease) bool {
	return r.retries() >= 0 && r.failures(obj) > int64(r.retries())
}

func (r remediation) remediateLastFailure(obj *helmv2.HelmRelease) bool {
	if r.action == helmv2.ReleaseActionInstall {
		return r.install.MustRemediateLastFailure()
	}
	return r.upgrade.MustRemediateLastFailure()
}

func (r remediation) ignoreTestFailures(obj *helmv2.HelmRelease) bool {
	var v *bool
	if r.action == helmv2.ReleaseActionInstall {
		v = r.install.IgnoreTestFailures
	} else {
		v = r.upgrade.IgnoreTestFailures
	}
	if v == nil {
		return obj.GetTest().IgnoreFailures
	}
	return *v
}

// strategy: failed installs are always uninstalled; failed upgrades are
// rolled back unless the spec says uninstall.
func (r remediation) strategy(obj *helmv2.HelmRelease) helmv2.RemediationStrategy {
	if r.action == helmv2.ReleaseActionInstall {
		return helmv2.UninstallRemediationStrategy
	}
	return r.upgrade.GetStrategy()
}

// summarize sets Ready from the newest of Remediated, TestSuccess (when
// tests count) and Released, as Flux does: a remediation is never Ready.
func summarize(obj *helmv2.HelmRelease) {
	test := obj.GetTest()
	if !test.Enable {
		conditions.Delete(obj, helmv2.TestSuccessCondition)
	}
	order := []string{helmv2.RemediatedCondition, helmv2.ReleasedCondition}
	if test.Enable && !test.IgnoreFailures {
		order = []string{helmv2.RemediatedCondition, helmv2.TestSuccessCondition, helmv2.ReleasedCondition}
	}
	var pick *metav1.Condition
	pickRank := 0
	for i, typ := range order {
		c := conditions.Get(obj, typ)
		if c == nil {
			continue
		}
		if pick == nil || c.ObservedGeneration > pick.ObservedGeneration ||
			(c.ObservedGeneration == pick.ObservedGeneration && i < pickRank) {
			pick, pickRank = c, i
		}
	}
	if pick == nil {
		return
	}
	status := pick.Status
	if pick.Type == helmv2.RemediatedCondition {
		status = metav1.ConditionFalse
	}
	conditions.Set(obj, meta.ReadyCondition, status, pick.Reason, "%s", pick.Message)
	if status == metav1.ConditionTrue {
		conditions.Delete(obj, meta.StalledCondition)
		conditions.Delete(obj, meta.ReconcilingCondition)
	}
}

// replaceRemediated turns a Remediated condition into Released once the
// release is in sync again (the rollback target equals what is wanted).
func replaceRemediated(obj *helmv2.HelmRelease) {
	c := conditions.Get(obj, helmv2.RemediatedCondition)
	if c == nil || c.Status != metav1.ConditionTrue {
		return
	}
	conditions.Delete(obj, helmv2.RemediatedCondition)
	if snap := obj.Status.History.Latest(); snap != nil {
		conditions.Set(obj, helmv2.ReleasedCondition, metav1.ConditionTrue, helmv2.UpgradeSucceededReason,
			"Helm upgrade succeeded for release %s with chart %s", fullName(snap), chartName(snap))
	}
}

// snapshotOf records a release in the history's format.
func snapshotOf(rel *helm.Release, action helmv2.ReleaseAction) *helmv2.Snapshot {
	s := &helmv2.Snapshot{
		Digest:       releaseDigest(rel),
		Name:         rel.Name,
		Namespace:    rel.Namespace,
		Version:      rel.Version,
		Action:       action,
		ConfigDigest: configDigest(rel.Config),
	}
	if rel.Info != nil {
		s.Status = string(rel.Info.Status)
		s.FirstDeployed = metav1.NewTime(rel.Info.FirstDeployed)
		s.LastDeployed = metav1.NewTime(rel.Info.LastDeployed)
		if !rel.Info.Deleted.IsZero() {
			s.Deleted = metav1.NewTime(rel.Info.Deleted)
		}
	}
	if rel.Chart != nil && rel.Chart.Metadata != nil {
		s.ChartName, s.ChartVersion, s.AppVersion = rel.Chart.Metadata.Name, rel.Chart.Metadata.Version, rel.Chart.Metadata.AppVersion
	}
	return s
}

// markSuperseded records that the newest deployed snapshot is replaced.
func markSuperseded(obj *helmv2.HelmRelease) {
	for _, s := range obj.Status.History {
		if s.Status == string(helm.StatusDeployed) {
			s.Status = string(helm.StatusSuperseded)
		}
	}
}

// truncateHistory keeps the snapshots down to the previous successful
// release (the rollback target), at most five when there is none.
func truncateHistory(obj *helmv2.HelmRelease) {
	h := obj.Status.History
	slices.SortStableFunc(h, func(a, b *helmv2.Snapshot) int { return cmp.Compare(b.Version, a.Version) })
	for i, s := range h {
		if i > 0 && (s.Status == string(helm.StatusDeployed) || s.Status == string(helm.StatusSuperseded)) {
			obj.Status.History = h[:i+1]
			return
		}
	}
	if len(h) > 5 {
		obj.Status.History = h[:5]
	}
}

// testHooks lists the test hooks a release ran, by name.
func testHooks(rel *helm.Release) map[string]*helmv2.TestHookStatus {
	out := map[string]*helmv2.TestHookStatus{}
	if rel == nil {
		return out
	}
	for _, h := range rel.Hooks {
		isTest := false
		for _, e := range h.Events {
			if e == "test" || e == "test-success" {
				isTest = true
			}
		}
		if !isTest {
			continue
		}
		out[h.Name] = &helmv2.TestHookStatus{
			LastStarted:   metav1.NewTime(h.LastRun.StartedAt),
			LastCompleted: metav1.NewTime(h.LastRun.CompletedAt),
			Phase:         string(h.LastRun.Phase),
		}
	}
	return out
}

func testFailed(s *helmv2.Snapshot) bool {
	if s == nil || s.TestHooks == nil {
		return false
	}
	for _, h := range *s.TestHooks {
		if h != nil && h.Phase == "Failed" {
			return true
		}
	}
	return false
}

// fullName is "<namespace>/<name>.v<version>".
func fullName(s *helmv2.Snapshot) string {
	if s == nil {
		return ""
	}
	return s.Namespace + "/" + s.Name + ".v" + strconv.Itoa(s.Version)
}

// chartName is "<chart>@<version>".
func chartName(s *helmv2.Snapshot) string {
	if s == nil {
		return ""
	}
	return s.ChartName + "@" + s.ChartVersion
}

// configDigest is "sha256:<hex>" of the values as YAML with sorted keys
// (of nothing when there are none), as Flux's lastAttemptedConfigDigest.
func configDigest(values map[string]any) string {
	var data []byte
	if len(values) > 0 {
		data, _ = yaml.Marshal(values)
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// releaseDigest identifies a stored release: what it is made of (name,
// version, status, chart, values, manifest, hooks other than tests), so
// that a release changed outside this object is noticed.
func releaseDigest(rel *helm.Release) string {
	type hook struct{ Name, Kind, Path, Manifest string }
	obs := struct {
		Name      string         `json:"name"`
		Namespace string         `json:"namespace"`
		Version   int            `json:"version"`
		Status    string         `json:"status"`
		Chart     any            `json:"chartMetadata"`
		Config    map[string]any `json:"config"`
		Manifest  string         `json:"manifest"`
		Hooks     []hook         `json:"hooks"`
	}{Name: rel.Name, Namespace: rel.Namespace, Version: rel.Version, Manifest: rel.Manifest}
	if len(rel.Config) > 0 {
		obs.Config = rel.Config // nil and empty values are the same release
	}
	if rel.Info != nil {
		obs.Status = string(rel.Info.Status)
	}
	if rel.Chart != nil {
		obs.Chart = rel.Chart.Metadata
	}
	for _, h := range rel.Hooks {
		test := false
		for _, e := range h.Events {
			test = test || e == "test" || e == "test-success"
		}
		if !test {
			obs.Hooks = append(obs.Hooks, hook{h.Name, h.Kind, h.Path, h.Manifest})
		}
	}
	data, _ := json.Marshal(obs)
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// releaseName is the release name Flux uses: spec.releaseName, or
// "[<targetNamespace>-]<name>", shortened to Helm's 53 characters with a
// digest when longer.
func releaseName(obj *helmv2.HelmRelease) string {
	name := obj.GetReleaseName()
	if len(name) <= 53 {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return name[:40] + "-" + hex.EncodeToString(sum[:])[:12]
}
