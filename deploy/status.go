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
	// Lock is lock.json (nil: free), judged by the host in LockStatus.
	Lock       *state.Lock
	LockStatus state.LockStatus
	Colours    map[version.Colour][]container.Container
	History    []state.Entry
	// NeedsReconcile says why an interrupted run must be reconciled (a
	// deployment left in flight, or the lock of a holder that is gone);
	// "" when nothing needs it. `go tool mage reconcile`, or any
	// deployment, rollback or restore, does it.
	NeedsReconcile string
	// EnvFileSHA256 is the SHA-256 of the host's env file now
	// (state.NoEnvFile when it is missing), to compare with the one the
	// current release was started with; "" when the environment has no
	// env_file or it could not be read (EnvFileErr).
	EnvFileSHA256 string
	EnvFileErr    string
}

// reconcileCommand is what fixes an interrupted run.
const reconcileCommand = "go tool mage reconcile"

// Status reports, read-only: it stops, removes and releases nothing. An
// interrupted run is reported (NeedsReconcile), not reconciled.
func (e *Engine) Status(ctx context.Context, historyLines int) (*Status, error) {
	s := &Status{Environment: e.Env.Name, Host: e.Host.Name(), Colours: map[version.Colour][]container.Container{}}
	var err error
	if s.State, err = e.Store.Load(ctx); err != nil {
		return nil, err
	}
	if live, err := e.proxyLive(ctx, state.State{}); err == nil {
		s.ProxyLive = string(live)
	} else {
		s.ProxyLive = "unknown (" + err.Error() + ")"
	}
	if s.LockStatus, err = e.Store.Inspect(ctx); err != nil {
		return nil, err
	}
	s.Lock = s.LockStatus.Lock
	switch in := s.State.InFlight; {
	case s.LockStatus.Alive:
		// A live run: what is in flight is its own.
	case in != nil:
		s.NeedsReconcile = fmt.Sprintf("%s of %s (%s) was interrupted in phase %s", in.Kind, in.Version, in.DeploymentID, in.Phase)
	case s.LockStatus.Stale:
		s.NeedsReconcile = "the lock's holder is gone: " + s.Lock.String()
	}
	for _, c := range []version.Colour{version.Blue, version.Green} {
		cs, err := container.Containers(ctx, e.docker, e.App, string(c))
		if err != nil {
			return nil, err
		}
		s.Colours[c] = cs
	}
	if s.History, err = e.Store.History(ctx, historyLines); err != nil {
		return nil, err
	}
	if e.Env.EnvFile != "" {
		if _, sum, err := e.readHostEnvFile(ctx); err != nil {
			s.EnvFileErr = err.Error()
		} else {
			s.EnvFileSHA256 = sum
		}
	}
	return s, nil
}

// Write prints the status for people.
func (s *Status) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if s.NeedsReconcile != "" {
		fmt.Fprintf(tw, "INTERRUPTED\t%s: run `%s` (or any deployment) to reconcile\n", s.NeedsReconcile, reconcileCommand)
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
	if line := s.envFileLine(); line != "" {
		fmt.Fprintf(tw, "env file\t%s\n", line)
	}
	if sb := s.State.Standby; sb != nil {
		window := "until " + sb.Until.UTC().Format(time.RFC3339)
		if !sb.Active(time.Now()) {
			window += " (ended: the host's job stops it, or the next run)"
		}
		fmt.Fprintf(tw, "standby\t%s runs %s warm, unrouted, %s\n", sb.Colour, sb.Release, window)
	}
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
	ls := s.LockStatus
	switch {
	case s.Lock == nil && !ls.Held:
		fmt.Fprintf(tw, "lock\tfree\n")
	case s.Lock == nil:
		fmt.Fprintf(tw, "lock\tbeing taken\n")
	case ls.Alive:
		renewed := ""
		if !ls.Renewed.IsZero() && !ls.HostNow.IsZero() {
			renewed = fmt.Sprintf(", renewed %s ago by the host's clock", ls.HostNow.Sub(ls.Renewed).Round(time.Second))
		}
		fmt.Fprintf(tw, "lock\theld by %s (alive%s)\n", s.Lock, renewed)
	case ls.Legacy:
		fmt.Fprintf(tw, "lock\tLEGACY: %s, taken by an older blueshift that cannot show it is alive (if it is gone: `go tool mage lock:release`)\n", s.Lock)
	default:
		fmt.Fprintf(tw, "lock\tSTALE: %s: its holder is gone (`%s` takes it over)\n", s.Lock, reconcileCommand)
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

// envFileLine says whether the host's env file changed since the current
// release was started: hashes only, never the content.
func (s *Status) envFileLine() string {
	if s.EnvFileErr != "" {
		return "unknown (" + s.EnvFileErr + ")"
	}
	if s.EnvFileSHA256 == "" {
		return ""
	}
	line := state.EnvFileLabel(s.EnvFileSHA256)
	var was string
	if s.State.Current != nil {
		was = s.State.Current.EnvFileSHA256
	}
	switch {
	case s.State.Current == nil:
	case was == "":
		line += " (the current release's is not recorded)"
	case state.EnvFileChanged(was, s.EnvFileSHA256):
		line += fmt.Sprintf(" CHANGED since %s was deployed with %s: the next deployment applies it", s.State.Current.Version, state.EnvFileLabel(was))
	default:
		line += " (as " + s.State.Current.Version + " was deployed)"
	}
	return line
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
