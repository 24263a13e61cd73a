package server

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	kustomizev1 "github.com/tether-gitops/tether/api/kustomize/v1"
)

// appRow is one line of the list of everything Tether deploys: an
// Application, a Kustomization or a HelmRelease, in the same columns.
type appRow struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Project is an Application's project.
	Project string `json:"project,omitempty"`
	// Cluster is where the objects go: an Application's destination, a
	// Flux object's kubeConfig Secret, else "in-cluster".
	Cluster string `json:"cluster"`
	// Repo is an Application's repository URL, or a Flux object's source
	// as Kind/namespace/name.
	Repo string `json:"repo,omitempty"`
	// Path is the folder or chart the objects come from.
	Path string `json:"path,omitempty"`
	// Revision is the revision last applied (or compared, for an
	// Application).
	Revision string `json:"revision,omitempty"`
	// Sync is an Application's sync status; for a Flux object, Synced
	// when its Ready condition is true at the current generation.
	Sync string `json:"sync"`
	// Health is an Application's health; for a Flux object, Healthy,
	// Progressing, Degraded or Suspended from its Ready condition.
	Health string `json:"health"`
	// Ready is a Flux object's Ready condition status.
	Ready string `json:"ready,omitempty"`
	// Message explains a state that is not Healthy.
	Message   string `json:"message,omitempty"`
	Suspended bool   `json:"suspended,omitempty"`
	// Operation is the phase of an Application's current operation.
	Operation string `json:"operation,omitempty"`
	// Changed is when the state last changed.
	Changed *metav1.Time `json:"changed,omitempty"`
}

// key names a row: "Kind/namespace/name".
func (a *appRow) key() string { return a.Kind + "/" + a.Namespace + "/" + a.Name }

// appsPage is the answer of GET /api/v1/apps.
type appsPage struct {
	Items []appRow `json:"items"`
	// Total is how many rows match the filters, on every page.
	Total int `json:"total"`
	// Counts are the rows the caller may see, before any filter, by
	// "kind", "sync" and "health", for the filter choices.
	Counts map[string]map[string]int `json:"counts"`
}

// appsFilter is what GET /api/v1/apps narrows the rows to: each
// parameter may repeat, and a row matches when it has one of the given
// values of every parameter given.
type appsFilter struct {
	kinds, syncs, healths, namespaces, projects, clusters, keys map[string]bool
	search                                                      string
}

func setOf(values []string) map[string]bool {
	if len(values) == 0 {
		return nil
	}
	m := make(map[string]bool, len(values))
	for _, v := range values {
		m[v] = true
	}
	return m
}

func parseAppsFilter(r *http.Request) appsFilter {
	q := r.URL.Query()
	return appsFilter{kinds: setOf(q["kind"]), syncs: setOf(q["sync"]), healths: setOf(q["health"]),
		namespaces: setOf(q["namespace"]), projects: setOf(q["project"]), clusters: setOf(q["cluster"]),
		keys: setOf(q["key"]), search: strings.ToLower(strings.TrimSpace(q.Get("search")))}
}

func (f *appsFilter) matches(a *appRow) bool {
	in := func(set map[string]bool, v string) bool { return set == nil || set[v] }
	if !in(f.kinds, a.Kind) || !in(f.syncs, a.Sync) || !in(f.healths, a.Health) || !in(f.namespaces, a.Namespace) ||
		!in(f.projects, a.Project) || !in(f.clusters, a.Cluster) || !in(f.keys, a.key()) {
		return false
	}
	if f.search == "" {
		return true
	}
	for _, s := range []string{a.Name, a.Namespace, a.Repo, a.Path, a.Project} {
		if strings.Contains(strings.ToLower(s), f.search) {
			return true
		}
	}
	return false
}

// defaultAppsPage is the page size when limit is not given.
const defaultAppsPage = 100

// listApps is GET /api/v1/apps: the Applications, Kustomizations and
// HelmReleases the caller may read, as rows of the same columns, sorted by
// name, namespace and kind, filtered (kind, sync, health, namespace,
// project, cluster, key, search) and paged by offset and limit on the
// server, so that a browser shows a page of 10,000 apps at once.
func (s *Server) listApps(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	offset, limit := 0, defaultAppsPage
	for name, v := range map[string]*int{"offset": &offset, "limit": &limit} {
		if raw := q.Get(name); raw != "" {
			n, err := strconv.Atoi(raw)
			if err != nil || n < 0 || n > maxPageSize*10 {
				writeError(w, codeInvalidArgument, name+" must be a number from 0 to 100000")
				return
			}
			*v = n
		}
	}
	policy, err := s.rbacPolicy(r.Context())
	if err != nil {
		s.internalError(w, err, "rbac policy")
		return
	}
	sub := subject(caller(r.Context()))
	var rows []appRow
	var apps argov1.ApplicationList
	if err := s.deps.Client.List(r.Context(), &apps, client.UnsafeDisableDeepCopy); err != nil {
		s.internalError(w, err, "list Applications")
		return
	}
	for i := range apps.Items {
		app := &apps.Items[i]
		if s.served(app.Namespace) && policy.Allow(sub, resApplications, actGet, s.appObject(app)) {
			rows = append(rows, applicationRow(app))
		}
	}
	var kss kustomizev1.KustomizationList
	if err := s.deps.Client.List(r.Context(), &kss, client.UnsafeDisableDeepCopy); err != nil {
		s.internalError(w, err, "list Kustomizations")
		return
	}
	for i := range kss.Items {
		ks := &kss.Items[i]
		if policy.Allow(sub, "kustomizations", actGet, ks.Namespace+"/"+ks.Name) {
			rows = append(rows, kustomizationRow(ks))
		}
	}
	var hrs helmv2.HelmReleaseList
	if err := s.deps.Client.List(r.Context(), &hrs, client.UnsafeDisableDeepCopy); err != nil {
		s.internalError(w, err, "list HelmReleases")
		return
	}
	for i := range hrs.Items {
		hr := &hrs.Items[i]
		if policy.Allow(sub, "helmreleases", actGet, hr.Namespace+"/"+hr.Name) {
			rows = append(rows, helmReleaseRow(hr))
		}
	}
	page := appsPage{Items: []appRow{}, Counts: map[string]map[string]int{"kind": {}, "sync": {}, "health": {}}}
	filter := parseAppsFilter(r)
	matched := rows[:0]
	for i := range rows {
		a := &rows[i]
		page.Counts["kind"][a.Kind]++
		page.Counts["sync"][a.Sync]++
		page.Counts["health"][a.Health]++
		if filter.matches(a) {
			matched = append(matched, *a)
		}
	}
	sort.Slice(matched, func(i, j int) bool {
		a, b := &matched[i], &matched[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Kind < b.Kind
	})
	page.Total = len(matched)
	if offset < len(matched) {
		page.Items = matched[offset:min(len(matched), offset+limit)]
	}
	writeJSON(w, http.StatusOK, page)
}

// applicationRow is an Application's row.
func applicationRow(app *argov1.Application) appRow {
	row := appRow{Kind: "Application", Namespace: app.Namespace, Name: app.Name, Project: projectOf(app),
		Sync: string(app.Status.Sync.Status), Health: string(app.Status.Health.Status), Revision: app.Status.Sync.Revision,
		Cluster: app.Spec.Destination.Name}
	if row.Cluster == "" {
		row.Cluster = app.Spec.Destination.Server
	}
	if row.Cluster == argov1.KubernetesInternalAPIServerAddr {
		row.Cluster = argov1.InClusterName
	}
	if srcs := app.Spec.GetSources(); len(srcs) > 0 {
		row.Repo, row.Path = srcs[0].RepoURL, srcs[0].Path
		if srcs[0].Chart != "" {
			row.Path = srcs[0].Chart
		}
	}
	if row.Sync == "" {
		row.Sync = string(argov1.SyncStatusCodeUnknown)
	}
	if row.Health == "" {
		row.Health = string(argov1.HealthStatusUnknown)
	}
	row.Message = app.Status.Health.Message
	for _, c := range app.Status.Conditions {
		if strings.HasSuffix(string(c.Type), "Error") {
			row.Message = c.Message
			break
		}
	}
	if op := app.Status.OperationState; op != nil {
		row.Operation = string(op.Phase)
		row.Changed = op.FinishedAt
		if row.Changed == nil {
			t := op.StartedAt
			row.Changed = &t
		}
	}
	if row.Changed == nil {
		row.Changed = app.Status.ReconciledAt
	}
	return row
}

// kustomizationRow is a Kustomization's row.
func kustomizationRow(ks *kustomizev1.Kustomization) appRow {
	row := fluxRow("Kustomization", ks, ks.Spec.Suspend, ks.Status.Conditions, ks.Status.LastAppliedRevision)
	ref := ks.Spec.SourceRef
	row.Repo = sourceText(ref.Kind, ref.Namespace, ref.Name, ks.Namespace)
	row.Path = ks.Spec.Path
	if ks.Spec.KubeConfig != nil {
		row.Cluster = ks.Spec.KubeConfig.SecretRef.Name
	}
	return row
}

// helmReleaseRow is a HelmRelease's row.
func helmReleaseRow(hr *helmv2.HelmRelease) appRow {
	row := fluxRow("HelmRelease", hr, hr.Spec.Suspend, hr.Status.Conditions, hr.Status.LastAttemptedRevision)
	switch {
	case hr.Spec.ChartRef != nil:
		ref := hr.Spec.ChartRef
		row.Repo = sourceText(ref.Kind, ref.Namespace, ref.Name, hr.Namespace)
	case hr.Spec.Chart != nil:
		spec := hr.Spec.Chart.Spec
		row.Path = spec.Chart
		if ref := spec.SourceRef; ref != nil {
			row.Repo = sourceText(ref.Kind, ref.Namespace, ref.Name, hr.Namespace)
		}
	}
	if hr.Spec.KubeConfig != nil {
		row.Cluster = hr.Spec.KubeConfig.SecretRef.Name
	}
	return row
}

// fluxRow is the part of a row every Flux kind fills the same way: sync
// and health read off the Ready condition, as `flux get` does.
func fluxRow(kind string, obj client.Object, suspended bool, conds []metav1.Condition, revision string) appRow {
	row := appRow{Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName(), Cluster: argov1.InClusterName,
		Revision: revision, Suspended: suspended, Sync: "Unknown", Health: "Progressing", Ready: "Unknown"}
	if c := meta.FindStatusCondition(conds, "Ready"); c != nil {
		row.Ready, row.Message = string(c.Status), c.Message
		t := c.LastTransitionTime
		row.Changed = &t
		current := c.ObservedGeneration == 0 || c.ObservedGeneration == obj.GetGeneration()
		switch {
		case c.Status == metav1.ConditionTrue && current:
			row.Sync, row.Health = "Synced", "Healthy"
		case c.Status == metav1.ConditionFalse:
			row.Sync, row.Health = "OutOfSync", "Degraded"
		}
		if c.Status == metav1.ConditionTrue {
			row.Message = ""
		}
	}
	if suspended {
		row.Health = "Suspended"
	}
	return row
}

// sourceText names a Flux source reference as Kind/namespace/name, in
// the referrer's own namespace when it names none.
func sourceText(kind, namespace, name, own string) string {
	if namespace == "" {
		namespace = own
	}
	return kind + "/" + namespace + "/" + name
}
