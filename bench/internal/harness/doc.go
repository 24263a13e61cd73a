// Package harness holds what the benchmarks in bench/ share, so that each
// of them measures the same thing the same way: the sizes to run, a Git
// repository of N apps of ObjectsPerApp ConfigMaps, the `tether run`
// flags, the API server's own server-side-apply ceiling, Tether's API
// requests from the audit log, its peak RSS, and the table every benchmark
// prints.
//
// A benchmark package starts its cluster with the audit log on
// (testenv.Options{Audit: true}) and says how to create its apps and when
// they are done; Scale does the rest for each size:
//
//	func TestScale(t *testing.T) {
//		results := harness.Scale(t, env, func(t *testing.T, c client.Client, r *harness.Round) harness.Result {
//			for a := range r.Apps {
//				// create app a: r.URL at r.Head, path harness.AppPath(a),
//				// into namespace r.Name
//			}
//			return r.Await(t, func() (int, string) { return countDone(c), "" })
//		}, 100, 1000) // TETHER_BENCH_APPS=10,50 overrides the sizes
//		harness.Report(t, "TETHER_BENCH_OUT_X", harness.Table("time to all Ready", "reconciles/s", results))
//	}
package harness
