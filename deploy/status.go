package deploy

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/container"
	"github.com/blueshift-deploy/blueshift/deploy/state"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// Status is what `status` shows: the live colour (by the proxy and by
// state), the releases, each colour's containers, the lock and the last
// history entries.
type Status struct {
	Environment string
	Host        string
	ProxyLive   string // "" when there is no proxy or it was never switched
	State       state.State
	Lock        *state.Lock
	LockStale   bool
	Colours     map[version.Colour][]container.Container
	History     []state.Entry
	// Reconciled is set when an interrupted run was found and reconciled.
	Reconciled *Reconciliation
}

// Status reconciles an interrupted run if there is one, then reports.
func (e *Engine) Status(ctx context.Context, historyLines int) (*Status, error) {
	rec, err := e.Reconcile(ctx)
	if err != nil {
		return nil, err
	}
	s := &Status{Environment: e.Env.Name, Host: e.Host.Name(), Reconciled: rec, Colours: map[version.Colour][]container.Container{}}
	if s.State, err = e.Store.Load(ctx); err != nil {
		return nil, err
	}
	if live, err := e.proxyLive(ctx, state.State{}); err == nil {
		s.ProxyLive = string(live)
	} else {
		s.ProxyLive = "unknown (" + err.Error() + ")"
	}
	if s.Lock, err = e.Store.ReadLock(ctx); err != nil {
		return nil, err
	}
	if s.Lock != nil {
		s.LockStale = state.IsStale(*s.Lock, time.Now(), e.Env.Timeouts.Deployment)
	}
	for _, c := range []version.Colour{version.Blue, version.Green} {
		cs, err := container.Containers(ctx, e.Docker, e.App, string(c))
		if err != nil {
			return nil, err
		}
		s.Colours[c] = cs
	}
	if s.History, err = e.Store.History(ctx, historyLines); err != nil {
		return nil, err
	}
	return s, nil
}

// Write prints the status for people.
func (s *Status) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if r := s.Reconciled; r != nil {
		fmt.Fprintf(tw, "RECONCILED\tan interrupted run was found: %s\n", strings.Join(r.Actions, "; "))
	}
	fmt.Fprintf(tw, "environment\t%s on %s\n", s.Environment, s.Host)
	live := s.State.Live
	if live == "" {
		live = "none"
	}
	if s.ProxyLive != "" && s.ProxyLive != live {
		live += " (proxy: " + s.ProxyLive + ")"
	}
	fmt.Fprintf(tw, "live colour\t%s\n", live)
	fmt.Fprintf(tw, "current\t%s\n", describeRelease(s.State.Current))
	fmt.Fprintf(tw, "previous\t%s\n", describeRelease(s.State.Previous))
	for _, c := range []version.Colour{version.Blue, version.Green} {
		var parts []string
		for _, ct := range s.Colours[c] {
			parts = append(parts, fmt.Sprintf("%s %s %s (%s)", ct.Service, ct.Labels["blueshift.version"], ct.State, ct.Status))
		}
		if len(parts) == 0 {
			parts = []string{"no containers"}
		}
		fmt.Fprintf(tw, "%s\t%s\n", c, strings.Join(parts, "; "))
	}
	switch {
	case s.Lock == nil:
		fmt.Fprintf(tw, "lock\tfree\n")
	case s.LockStale:
		fmt.Fprintf(tw, "lock\tSTALE: %s (release with `go tool mage lock:release`)\n", s.Lock)
	default:
		fmt.Fprintf(tw, "lock\theld by %s\n", s.Lock)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(s.History) > 0 {
		fmt.Fprintln(w, "\nhistory (newest last):")
		return WriteHistory(w, s.History)
	}
	return nil
}

// WriteHistory prints history entries as a table.
func WriteHistory(w io.Writer, entries []state.Entry) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tKIND\tVERSION\tOUTCOME\tCOLOUR\tBY\tDETAIL")
	for _, e := range entries {
		detail := e.Reason
		if e.Error != "" {
			failure := firstLine(e.Error)
			if e.Phase != "" {
				failure = e.Phase + ": " + failure
			}
			if detail != "" {
				detail += "; "
			}
			detail += failure
		}
		if e.TestsSkipped {
			detail = "TESTS SKIPPED " + detail
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.UTC().Format("2006-01-02 15:04:05"), e.Kind, e.Version, e.Outcome, e.Colour, e.Actor, detail)
	}
	return tw.Flush()
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	if len(line) > 120 {
		line = line[:117] + "..."
	}
	return line
}

func describeRelease(r *state.Release) string {
	if r == nil {
		return "none"
	}
	s := fmt.Sprintf("%s on %s", r.Version, r.Colour)
	if !r.DeployedAt.IsZero() {
		s += ", deployed " + r.DeployedAt.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	if r.Commit != "" {
		s += ", commit " + r.Commit[:min(7, len(r.Commit))]
	}
	return s
}
