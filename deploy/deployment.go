package deploy

import (
	"log/slog"
	"sync"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/state"
	"github.com/blueshift-deploy/blueshift/deploy/version"
	"github.com/blueshift-deploy/blueshift/health"
)

// Outcome is how a deployment ended.
type Outcome string

// Outcomes.
const (
	OutcomeSucceeded      Outcome = "succeeded"
	OutcomeFailed         Outcome = "failed"          // stopped before anything changed for users
	OutcomeRolledBack     Outcome = "rolled-back"     // failed; what was done was undone
	OutcomeRollbackFailed Outcome = "rollback-failed" // failed, and an undo step failed too: look now
)

// Deployment is the state threaded through a pipeline's phases: what is being
// deployed, where, and what each phase found or did. User phases read and
// write it like the built-in ones; Values holds anything of their own.
type Deployment struct {
	Environment  string
	Version      version.Version
	ID           string // prod-v1.0.1-20241227_183050
	Commit       string
	Actor        string
	Reason       string
	TestsSkipped bool
	Live         version.Colour // serving when the deployment started ("" on a first deployment)
	Next         version.Colour // being brought up
	Switched     bool           // traffic has been moved to Next

	// Previous is the release live when the deployment started (nil on a
	// first deployment); Release is the one being deployed, filled in as
	// phases learn its images and digests.
	Previous *state.Release
	Release  *state.Release
	// Notes are the release notes (Markdown) and their short form.
	Notes, NotesShort string
	// Monitor is what the stability monitor saw after the switch (nil
	// when it did not run).
	Monitor *health.Summary
	// BackupID names the pre-deployment backup, once taken.
	BackupID string
	// Logs holds the last log lines of the failing colour, for the report.
	Logs string
	// Lock is the deploy lock this run holds.
	Lock *state.Lock
	// Attention is set when undoing had to leave Next running because the
	// proxy still sends traffic to it (the switch back failed, or the
	// proxy could not say where it sends traffic): it names the colour
	// that serves and what a person must do now. The summary, the report,
	// history and the notifications show it.
	Attention string

	// leftServing is true when undo left Next running because it serves:
	// record then writes it into state as the current release.
	leftServing bool
	// furtherBack is true in a rollback to a release older than the
	// previous one: preflight, smoke and verify then run.
	furtherBack bool
	// warm is true in a rollback to the standby colour within its window
	// (environment standby): its proxied services run already, so
	// rollback-start starts nothing and retire starts the rest after the
	// switch.
	warm bool
	// standby is the standby a deployment's retire left (record writes it
	// into state); nil when it stopped the old colour.
	standby *state.Standby
	// recorded, in a rollback to a warm standby, delivers the outcome of
	// rollback-prepare's in-flight write, which runs beside the health
	// check; health waits for it (awaitRecorded), so it is on the host
	// before the switch.
	recorded     chan error
	recordedOnce sync.Once
	recordedErr  error

	// held is the host-side session holding Lock.
	held *state.Held

	// CurrentPhase is the phase running now; Failure the first phase that
	// failed; UndoErrors the undo steps that failed after it.
	CurrentPhase string
	Failure      *PhaseError
	UndoErrors   []*PhaseError
	Outcome      Outcome
	Report       Report

	// Values carries data between user-defined phases.
	Values map[string]any

	// Logger receives the library's structured logs (nil: discarded).
	Logger *slog.Logger
	// Observe, when set, receives every phase event as it happens (the
	// frontend draws its timeline from these).
	Observe func(Event)
	// Clock is time.Now unless a test sets it.
	Clock func() time.Time

	// abort cancels the running work phases' context (Abort); nil once the
	// final phases have started.
	abort func(cause error)

	mu sync.Mutex
}

// awaitRecorded waits for rollback-prepare's in-flight write when it runs
// in the background (a rollback to a warm standby) and returns its error;
// nil at once otherwise. Any number of callers get the same answer.
func (d *Deployment) awaitRecorded() error {
	if d.recorded == nil {
		return nil
	}
	d.recordedOnce.Do(func() { d.recordedErr = <-d.recorded })
	return d.recordedErr
}

// Abort stops the run from outside its phases: the work phase running sees
// its context cancelled with cause, and the run fails with cause (the
// pipeline undoes what it did, unless cause says undoing would do harm, as
// the lock phase's does when the lock is lost). Once the final phases (record, notify, unlock) have
// started, or before Run, Abort does nothing. Safe from any goroutine.
func (d *Deployment) Abort(cause error) {
	d.mu.Lock()
	abort := d.abort
	d.mu.Unlock()
	if abort != nil {
		abort(cause)
	}
}

func (d *Deployment) setAbort(f func(cause error)) {
	d.mu.Lock()
	d.abort = f
	d.mu.Unlock()
}

func (d *Deployment) now() time.Time {
	if d.Clock != nil {
		return d.Clock()
	}
	return time.Now()
}

// Log returns the deployment's logger, never nil.
func (d *Deployment) Log() *slog.Logger {
	if d.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Logger
}

// Progress reports a step inside the current phase (pull progress, health
// attempts) to the observer.
func (d *Deployment) Progress(msg string) {
	d.emit(Event{Kind: EventProgress, Phase: d.CurrentPhase, Message: msg})
}

// Warn reports something a person must see (tests skipped, a notifier
// failing) and keeps it for the report.
func (d *Deployment) Warn(msg string) {
	d.mu.Lock()
	d.Report.Warnings = append(d.Report.Warnings, msg)
	d.mu.Unlock()
	d.emit(Event{Kind: EventWarning, Phase: d.CurrentPhase, Message: msg})
}

func (d *Deployment) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = d.now()
	}
	if d.Observe != nil {
		d.Observe(e)
	}
}

// EventKind says what an Event reports.
type EventKind string

// Event kinds.
const (
	EventPhaseStarted  EventKind = "phase-started"
	EventPhaseFinished EventKind = "phase-finished"
	EventPhaseSkipped  EventKind = "phase-skipped" // not run: an earlier phase failed
	EventUndoStarted   EventKind = "undo-started"
	EventUndoFinished  EventKind = "undo-finished"
	EventProgress      EventKind = "progress"
	EventWarning       EventKind = "warning"
)

// Event is one step of a running pipeline, for a live display.
type Event struct {
	Kind     EventKind
	Phase    string
	Time     time.Time
	Duration time.Duration
	Message  string
	Err      error
}

// PhaseOutcome is how one phase ended.
type PhaseOutcome string

// Phase outcomes.
const (
	PhaseOK      PhaseOutcome = "ok"
	PhaseFailed  PhaseOutcome = "failed"
	PhaseSkipped PhaseOutcome = "skipped"
	PhaseUndone  PhaseOutcome = "undone"
)

// PhaseResult is one line of the report: a phase run or an undo step.
type PhaseResult struct {
	Name     string        `json:"name"`
	Undo     bool          `json:"undo,omitempty"`
	Outcome  PhaseOutcome  `json:"outcome"`
	Duration time.Duration `json:"duration_ns"`
	Err      string        `json:"error,omitempty"`
	// RemoteCommands is how many commands the phase ran on the host (SSH
	// sessions, or commands framed through one), and RemoteTime their
	// summed time; see CountRemote. Probes and Docker API calls are not
	// commands.
	RemoteCommands int           `json:"remote_commands,omitempty"`
	RemoteTime     time.Duration `json:"remote_time_ns,omitempty"`
}

// Report is the record of a pipeline run, written as JSON for CI.
type Report struct {
	Started  time.Time     `json:"started"`
	Finished time.Time     `json:"finished"`
	Phases   []PhaseResult `json:"phases"`
	Warnings []string      `json:"warnings,omitempty"`
	// Facts holds named results for the summary (failed requests, URL,
	// notifier results), in the order they were added.
	Facts []Fact `json:"facts,omitempty"`
}

// Fact is a named value for the summary.
type Fact struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func (r *Report) add(p PhaseResult) { r.Phases = append(r.Phases, p) }

// AddFact records a named value for the summary.
func (d *Deployment) AddFact(name, value string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.Report.Facts = append(d.Report.Facts, Fact{Name: name, Value: value})
}
