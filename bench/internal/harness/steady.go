package harness

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Heal is how long Tether took to undo drift: a ConfigMap of a done app
// changed by someone else, until it reads what Git says again.
type Heal struct {
	// Samples is how many apps were drifted; Healed how many were
	// restored within HealTimeout.
	Samples, Healed int
	P50, P99, Max   time.Duration
}

// HealTimeout is how long one drifted object is watched before it counts
// as not healed.
const HealTimeout = time.Minute

// healPoll is how often a drifted object is read back: the resolution of
// the latencies.
const healPoll = 20 * time.Millisecond

// Heal drifts the first ConfigMap of samples apps spread over the round,
// one every 100 ms (as edits arrive in a busy cluster, not all at once),
// and measures each until Tether restored its data.
func (r *Round) Heal(t *testing.T, c client.Client, samples int) Heal {
	t.Helper()
	samples = min(samples, r.Apps)
	lat := make([]time.Duration, samples)
	var wg sync.WaitGroup
	for i := range samples {
		app := i * r.Apps / samples
		key := client.ObjectKey{Namespace: r.Name, Name: fmt.Sprintf("app-%04d-cm-00", app)}
		wg.Go(func() { lat[i] = drift(t, c, key) })
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	h := Heal{Samples: samples}
	var healed []time.Duration
	for _, d := range lat {
		if d > 0 {
			healed = append(healed, d)
		}
	}
	h.Healed = len(healed)
	if len(healed) == 0 {
		return h
	}
	sort.Slice(healed, func(i, j int) bool { return healed[i] < healed[j] })
	pct := func(p float64) time.Duration { return healed[min(len(healed)-1, int(p*float64(len(healed))))] }
	h.P50, h.P99, h.Max = pct(0.50), pct(0.99), healed[len(healed)-1]
	return h
}

// drift changes key's data as another field manager would and returns the
// time until it reads "value" again; 0 when it did not within HealTimeout.
func drift(t *testing.T, c client.Client, key client.ObjectKey) time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), HealTimeout)
	defer cancel()
	cm := &corev1.ConfigMap{}
	if err := c.Get(ctx, key, cm); err != nil {
		t.Errorf("drift %s: %v", key, err)
		return 0
	}
	patch := client.MergeFrom(cm.DeepCopy())
	cm.Data["key"] = "drifted"
	if err := c.Patch(ctx, cm, patch, client.FieldOwner("bench-drift")); err != nil {
		t.Errorf("drift %s: %v", key, err)
		return 0
	}
	start := time.Now()
	for ctx.Err() == nil {
		if err := c.Get(ctx, key, cm); err == nil && cm.Data["key"] == "value" {
			return time.Since(start)
		}
		time.Sleep(healPoll)
	}
	return 0
}

// Idle is what Tether did in a quiet window after every app was done and
// the drift healed: nothing changed in Git or in the cluster.
type Idle struct {
	Window time.Duration
	// Writes are Tether's create, update, patch and delete requests (dry
	// runs excluded), by verb and resource; the leader's Lease renewals
	// are counted apart, in LeaseWrites.
	Writes map[string]int
	// LeaseWrites are the writes to Leases: leader election renews its
	// Lease every retry period (2 s), whatever the load.
	LeaseWrites int
	// Requests are all its requests, by verb.
	Requests Requests
	// CPU is the share of one core Tether used, on average.
	CPU float64
}

// WriteCount is the number of writes.
func (i Idle) WriteCount() int {
	n := 0
	for _, v := range i.Writes {
		n += v
	}
	return n
}

// Idle watches Tether for window, doing nothing, and says what it did.
func (r *Round) Idle(t *testing.T, window time.Duration) Idle {
	t.Helper()
	pid := r.Tether.Cmd.Process.Pid
	mark, cpu0, start := AuditMark(t, r.env), cpuTicks(pid), time.Now()
	time.Sleep(window)
	ticks, took := cpuTicks(pid)-cpu0, time.Since(start)
	req := TetherRequests(t, r.env, mark)
	idle := Idle{Window: window, Requests: req, Writes: map[string]int{},
		CPU: float64(ticks) / clockTicks / took.Seconds()}
	for k, n := range req.ByResource {
		verb, _, _ := strings.Cut(k, " ")
		switch verb {
		case "create", "update", "patch", "delete":
			if strings.HasSuffix(k, " leases") {
				idle.LeaseWrites += n
				continue
			}
			idle.Writes[k] += n
		}
	}
	return idle
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/<pid>/stat times.
const clockTicks = 100

// cpuTicks is pid's user and system time so far, in clock ticks.
func cpuTicks(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	_, rest, _ := strings.Cut(string(data), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	// After the command: state is field 3, utime 14 and stime 15.
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

// IdleWindow is the quiet window to watch: TETHER_BENCH_IDLE (a Go
// duration) or def.
func IdleWindow(def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv("TETHER_BENCH_IDLE")); err == nil && d > 0 {
		return d
	}
	return def
}

// SteadyTable is the Markdown table of the drift and idle measurements.
func SteadyTable(results []Result) string {
	var b strings.Builder
	b.WriteString("| apps | drift healed (of samples) | heal p50 | heal p99 | heal max | idle window | Tether writes in it | Tether requests in it | Tether CPU in it |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range results {
		if r.Heal == nil || r.Idle == nil {
			continue
		}
		h, i := r.Heal, r.Idle
		writes := fmt.Sprint(i.WriteCount())
		if len(i.Writes) > 0 {
			writes += fmt.Sprintf(" (%v)", i.Writes)
		}
		fmt.Fprintf(&b, "| %d | %d of %d | %s | %s | %s | %s | %s | %s | %.1f %% of a core |\n", r.Apps, h.Healed, h.Samples,
			h.P50.Round(time.Millisecond), h.P99.Round(time.Millisecond), h.Max.Round(time.Millisecond),
			i.Window, writes, i.Requests, 100*i.CPU)
	}
	return b.String()
}

// HealSamples is how many apps Steady drifts.
const HealSamples = 100

// Steady measures the steady state once every app is done: drift heal
// latency over HealSamples apps, then an idle window (IdleWindow, one
// minute by default).
func (r *Round) Steady(t *testing.T, c client.Client, res *Result) {
	t.Helper()
	h := r.Heal(t, c, HealSamples)
	t.Logf("drift healed in %d of %d apps: p50 %s, p99 %s, max %s", h.Healed, h.Samples, h.P50, h.P99, h.Max)
	i := r.Idle(t, IdleWindow(time.Minute))
	t.Logf("idle %s: %d writes %v (and %d Lease renewals), requests %s, %.1f %% of a core", i.Window, i.WriteCount(), i.Writes, i.LeaseWrites, i.Requests, 100*i.CPU)
	res.Heal, res.Idle = &h, &i
}
