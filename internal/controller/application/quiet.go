package application

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/types"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// A periodic refresh (Argo CD's timeout.reconciliation, 3 minutes) of an
// app that is Synced, whose spec, project, settings and sources' commits
// are as they were at its last comparison, and none of whose objects the
// watches saw change since, would render the same objects, compare them
// with the same live state and write nothing. With 10,000 apps that
// comparison ran 55 times a second for nothing (half a core, mostly
// rendering and garbage collection). Such a refresh now stops after
// resolving the sources' commits (served from the shared fetcher's
// listing cache); a full comparison still runs at least every
// quietMaxAge (an hour by default), as a safety net for what no watch
// reports (an object created without Tether's tracking under a name the
// app renders).

// quietMaxAge is how long a comparison may answer for later refreshes:
// an hour, or ten resync periods when that is longer. (Measured at 10,000
// idle apps with the 3-minute default: a 30-minute age still ran 5.5 full
// comparisons a second, most of the 8.4 % of a core the idle window cost.)
func (r *Reconciler) quietMaxAge() time.Duration {
	return max(10*r.ResyncPeriod, time.Hour)
}

// quietMemo is what an app's last full comparison saw.
type quietMemo struct {
	key string
	at  time.Time
}

// liveChanged notes that a watch saw one of the app's objects change
// (drift.Options.OnEvent).
func (r *Reconciler) liveChanged(key types.NamespacedName, _ bool) {
	r.mu.Lock()
	r.liveSeq[key]++
	r.mu.Unlock()
}

// quietKey digests everything a comparison of app reads besides its live
// objects, and the count of changes the watches saw to those: equal keys
// mean an equal comparison. ok is false when the app is in a state a
// skipped refresh could get wrong (not Synced, settling, an operation or a
// refresh asked for, a source whose revision is not a Git commit, a
// project that looks for orphaned resources).
func (r *Reconciler) quietKey(ctx context.Context, app *argov1.Application, t *target, hasRefresh bool) (string, bool) {
	st := app.Status
	switch {
	case hasRefresh, app.Operation != nil, st.Sync.Status != argov1.SyncStatusCodeSynced,
		st.Health.Status == argov1.HealthStatusProgressing,
		st.OperationState != nil && st.OperationState.Phase == argov1.OperationRunning,
		t.proj.Spec.OrphanedResources != nil:
		return "", false
	}
	r.mu.Lock()
	seq := r.liveSeq[keyOf(app)]
	r.mu.Unlock()
	annotations := map[string]string{}
	for k, v := range app.Annotations {
		if k != argov1.AnnotationKeyRefresh {
			annotations[k] = v
		}
	}
	commits := make([]string, 0, len(app.Spec.GetSources()))
	for _, src := range app.Spec.GetSources() {
		if isOCISource(src) {
			if r.OCI == nil {
				return "", false
			}
			res, _, _, _, err := r.ociRevision(ctx, app, src, false)
			if err != nil {
				return "", false
			}
			commits = append(commits, res.Digest)
			continue
		}
		if isHelmRepoSource(src) || src.Plugin != nil {
			return "", false
		}
		auth, err := r.repoAuth(ctx, app, src.RepoURL)
		if err != nil {
			return "", false
		}
		_, res, err := r.resolve(ctx, src, auth, false)
		if err != nil {
			return "", false
		}
		commits = append(commits, res.Commit)
	}
	cluster := t.dest.identity()
	// Encoded straight into the hash: no copy of the document is kept.
	h := sha256.New()
	err := json.NewEncoder(h).Encode(struct {
		Spec        argov1.ApplicationSpec
		Annotations map[string]string
		Resources   []argov1.ResourceStatus // the left-overs a comparison looks for
		Project     any
		Commits     []string
		Cluster     string
		Scripts     string
		Seq         uint64
	}{app.Spec, annotations, st.Resources, t.proj.Spec, commits, cluster, fmt.Sprintf("%p", t.health), seq})
	if err != nil {
		return "", false
	}
	return hex.EncodeToString(h.Sum(nil)), true
}

// quiet reports whether the app's last comparison answers for key.
func (r *Reconciler) quiet(app types.NamespacedName, key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.quietMemos[app]
	return ok && m.key == key && r.now().Sub(m.at) < r.quietMaxAge()
}

// rememberQuiet records that a full comparison under key left app as
// quietKey requires (Synced, settled, nothing to do). The key must have
// been taken before the comparison, so that a change seen during it makes
// the next key differ.
func (r *Reconciler) rememberQuiet(app *argov1.Application, key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if key == "" || app.Status.Sync.Status != argov1.SyncStatusCodeSynced || app.Status.Health.Status == argov1.HealthStatusProgressing {
		delete(r.quietMemos, keyOf(app))
		return
	}
	r.quietMemos[keyOf(app)] = quietMemo{key: key, at: r.now()}
}
