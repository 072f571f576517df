package console

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy"
)

// ReportSchema is the schema number written in every Report. It changes
// only when a field is renamed, removed or changes meaning; adding a field
// keeps it.
const ReportSchema = 1

// Report is the machine-readable record of a deployment, for CI. Its JSON
// field names are stable (see ReportSchema); every field is always present,
// lists as [] when empty and absent values as "" or null.
//
//	schema            1
//	version           "v1.0.1"
//	id                deployment ID, "prod-v1.0.1-20241227_183050"
//	environment       "production"
//	outcome           "succeeded" | "failed" | "rolled-back" | "rollback-failed" | "" (not finished)
//	live, next        colours: live when the deployment started ("" on a first one), brought up
//	switched          traffic was moved to next
//	failure           null or {"phase", "error"}: the first phase that failed
//	undo_errors       [{"phase", "error"}]: undo steps that failed after it
//	attention         "" or, when undoing left the new colour serving, which colour serves and what a person must do
//	started, finished RFC 3339 times, null when unknown
//	duration_seconds  finished − started
//	remote_commands   commands run on the host by all phases and undo steps (see below)
//	remote_seconds    their summed time
//	phases            [{"name", "undo", "outcome", "seconds", "remote_commands", "remote_seconds", "error"}]
//	                  in the order they ran; outcome "ok" | "failed" | "skipped" | "undone"; undo
//	                  steps have undo true; remote_commands is how many commands the phase ran on
//	                  the host (SSH sessions, or commands framed through one; probes and Docker API
//	                  calls are not commands), remote_seconds their summed time (deploy.CountRemote)
//	facts             [{"name", "value"}] in the order phases recorded them
//	warnings          ["..."]
//	tests_skipped     the test phase was skipped (SKIP_TESTS)
//	actor, reason, commit, backup_id
type Report struct {
	Schema          int           `json:"schema"`
	Version         string        `json:"version"`
	ID              string        `json:"id"`
	Environment     string        `json:"environment"`
	Outcome         string        `json:"outcome"`
	Live            string        `json:"live"`
	Next            string        `json:"next"`
	Switched        bool          `json:"switched"`
	Failure         *ReportError  `json:"failure"`
	UndoErrors      []ReportError `json:"undo_errors"`
	Attention       string        `json:"attention"`
	Started         *time.Time    `json:"started"`
	Finished        *time.Time    `json:"finished"`
	DurationSeconds float64       `json:"duration_seconds"`
	RemoteCommands  int           `json:"remote_commands"`
	RemoteSeconds   float64       `json:"remote_seconds"`
	Phases          []ReportPhase `json:"phases"`
	Facts           []ReportFact  `json:"facts"`
	Warnings        []string      `json:"warnings"`
	TestsSkipped    bool          `json:"tests_skipped"`
	Actor           string        `json:"actor"`
	Reason          string        `json:"reason"`
	Commit          string        `json:"commit"`
	BackupID        string        `json:"backup_id"`
}

// ReportError is a failed phase or undo step.
type ReportError struct {
	Phase string `json:"phase"`
	Error string `json:"error"`
}

// ReportPhase is one phase run or undo step.
type ReportPhase struct {
	Name    string  `json:"name"`
	Undo    bool    `json:"undo"`
	Outcome string  `json:"outcome"`
	Seconds float64 `json:"seconds"`
	// RemoteCommands and RemoteSeconds: the commands the phase ran on the
	// host and their summed time.
	RemoteCommands int     `json:"remote_commands"`
	RemoteSeconds  float64 `json:"remote_seconds"`
	Error          string  `json:"error"`
}

// ReportFact is a named result (health attempts, smoke results, URL).
type ReportFact struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// NewReport builds the Report of d. Call it after the pipeline returned.
func NewReport(d *deploy.Deployment) *Report {
	r := &Report{
		Schema:       ReportSchema,
		Version:      d.Version.String(),
		ID:           d.ID,
		Environment:  d.Environment,
		Outcome:      string(d.Outcome),
		Live:         string(d.Live),
		Next:         string(d.Next),
		Switched:     d.Switched,
		UndoErrors:   []ReportError{},
		Attention:    d.Attention,
		Phases:       []ReportPhase{},
		Facts:        []ReportFact{},
		Warnings:     []string{},
		TestsSkipped: d.TestsSkipped,
		Actor:        d.Actor,
		Reason:       d.Reason,
		Commit:       d.Commit,
		BackupID:     d.BackupID,
	}
	if d.Failure != nil {
		r.Failure = &ReportError{Phase: d.Failure.Phase, Error: errString(d.Failure.Err)}
	}
	for _, u := range d.UndoErrors {
		r.UndoErrors = append(r.UndoErrors, ReportError{Phase: u.Phase, Error: errString(u.Err)})
	}
	if t := d.Report.Started; !t.IsZero() {
		t = t.UTC()
		r.Started = &t
	}
	if t := d.Report.Finished; !t.IsZero() {
		t = t.UTC()
		r.Finished = &t
	}
	if r.Started != nil && r.Finished != nil {
		r.DurationSeconds = seconds(r.Finished.Sub(*r.Started))
	}
	for _, p := range d.Report.Phases {
		r.Phases = append(r.Phases, ReportPhase{
			Name: p.Name, Undo: p.Undo, Outcome: string(p.Outcome), Seconds: seconds(p.Duration),
			RemoteCommands: p.RemoteCommands, RemoteSeconds: seconds(p.RemoteTime), Error: p.Err,
		})
	}
	n, t := remoteTotal(d.Report.Phases)
	r.RemoteCommands, r.RemoteSeconds = n, seconds(t)
	for _, f := range d.Report.Facts {
		r.Facts = append(r.Facts, ReportFact{Name: f.Name, Value: f.Value})
	}
	r.Warnings = append(r.Warnings, d.Report.Warnings...)
	return r
}

// seconds rounds d to milliseconds, in seconds.
func seconds(d time.Duration) float64 {
	return math.Round(d.Seconds()*1000) / 1000
}

// Redact applies f to every free text of r (errors, facts, warnings,
// reason): use it to mask secrets before writing the report.
func (r *Report) Redact(f func(string) string) {
	if r.Failure != nil {
		r.Failure.Error = f(r.Failure.Error)
	}
	for i := range r.UndoErrors {
		r.UndoErrors[i].Error = f(r.UndoErrors[i].Error)
	}
	r.Attention = f(r.Attention)
	for i := range r.Phases {
		r.Phases[i].Error = f(r.Phases[i].Error)
	}
	for i := range r.Facts {
		r.Facts[i].Value = f(r.Facts[i].Value)
	}
	for i := range r.Warnings {
		r.Warnings[i] = f(r.Warnings[i])
	}
	r.Reason = f(r.Reason)
}

// Write writes r as indented JSON followed by a newline.
func (r *Report) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("console: write report: %w", err)
	}
	return nil
}

// WriteFile writes r to path atomically: a temporary file in the same
// directory, synced, then renamed over path, so a reader (or a CI step
// after a crash) sees the old report or the new one, never half of one.
func (r *Report) WriteFile(path string) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("console: write report %s: %w (does the directory exist and is it writable?)", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := r.Write(f); err != nil {
		return fmt.Errorf("console: write report %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("console: write report %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("console: write report %s: sync: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("console: write report %s: close: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("console: write report %s: %w", path, err)
	}
	return nil
}

// WriteJSON writes the JSON report of d (see Report) to w.
func WriteJSON(w io.Writer, d *deploy.Deployment) error {
	return NewReport(d).Write(w)
}

// WriteReportFile writes the JSON report of d (see Report) to path
// atomically.
func WriteReportFile(path string, d *deploy.Deployment) error {
	return NewReport(d).WriteFile(path)
}
