package project

import (
	"fmt"
	"strings"
	"time"
	// Embedded so that windows with a timeZone work in images without
	// /usr/share/zoneinfo, instead of silently falling back to UTC.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// CanSync says whether the Application named app, deploying to dest, may
// sync at now under the project's sync windows; manual is true for a sync
// a user asked for and false for an automated one. It follows Argo CD:
//
//   - windows select the Application by name, by destination cluster
//     (dest.Name or dest.Server) or by destination namespace, any one
//     selector sufficing unless the window sets andOperator, in which case
//     every selector it sets must match;
//   - with no selecting window, every sync may run;
//   - an active deny window blocks every sync, except manual ones when all
//     active deny windows set manualSync; deny wins over allow;
//   - otherwise an active allow window lets every sync run;
//   - otherwise, if allow windows select the Application, syncs wait for
//     one to open, except manual ones when all of them set manualSync.
//
// A window is active from each time its cron schedule fires, in its
// timeZone (UTC when empty or unknown), for its duration. When ok is
// false, reason names the blocking windows or the window that cannot be
// read; when a manual sync passes a window because of manualSync, reason
// says so; it is empty otherwise.
func (p *Project) CanSync(app string, dest argov1.ApplicationDestination, manual bool, now time.Time) (ok bool, reason string) {
	var activeDeny, activeAllow, inactiveAllow []indexedWindow
	for i := range p.Spec.SyncWindows {
		w := indexedWindow{index: i, SyncWindow: &p.Spec.SyncWindows[i]}
		if !w.selects(app, dest) {
			continue
		}
		active, err := w.activeAt(now)
		if err != nil {
			return false, fmt.Sprintf("invalid sync window %s: %v", w, err)
		}
		switch {
		case active && w.Kind == argov1.SyncWindowKindDeny:
			activeDeny = append(activeDeny, w)
		case active && w.Kind == argov1.SyncWindowKindAllow:
			activeAllow = append(activeAllow, w)
		case !active && w.Kind == argov1.SyncWindowKindAllow:
			inactiveAllow = append(inactiveAllow, w)
		}
	}
	switch {
	case len(activeDeny) > 0:
		return decide(activeDeny, manual, "active deny window")
	case len(activeAllow) > 0:
		return true, ""
	case len(inactiveAllow) > 0:
		return decide(inactiveAllow, manual, "outside allow window")
	}
	return true, ""
}

// decide lets a manual sync through windows that all set manualSync and
// blocks every other sync, explaining either way.
func decide(windows []indexedWindow, manual bool, what string) (bool, string) {
	manualAllowed := true
	for _, w := range windows {
		manualAllowed = manualAllowed && w.ManualSync
	}
	names := windowNames(windows)
	if manual && manualAllowed {
		return true, fmt.Sprintf("manual sync allowed by manualSync (%s %s)", what, names)
	}
	reason := fmt.Sprintf("sync blocked: %s %s", what, names)
	if !manual && manualAllowed {
		reason += "; manual syncs are allowed"
	}
	return false, reason
}

// indexedWindow is a sync window with its place in spec.syncWindows.
type indexedWindow struct {
	index int
	*argov1.SyncWindow
}

// String names the window by field path and as Argo CD's CLI shows it.
func (w indexedWindow) String() string {
	s := fmt.Sprintf("spec.syncWindows[%d] (%s:%s:%s", w.index, w.Kind, w.Schedule, w.Duration)
	if w.TimeZone != "" {
		s += " " + w.TimeZone
	}
	return s + ")"
}

func windowNames(windows []indexedWindow) string {
	names := make([]string, len(windows))
	for i, w := range windows {
		names[i] = w.String()
	}
	return strings.Join(names, ", ")
}

// selects says whether the window applies to the Application.
func (w indexedWindow) selects(app string, dest argov1.ApplicationDestination) bool {
	appMatched := anyGlob(w.Applications, app)
	namespaceMatched := anyGlob(w.Namespaces, dest.Namespace)
	clusterMatched := false
	for _, c := range w.Clusters {
		if (dest.Name != "" && globMatch(c, dest.Name, false)) || (dest.Server != "" && globMatch(c, dest.Server, false)) {
			clusterMatched = true
			break
		}
	}
	if !w.UseAndOperator {
		return appMatched || namespaceMatched || clusterMatched
	}
	if len(w.Applications) == 0 && len(w.Namespaces) == 0 && len(w.Clusters) == 0 {
		return false
	}
	return (len(w.Applications) == 0 || appMatched) &&
		(len(w.Namespaces) == 0 || namespaceMatched) &&
		(len(w.Clusters) == 0 || clusterMatched)
}

func anyGlob(patterns []string, val string) bool {
	for _, p := range patterns {
		if globMatch(p, val, false) {
			return true
		}
	}
	return false
}

// activeAt says whether the window is open at now. Like Argo CD, it reads
// the schedule against the wall clock of the window's time zone by
// shifting now by that zone's offset at now.
func (w indexedWindow) activeAt(now time.Time) (bool, error) {
	schedule, err := parseSchedule(w.Schedule)
	if err != nil {
		return false, fmt.Errorf("cannot parse schedule '%s': %w", w.Schedule, err)
	}
	duration, err := time.ParseDuration(w.Duration)
	if err != nil {
		return false, fmt.Errorf("cannot parse duration '%s': %w", w.Duration, err)
	}
	loc, err := time.LoadLocation(w.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	_, offset := now.In(loc).Zone()
	shift := time.Duration(offset) * time.Second
	utc := now.UTC()
	start := schedule.Next(utc.Add(shift - duration))
	// A schedule that never fires (such as February 30th) gives the zero
	// time; the window is then never open.
	return !start.IsZero() && start.Before(utc.Add(shift)), nil
}

// parseSchedule reads a five-field cron expression (minute, hour, day of
// month, month, day of week), the form Argo CD accepts.
func parseSchedule(spec string) (cron.Schedule, error) {
	parser := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)
	return parser.Parse(spec)
}
