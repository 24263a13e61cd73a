package harness

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/internal/testenv"
)

// Ceiling server-side applies objects ConfigMaps from 16 workers, directly
// and with no client-side rate limit, and returns objects per second: the
// API server's own ceiling on this machine, to which a benchmark compares
// Tether.
func Ceiling(t testing.TB, cfg *rest.Config, objects int) float64 {
	t.Helper()
	return ceiling(t, cfg, objects, false)
}

// ValidatedCeiling is Ceiling with a server-side dry run of each object
// before its apply: the API server's ceiling for any tool that, as
// Tether does, has the API server validate every new object before it
// writes any (so that an invalid one changes nothing).
func ValidatedCeiling(t testing.TB, cfg *rest.Config, objects int) float64 {
	t.Helper()
	return ceiling(t, cfg, objects, true)
}

func ceiling(t testing.TB, cfg *rest.Config, objects int, dryRunFirst bool) float64 {
	t.Helper()
	ctx := context.Background()
	cfg = rest.CopyConfig(cfg)
	// The test's admin config is throttled (QPS 200, burst 400): that
	// would be the client's ceiling, not the API server's.
	cfg.QPS, cfg.Burst, cfg.RateLimiter = -1, 0, nil
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ns := fmt.Sprintf("ceiling-%d", objects)
	if dryRunFirst {
		ns = fmt.Sprintf("ceiling-validated-%d", objects)
	}
	if err := CreateNamespace(c, ns); err != nil {
		t.Fatal(err)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range 16 {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(objects) {
					return
				}
				cm := &corev1.ConfigMap{
					TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%05d", i), Namespace: ns},
					Data:       map[string]string{"key": "value"},
				}
				if dryRunFirst {
					if err := c.Patch(ctx, cm.DeepCopy(), client.Apply, client.FieldOwner("ceiling"), client.ForceOwnership, client.DryRunAll); err != nil {
						t.Error(err)
						return
					}
				}
				if err := c.Patch(ctx, cm, client.Apply, client.FieldOwner("ceiling"), client.ForceOwnership); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return float64(objects) / time.Since(start).Seconds()
}

// Await polls count every half second until it reports n done, sampling
// the tether process's peak RSS, and returns that peak in KiB. It logs
// progress every 15 seconds, and fails the test with count's summary of
// what is not done after timeout or at once when tether has exited.
func Await(t testing.TB, tether *testenv.Tether, n int, timeout time.Duration, count func() (done int, summary string)) int64 {
	t.Helper()
	start := time.Now()
	lastLog := start
	var peak int64
	for {
		peak = max(peak, PeakRSS(tether.Cmd.Process.Pid))
		done, summary := count()
		if done >= n {
			return peak
		}
		if time.Since(start) > timeout {
			t.Fatalf("%d of %d done after %s: %s", done, n, timeout, summary)
		}
		if exited(tether.Cmd.Process.Pid) {
			t.Fatalf("tether exited; %d of %d done: %s", done, n, summary)
		}
		if time.Since(lastLog) >= 15*time.Second {
			lastLog = time.Now()
			t.Logf("%s: %d of %d done (%s)", time.Since(start).Round(time.Second), done, n, summary)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// exited reports whether pid has ended: a child that nobody has waited
// for yet stays a zombie.
func exited(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses.
	_, rest, ok := strings.Cut(string(data), ") ")
	return !ok || strings.HasPrefix(rest, "Z") || strings.HasPrefix(rest, "X")
}

// PeakRSS returns the peak resident set size of pid in KiB (VmHWM), or 0
// when it cannot be read.
func PeakRSS(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				v, _ := strconv.ParseInt(f[0], 10, 64)
				return v
			}
		}
	}
	return 0
}
