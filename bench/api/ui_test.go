package api

import (
	"fmt"
	"testing"
	"time"

	"github.com/tether-gitops/tether/internal/testenv/browser"
)

// uiSamples is how many page loads and filters make each percentile.
const uiSamples = 10

// uiFigures are what the browser measured.
type uiFigures struct {
	firstPaint, filter percentiles
	heapMiB            float64
}

// firstRowsJS resolves, once a frame shows rows of the app list, to the
// time since the navigation started (ms).
const firstRowsJS = `new Promise(r => { const f = () => document.querySelector("table.apps tbody tr") ? r(performance.now()) : requestAnimationFrame(f); f(); })`

// filterJS ticks the "Degraded" health filter and resolves, once a frame
// shows the filtered list, to the time the filter took (ms).
const filterJS = `new Promise(r => {
  const count = () => (document.querySelector("p[aria-live]") || {}).innerText;
  const before = count();
  const box = [...document.querySelectorAll("fieldset.facet label")].find(l => l.innerText.startsWith("Degraded")).querySelector("input");
  const t0 = performance.now();
  box.click();
  const f = () => count() !== before && document.querySelector("table.apps tbody tr") ? r(performance.now() - t0) : requestAnimationFrame(f);
  requestAnimationFrame(f);
})`

// measureUI logs in through the UI in headless Chromium and measures, as
// the browser sees it, the first paint of the app list (from navigation
// start to the first frame with rows) and a filter (from the click to the
// first frame with the filtered rows), and the page's JavaScript heap.
func measureUI(t *testing.T, base, password string, n int) uiFigures {
	b := browser.New(t, base)
	b.Login("admin", password)
	b.WaitFor("the first page of apps", fmt.Sprintf(`document.querySelectorAll("table.apps tbody tr").length === 50 && document.querySelector("p[aria-live]").innerText.startsWith("%d ")`, n), time.Minute)
	var paints, filters []time.Duration
	for range uiSamples {
		b.Open("/")
		ms, err := browser.Eval[float64](b, firstRowsJS)
		if err != nil {
			t.Fatal(err)
		}
		paints = append(paints, time.Duration(ms*float64(time.Millisecond)))
		ms, err = browser.Eval[float64](b, filterJS)
		if err != nil {
			t.Fatal(err)
		}
		filters = append(filters, time.Duration(ms*float64(time.Millisecond)))
	}
	b.WaitFor("only the Degraded apps", fmt.Sprintf(`document.querySelector("p[aria-live]").innerText.startsWith("%d ")`, n/10), time.Minute)
	heap, err := browser.Eval[float64](b, `performance.memory.usedJSHeapSize`)
	if err != nil {
		t.Fatal(err)
	}
	return uiFigures{firstPaint: percentilesOf(paints), filter: percentilesOf(filters), heapMiB: heap / (1 << 20)}
}
