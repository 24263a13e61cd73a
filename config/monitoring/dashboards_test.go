package monitoring

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The dashboards under dashboards/ (import them in Grafana, or provision
// the folder) and the uid each keeps: links and provisioning refer to it.
var dashboards = []struct{ file, uid string }{
	{"argocd-applications.json", "tether-argocd-apps"},
	{"flux-cluster.json", "tether-flux-cluster"},
	{"tether-control-plane.json", "tether-control-plane"},
}

// exportedMetrics are the metrics Tether's /metrics endpoint serves, true
// for histograms (queried as _bucket, _sum and _count). A dashboard query
// naming anything else has a typo, or needs the metric added here first.
var exportedMetrics = map[string]bool{
	"argocd_app_info":              false,
	"argocd_app_sync_total":        false,
	"argocd_app_reconcile":         true,
	"argocd_app_k8s_request_total": false,
	"argocd_cluster_info":          false,
	"argocd_git_request_total":     false,

	"gotk_reconcile_condition":        false,
	"gotk_reconcile_duration_seconds": true,
	"gotk_suspend_status":             false,
	"gotk_resource_info":              false,

	"controller_runtime_reconcile_total":        false,
	"controller_runtime_reconcile_errors_total": false,
	"controller_runtime_reconcile_time_seconds": true,
	"workqueue_depth":                           false,
	"workqueue_adds_total":                      false,
	"workqueue_queue_duration_seconds":          true,
	"rest_client_requests_total":                false,
	"go_goroutines":                             false,
	"go_memstats_heap_inuse_bytes":              false,
	"process_cpu_seconds_total":                 false,
	"process_resident_memory_bytes":             false,
}

// dataSource is the panels' data source: the dashboard's own variable, so
// that one import works against any Prometheus.
const dataSource = "${datasource}"

type dashboard struct {
	UID           string   `json:"uid"`
	Title         string   `json:"title"`
	SchemaVersion int      `json:"schemaVersion"`
	Tags          []string `json:"tags"`
	Panels        []panel  `json:"panels"`
	Templating    struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int            `json:"id"`
	Type       string         `json:"type"`
	Title      string         `json:"title"`
	GridPos    *gridPos       `json:"gridPos"`
	Datasource *datasourceRef `json:"datasource"`
	Targets    []target       `json:"targets"`
	Panels     []panel        `json:"panels"` // a collapsed row's
}

type gridPos struct{ H, W, X, Y int }

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type target struct {
	RefID      string         `json:"refId"`
	Expr       string         `json:"expr"`
	Datasource *datasourceRef `json:"datasource"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"` // a string, or {"query": ...}
	Datasource *datasourceRef  `json:"datasource"`
}

// query is one PromQL expression of a dashboard and where it is.
type query struct{ where, expr string }

func TestDashboards(t *testing.T) {
	for _, want := range dashboards {
		t.Run(want.file, func(t *testing.T) {
			d := readDashboard(t, want.file)
			if d.UID != want.uid {
				t.Errorf("uid is %q, want %q", d.UID, want.uid)
			}
			for _, err := range checkDashboard(d) {
				t.Error(err)
			}
			queries, err := queriesOf(d)
			if err != nil {
				t.Fatal(err)
			}
			if len(queries) == 0 {
				t.Fatal("no queries")
			}
			for _, err := range checkQueries(d, queries) {
				t.Error(err)
			}
		})
	}
}

// TestDashboardQueriesParse has promtool parse every query, the template
// variables replaced by what Grafana would put there (the module with
// Prometheus's parser is not a dependency of Tether).
func TestDashboardQueriesParse(t *testing.T) {
	promtool := lookPromtool(t)
	for _, want := range dashboards {
		t.Run(want.file, func(t *testing.T) {
			queries, err := queriesOf(readDashboard(t, want.file))
			if err != nil {
				t.Fatal(err)
			}
			if err := parseWithPromtool(promtool, t.TempDir(), want.file, queries); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestChecksCatchMistakes keeps the two checks above honest: a query that
// does not parse, or that names a metric Tether does not export, fails.
func TestChecksCatchMistakes(t *testing.T) {
	if got := unknownMetrics(`sum(rate(argocd_app_sync_totl[5m])) / sum(gotk_suspend_status_count)`); !slices.Equal(got, []string{"argocd_app_sync_totl", "gotk_suspend_status_count"}) {
		t.Errorf("unknownMetrics = %v, want the misspelt counter and the gauge's _count", got)
	}
	if got := unknownMetrics(`histogram_quantile(0.9, rate(argocd_app_reconcile_bucket{name="go_x"}[5m]))`); len(got) != 0 {
		t.Errorf("unknownMetrics = %v, want none", got)
	}
	promtool := lookPromtool(t)
	broken := []query{
		{"ok", `sum by (phase) (increase(argocd_app_sync_total{namespace=~"$namespace"}[$__rate_interval]))`},
		{"broken", `sum by (phase) (increase(argocd_app_sync_total[$__rate_interval])`},
	}
	err := parseWithPromtool(promtool, t.TempDir(), "broken.json", broken)
	if err == nil || !strings.Contains(err.Error(), "broken:") || strings.Contains(err.Error(), "ok:") {
		t.Errorf("promtool on a broken query: got %v, want an error naming the broken query only", err)
	}
}

func lookPromtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not on PATH")
	}
	return path
}

func readDashboard(t *testing.T, file string) dashboard {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("dashboards", file))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return d
}

// allPanels flattens the panels, those of collapsed rows included.
func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

func checkDashboard(d dashboard) []error {
	var errs []error
	if d.Title == "" {
		errs = append(errs, errors.New("no title"))
	}
	if d.SchemaVersion != 39 {
		errs = append(errs, fmt.Errorf("schemaVersion is %d, want 39", d.SchemaVersion))
	}
	if !slices.Contains(d.Tags, "tether") {
		errs = append(errs, fmt.Errorf("tags %v lack \"tether\"", d.Tags))
	}
	if !slices.ContainsFunc(d.Templating.List, func(v variable) bool {
		return v.Name == "datasource" && v.Type == "datasource" && string(v.Query) == `"prometheus"`
	}) {
		errs = append(errs, errors.New(`no templating variable "datasource" of type datasource querying prometheus`))
	}
	ids := map[int]string{}
	for _, p := range allPanels(d.Panels) {
		where := fmt.Sprintf("panel %d %q", p.ID, p.Title)
		if prev, dup := ids[p.ID]; dup || p.ID <= 0 {
			errs = append(errs, fmt.Errorf("%s: id not unique and positive (also %s)", where, prev))
		}
		ids[p.ID] = where
		errs = append(errs, checkPanel(where, p)...)
	}
	return errs
}

func checkPanel(where string, p panel) []error {
	var errs []error
	if p.Title == "" {
		errs = append(errs, fmt.Errorf("%s: no title", where))
	}
	if g := p.GridPos; g == nil || g.W <= 0 || g.H <= 0 || g.X < 0 || g.Y < 0 || g.X+g.W > 24 {
		errs = append(errs, fmt.Errorf("%s: gridPos %+v is missing or off the 24-column grid", where, g))
	}
	if p.Type == "row" || p.Type == "text" {
		return errs
	}
	if p.Datasource == nil || p.Datasource.UID != dataSource {
		errs = append(errs, fmt.Errorf("%s: datasource is not %s", where, dataSource))
	}
	if len(p.Targets) == 0 {
		errs = append(errs, fmt.Errorf("%s: no targets", where))
	}
	refs := map[string]bool{}
	for _, tg := range p.Targets {
		if tg.Expr == "" || refs[tg.RefID] {
			errs = append(errs, fmt.Errorf("%s: target %q has no expr or a refId used twice", where, tg.RefID))
		}
		if tg.Datasource != nil && tg.Datasource.UID != dataSource {
			errs = append(errs, fmt.Errorf("%s: target %s: datasource is not %s", where, tg.RefID, dataSource))
		}
		refs[tg.RefID] = true
	}
	return errs
}

// labelValues is a query variable's label_values(selector, label).
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*[A-Za-z_]\w*\)$`)

// queriesOf returns the PromQL of every panel target and query variable.
func queriesOf(d dashboard) ([]query, error) {
	var out []query
	for _, p := range allPanels(d.Panels) {
		for _, tg := range p.Targets {
			out = append(out, query{fmt.Sprintf("panel %d %q target %s", p.ID, p.Title, tg.RefID), tg.Expr})
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		if v.Datasource == nil || v.Datasource.UID != dataSource {
			return nil, fmt.Errorf("variable %s: datasource is not %s", v.Name, dataSource)
		}
		var q string
		if json.Unmarshal(v.Query, &q) != nil {
			var obj struct{ Query string }
			_ = json.Unmarshal(v.Query, &obj)
			q = obj.Query
		}
		m := labelValues.FindStringSubmatch(q)
		if m == nil {
			return nil, fmt.Errorf("variable %s: query %q is not label_values(selector, label)", v.Name, q)
		}
		out = append(out, query{"variable " + v.Name, m[1]})
	}
	return out, nil
}

var (
	// grafanaInterval is a range Grafana fills in.
	grafanaInterval = regexp.MustCompile(`\$\{?(__rate_interval|__interval|__range)\}?`)
	// templateVar is $name or ${name} or ${name:format}; $1 in
	// label_replace is not one.
	templateVar  = regexp.MustCompile(`\$\{([A-Za-z_]\w*)(?::\w+)?\}|\$([A-Za-z_]\w*)`)
	quotedString = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	metricName   = regexp.MustCompile(`\b(argocd|gotk|controller_runtime|workqueue|rest_client|go|process)_[a-z0-9_]+`)
)

// checkQueries checks that each query uses only the dashboard's variables
// and the metrics Tether exports.
func checkQueries(d dashboard, queries []query) []error {
	defined := map[string]bool{}
	for _, v := range d.Templating.List {
		defined[v.Name] = true
	}
	var errs []error
	for _, q := range queries {
		for _, m := range templateVar.FindAllStringSubmatch(grafanaInterval.ReplaceAllString(q.expr, "5m"), -1) {
			if name := m[1] + m[2]; !defined[name] {
				errs = append(errs, fmt.Errorf("%s: variable $%s is not defined in templating", q.where, name))
			}
		}
		if bad := unknownMetrics(q.expr); len(bad) > 0 {
			errs = append(errs, fmt.Errorf("%s: %v not exported by Tether: %s", q.where, bad, q.expr))
		}
	}
	return errs
}

// unknownMetrics returns the metric names in expr (outside label values)
// that Tether does not export.
func unknownMetrics(expr string) []string {
	var bad []string
	for _, name := range metricName.FindAllString(quotedString.ReplaceAllString(expr, `""`), -1) {
		if _, ok := exportedMetrics[name]; ok {
			continue
		}
		base := name
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			base = strings.TrimSuffix(base, suffix)
		}
		if !exportedMetrics[base] {
			bad = append(bad, name)
		}
	}
	return bad
}

// asPromQL replaces what Grafana would: ranges by 5m, variables in label
// values by a match-all regex. A variable anywhere else stays, and fails.
func asPromQL(expr string) string {
	expr = grafanaInterval.ReplaceAllString(expr, "5m")
	return quotedString.ReplaceAllStringFunc(expr, func(s string) string {
		return templateVar.ReplaceAllString(s, ".*")
	})
}

// parseWithPromtool writes the queries as recording rules
// (dashboard:expr_N) into dir and has promtool check them; its error names
// the queries that failed.
func parseWithPromtool(promtool, dir, group string, queries []query) error {
	var b strings.Builder
	fmt.Fprintf(&b, "groups:\n  - name: %s\n    rules:\n", yamlString(group))
	for i, q := range queries {
		fmt.Fprintf(&b, "      - record: dashboard:expr_%d\n        expr: %s\n", i, yamlString(asPromQL(q.expr)))
	}
	file := filepath.Join(dir, "dashboard-rules.yaml")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		return err
	}
	out, err := exec.Command(promtool, "check", "rules", file).CombinedOutput()
	if err == nil {
		return nil
	}
	msg := fmt.Sprintf("promtool check rules %s: %v\n%s", file, err, out)
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile(`dashboard:expr_(\d+)\b`).FindAllStringSubmatch(string(out), -1) {
		var i int
		if _, err := fmt.Sscan(m[1], &i); err == nil && i < len(queries) && !seen[m[1]] {
			seen[m[1]] = true
			msg += fmt.Sprintf("expr_%s is %s: %s\n", m[1], queries[i].where, queries[i].expr)
		}
	}
	return errors.New(msg)
}

// yamlString quotes s for YAML: a JSON string is a YAML double-quoted one.
func yamlString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
