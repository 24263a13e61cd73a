package harness

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// resultJSON is one Result as saved under bench/results.
type resultJSON struct {
	Benchmark          string  `json:"benchmark"`
	Date               string  `json:"date"`
	Apps               int     `json:"apps"`
	ObjectsPerApp      int     `json:"objectsPerApp"`
	CeilingObjectsPerS float64 `json:"ceilingObjectsPerSecond"`
	Seconds            float64 `json:"seconds"`
	ObjectsPerS        float64 `json:"objectsPerSecond"`
	RatioToCeiling     float64 `json:"ratioToCeiling"`
	// ValidatedCeilingObjectsPerS is the ceiling with a dry run before
	// each apply; RatioToValidated is Tether's ratio to it.
	ValidatedCeilingObjectsPerS float64        `json:"validatedCeilingObjectsPerSecond,omitempty"`
	RatioToValidated            float64        `json:"ratioToValidatedCeiling,omitempty"`
	RequestsByVerb              map[string]int `json:"requestsByVerb"`
	PeakRSSMiB                  int64          `json:"peakRSSMiB"`
	Heal                        *healJSON      `json:"driftHeal,omitempty"`
	Idle                        *idleJSON      `json:"idle,omitempty"`
}

type healJSON struct {
	Samples    int     `json:"samples"`
	Healed     int     `json:"healed"`
	P50Seconds float64 `json:"p50Seconds"`
	P99Seconds float64 `json:"p99Seconds"`
	MaxSeconds float64 `json:"maxSeconds"`
}

type idleJSON struct {
	WindowSeconds  float64        `json:"windowSeconds"`
	Writes         map[string]int `json:"writes"`
	RequestsByVerb map[string]int `json:"requestsByVerb"`
	CPUCores       float64        `json:"cpuCores"`
}

// SaveJSON writes results, one file per size, into the folder that
// TETHER_BENCH_RESULTS_DIR names (`make bench`: bench/results), as
// <benchmark>-<apps>.json; nothing when it is unset.
func SaveJSON(t testing.TB, benchmark string, results []Result) {
	t.Helper()
	dir := os.Getenv("TETHER_BENCH_RESULTS_DIR")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Error(err)
		return
	}
	for _, r := range results {
		objs := float64(r.Apps*ObjectsPerApp) / r.Took.Seconds()
		out := resultJSON{Benchmark: benchmark, Date: time.Now().UTC().Format(time.DateOnly), Apps: r.Apps, ObjectsPerApp: ObjectsPerApp,
			CeilingObjectsPerS: r.Ceiling, Seconds: r.Took.Seconds(), ObjectsPerS: objs, RatioToCeiling: objs / r.Ceiling,
			RequestsByVerb: r.Requests.ByVerb, PeakRSSMiB: r.PeakKiB >> 10}
		if r.ValidatedCeiling > 0 {
			out.ValidatedCeilingObjectsPerS, out.RatioToValidated = r.ValidatedCeiling, objs/r.ValidatedCeiling
		}
		if h := r.Heal; h != nil {
			out.Heal = &healJSON{Samples: h.Samples, Healed: h.Healed, P50Seconds: h.P50.Seconds(), P99Seconds: h.P99.Seconds(), MaxSeconds: h.Max.Seconds()}
		}
		if i := r.Idle; i != nil {
			out.Idle = &idleJSON{WindowSeconds: i.Window.Seconds(), Writes: i.Writes, RequestsByVerb: i.Requests.ByVerb, CPUCores: i.CPU}
		}
		data, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			t.Error(err)
			return
		}
		name := filepath.Join(dir, benchmark+"-"+strconv.Itoa(r.Apps)+".json")
		if err := os.WriteFile(name, append(data, '\n'), 0o644); err != nil {
			t.Error(err)
		}
	}
}
