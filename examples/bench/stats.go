package bench

import (
	"slices"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy"
)

// Median returns the median of ds (the mean of the two middle values for an
// even count); zero for none.
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Overhead is blueshift's own share of a deployment's wall time: total minus
// the image pull, the app's readiness (the health phase, spent waiting for
// the app to answer) and the configured waits (drain, monitor window).
// It is never negative.
func Overhead(total, pull, readiness, waits time.Duration) time.Duration {
	o := total - pull - readiness - waits
	if o < 0 {
		return 0
	}
	return o
}

// Readiness is the app's readiness in a deployment's health phase: the
// phase's time minus the time of the commands it ran on the host (the
// in-flight marker written as the phase starts is blueshift's own work;
// the probes are not commands). Overhead subtracts it.
func Readiness(health deploy.PhaseResult) time.Duration {
	return max(health.Duration-health.RemoteTime, 0)
}

// Sample is one request of a version poll: when it was sent and which
// version answered ("" when it failed).
type Sample struct {
	At      time.Time
	Version string
	OK      bool
}

// FinalStreak returns when the last unbroken run of successful answers from
// version want began, if that run reaches the end of samples and holds at
// least k answers: from then on the old version answered every request.
func FinalStreak(samples []Sample, want string, k int) (time.Time, bool) {
	n := 0
	for i := len(samples) - 1; i >= 0; i-- {
		s := samples[i]
		if !s.OK || s.Version != want {
			break
		}
		n++
	}
	if n == 0 || n < k {
		return time.Time{}, false
	}
	return samples[len(samples)-n].At, true
}

// FirstAnswer returns when the first successful answer from version want
// sent at or after from was sent: the moment the old version answered
// again through the proxy.
func FirstAnswer(samples []Sample, want string, from time.Time) (time.Time, bool) {
	for _, s := range samples {
		if s.OK && s.Version == want && !s.At.Before(from) {
			return s.At, true
		}
	}
	return time.Time{}, false
}

// FirstFailure returns when the first failed sample was taken.
func FirstFailure(samples []Sample) (time.Time, bool) {
	for _, s := range samples {
		if !s.OK {
			return s.At, true
		}
	}
	return time.Time{}, false
}

// PhaseMedians returns each phase's median duration over runs, in the order
// phases first appear; a phase missing from a run is left out of that
// phase's median. Undo steps are not phases of a deployment and are
// skipped.
func PhaseMedians(runs [][]PhaseTime) []PhaseRow {
	var order []string
	by := map[string][]time.Duration{}
	for _, r := range runs {
		for _, p := range r {
			if _, seen := by[p.Name]; !seen {
				order = append(order, p.Name)
			}
			by[p.Name] = append(by[p.Name], p.Duration)
		}
	}
	rows := make([]PhaseRow, 0, len(order))
	for _, name := range order {
		ds := by[name]
		rows = append(rows, PhaseRow{Name: name, Median: Median(ds), Min: slices.Min(ds), Max: slices.Max(ds), Runs: len(ds)})
	}
	return rows
}

// PhaseTime is one phase's wall time in one deployment.
type PhaseTime struct {
	Name     string        `json:"name"`
	Duration time.Duration `json:"duration_ns"`
}
