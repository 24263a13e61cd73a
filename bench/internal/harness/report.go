package harness

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tether-gitops/tether/internal/testenv"
)

// Requests counts Tether's API requests, by verb ("patch(dry-run)" for
// dry runs) and by verb and resource ("patch configmaps",
// "patch applications/status").
type Requests struct {
	ByVerb     map[string]int
	ByResource map[string]int
}

// verbOrder is the order verbs are printed in.
var verbOrder = []string{"get", "list", "watch", "create", "patch", "patch(dry-run)", "update", "delete"}

// String lists the counts by verb, "get 1002, create 174, ...".
func (r Requests) String() string {
	var parts []string
	for _, v := range verbOrder {
		if r.ByVerb[v] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", v, r.ByVerb[v]))
		}
	}
	return strings.Join(parts, ", ")
}

// Detail lists the counts by verb and resource, most first, one a line,
// each also divided by apps.
func (r Requests) Detail(apps int) string {
	keys := make([]string, 0, len(r.ByResource))
	for k := range r.ByResource {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if r.ByResource[keys[i]] != r.ByResource[keys[j]] {
			return r.ByResource[keys[i]] > r.ByResource[keys[j]]
		}
		return keys[i] < keys[j]
	})
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%8d %7.1f/app  %s\n", r.ByResource[k], float64(r.ByResource[k])/float64(max(apps, 1)), k)
	}
	return b.String()
}

// AuditMark returns how many requests the audit log holds now; pass it to
// TetherRequests to count only what came after.
func AuditMark(t testing.TB, env *testenv.Env) int {
	t.Helper()
	events, err := env.AuditEvents()
	if err != nil {
		t.Fatal(err)
	}
	return len(events)
}

// TetherRequests counts the requests of Tether (user agent "tether") that
// the audit log recorded after mark.
func TetherRequests(t testing.TB, env *testenv.Env, mark int) Requests {
	t.Helper()
	events, err := env.AuditEvents()
	if err != nil {
		t.Fatal(err)
	}
	r := Requests{ByVerb: map[string]int{}, ByResource: map[string]int{}}
	for _, e := range events[min(mark, len(events)):] {
		if !strings.HasPrefix(e.UserAgent, "tether") {
			continue
		}
		verb := e.Verb
		if strings.Contains(e.RequestURI, "dryRun=All") {
			verb += "(dry-run)"
		}
		r.ByVerb[verb]++
		r.ByResource[verb+" "+resourceOf(e.RequestURI)]++
	}
	return r
}

// resourceOf names the resource (and subresource) of an API path:
// "/api/v1/namespaces/a/configmaps/b?x" is "configmaps",
// ".../applications/b/status" is "applications/status".
func resourceOf(uri string) string {
	path, _, _ := strings.Cut(uri, "?")
	seg := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(seg) >= 2 && seg[0] == "api":
		seg = seg[2:]
	case len(seg) >= 3 && seg[0] == "apis":
		seg = seg[3:]
	default:
		return path
	}
	if len(seg) > 2 && seg[0] == "namespaces" {
		seg = seg[2:]
	}
	switch {
	case len(seg) == 0:
		return path
	case len(seg) >= 3:
		return seg[0] + "/" + seg[2]
	default:
		return seg[0]
	}
}

// Result is one benchmark size: n apps of ObjectsPerApp objects.
type Result struct {
	// Apps is how many apps were measured.
	Apps int
	// Ceiling is the API server's server-side-apply ceiling (objects/s)
	// measured in the same run.
	Ceiling float64
	// ValidatedCeiling is the same with a dry run before each apply
	// (see ValidatedCeiling); 0 when not measured.
	ValidatedCeiling float64
	// Took is the time until every app was done.
	Took time.Duration
	// Requests are Tether's API requests meanwhile.
	Requests Requests
	// PeakKiB is the tether process's peak RSS.
	PeakKiB int64
	// Heal and Idle, when measured, are the steady state after every app
	// was done (see Round.Heal and Round.Idle).
	Heal *Heal
	Idle *Idle
}

// Row is r as a row of Table.
func (r Result) Row() string {
	objs := float64(r.Apps*ObjectsPerApp) / r.Took.Seconds()
	validated := "-"
	if r.ValidatedCeiling > 0 {
		validated = fmt.Sprintf("%.0f (%.2f)", r.ValidatedCeiling, objs/r.ValidatedCeiling)
	}
	return fmt.Sprintf("| %d x %d | %.0f | %s | %s | %.0f | %.2f | %.1f | %s | %d MiB |", r.Apps, ObjectsPerApp, r.Ceiling, validated,
		r.Took.Round(100*time.Millisecond), objs, objs/r.Ceiling, float64(r.Apps)/r.Took.Seconds(), r.Requests, r.PeakKiB>>10)
}

// Table is the Markdown table of results; done names the time column
// ("time to all Ready") and rate the apps-per-second column.
func Table(done, rate string, results []Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| apps x objects | API server SSA ceiling (objects/s) | with a dry run first (objects/s, Tether's ratio to it) | Tether: %s | Tether objects/s | ratio to ceiling | %s | API requests by verb (Tether) | Tether peak RSS |\n", done, rate)
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range results {
		b.WriteString(r.Row() + "\n")
	}
	return b.String()
}

// Report logs table and writes it to the file that the environment
// variable outEnv names, when set (`make bench` keeps copies in .local).
func Report(t testing.TB, outEnv, table string) {
	t.Helper()
	t.Log("\n" + table)
	if out := os.Getenv(outEnv); out != "" {
		if err := os.WriteFile(out, []byte(table), 0o644); err != nil {
			t.Error(err)
		}
	}
}
