package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Phase is one named step of a deployment. Phases run in order; a phase that
// changes something on the host should also implement Undoer, so a failure
// later on takes its change back.
type Phase interface {
	Name() string
	Run(ctx context.Context, d *Deployment) error
}

// Undoer is a phase that can take back what its Run did. After a failure the
// pipeline calls Undo on every completed Undoer, newest first.
type Undoer interface {
	Undo(ctx context.Context, d *Deployment) error
}

// Finalizer is a phase that runs whatever happened before it (record,
// notify, unlock). Its error is reported but never turns a deployment into
// a failure or a rollback.
type Finalizer interface {
	Always() bool
}

// Planner is a phase that can say what it would do without changing anything
// (deploy:plan).
type Planner interface {
	Plan(ctx context.Context, d *Deployment) (string, error)
}

// ErrUnknownPhase is returned when a pipeline edit names a phase that is not there.
var ErrUnknownPhase = errors.New("unknown phase")

// ErrInterrupted is wrapped by the failure of a deployment stopped by a
// signal or a cancelled context.
var ErrInterrupted = errors.New("interrupted")

// DeadlineError is the failure of a run still going when Pipeline.Deadline
// passed: the phase it had reached, and that phase's own error (nil when
// the deadline passed between phases). errors.Is(err,
// context.DeadlineExceeded) is true for it.
type DeadlineError struct {
	Limit time.Duration
	Phase string
	Err   error
}

func (e *DeadlineError) Error() string {
	s := fmt.Sprintf("deployment deadline (timeouts.deployment = %s) exceeded in phase %s", e.Limit, e.Phase)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap makes errors.Is(err, context.DeadlineExceeded) true.
func (e *DeadlineError) Unwrap() error { return context.DeadlineExceeded }

// errDeadline is the cause of the context Run derives for Deadline.
var errDeadline = errors.New("deployment deadline")

// PhaseError is the failure of one phase.
type PhaseError struct {
	Phase string
	Err   error
}

func (e *PhaseError) Error() string { return fmt.Sprintf("phase %s: %v", e.Phase, e.Err) }
func (e *PhaseError) Unwrap() error { return e.Err }

// Func adapts functions to a Phase. Undo, Plan and Final are optional.
type Func struct {
	PhaseName string
	RunFunc   func(ctx context.Context, d *Deployment) error
	UndoFunc  func(ctx context.Context, d *Deployment) error
	PlanFunc  func(ctx context.Context, d *Deployment) (string, error)
	Final     bool
}

// NewPhase returns a phase named name that runs run.
func NewPhase(name string, run func(ctx context.Context, d *Deployment) error) Phase {
	return &Func{PhaseName: name, RunFunc: run}
}

// Name implements Phase.
func (f *Func) Name() string { return f.PhaseName }

// Run implements Phase.
func (f *Func) Run(ctx context.Context, d *Deployment) error {
	if f.RunFunc == nil {
		return nil
	}
	return f.RunFunc(ctx, d)
}

// Plan implements Planner.
func (f *Func) Plan(ctx context.Context, d *Deployment) (string, error) {
	if f.PlanFunc == nil {
		return "", nil
	}
	return f.PlanFunc(ctx, d)
}

// Always implements Finalizer.
func (f *Func) Always() bool { return f.Final }

// Undo implements Undoer; a Func without UndoFunc has nothing to undo.
func (f *Func) Undo(ctx context.Context, d *Deployment) error {
	if f.UndoFunc == nil {
		return nil
	}
	return f.UndoFunc(ctx, d)
}

func canUndo(p Phase) (Undoer, bool) {
	if f, ok := p.(*Func); ok && f.UndoFunc == nil {
		return nil, false
	}
	u, ok := p.(Undoer)
	return u, ok
}

func isFinal(p Phase) bool {
	f, ok := p.(Finalizer)
	return ok && f.Always()
}

// Pipeline is an ordered, editable list of named phases.
type Pipeline struct {
	phases []Phase
	// UndoTimeout bounds all undo steps together after a failure; they run
	// even when the deployment's context was cancelled (default 10 minutes).
	UndoTimeout time.Duration
	// FinalTimeout bounds each Finalizer phase after a failure or interrupt
	// (default 2 minutes).
	FinalTimeout time.Duration
	// Deadline bounds the phases that are not Finalizers together, from
	// the start of Run; zero means none. A run still going when it passes
	// fails in the phase it reached with a *DeadlineError and is undone
	// like any failure: undo steps (UndoTimeout) and Finalizers
	// (FinalTimeout) run after it on their own budgets, so a deadline
	// never leaves a half-done deployment behind. The engine sets it from
	// timeouts.deployment.
	Deadline time.Duration
	// BeforePhase, when set, runs as each phase starts, while the run has
	// not failed; its remote commands and time count in the phase. The
	// engine's pipelines set it to record the phase in the host's
	// in-flight record, for crash recovery (see Engine.Pipeline).
	BeforePhase func(ctx context.Context, d *Deployment, phase string)
}

// NewPipeline returns a pipeline running phases in order.
func NewPipeline(phases ...Phase) *Pipeline {
	return &Pipeline{phases: slices.Clone(phases)}
}

// Names lists the phases in order.
func (p *Pipeline) Names() []string {
	names := make([]string, len(p.phases))
	for i, ph := range p.phases {
		names[i] = ph.Name()
	}
	return names
}

// Phases returns the phases in order.
func (p *Pipeline) Phases() []Phase { return slices.Clone(p.phases) }

func (p *Pipeline) index(name string) (int, error) {
	for i, ph := range p.phases {
		if ph.Name() == name {
			return i, nil
		}
	}
	return -1, fmt.Errorf("%w %q (phases: %v)", ErrUnknownPhase, name, p.Names())
}

// InsertBefore puts ph just before the phase named name.
func (p *Pipeline) InsertBefore(name string, ph Phase) error {
	i, err := p.index(name)
	if err != nil {
		return err
	}
	p.phases = slices.Insert(p.phases, i, ph)
	return nil
}

// InsertAfter puts ph just after the phase named name.
func (p *Pipeline) InsertAfter(name string, ph Phase) error {
	i, err := p.index(name)
	if err != nil {
		return err
	}
	p.phases = slices.Insert(p.phases, i+1, ph)
	return nil
}

// Replace puts ph in place of the phase named name.
func (p *Pipeline) Replace(name string, ph Phase) error {
	i, err := p.index(name)
	if err != nil {
		return err
	}
	p.phases[i] = ph
	return nil
}

// Remove takes out the phase named name.
func (p *Pipeline) Remove(name string) error {
	i, err := p.index(name)
	if err != nil {
		return err
	}
	p.phases = slices.Delete(p.phases, i, i+1)
	return nil
}

// Run runs the phases in order against d. When a phase fails (or ctx is
// cancelled, or Deadline passes), the completed phases' Undo steps run
// newest first, then the Finalizer phases run; the returned error is the
// first *PhaseError. The outcome and the per-phase timings are in d.Report.
func (p *Pipeline) Run(ctx context.Context, d *Deployment) error {
	d.Report.Started = d.now()
	defer func() { d.Report.Finished = d.now() }()
	parent := ctx // Finalizers are bound neither by the deadline nor by Abort
	if p.Deadline > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, p.Deadline, errDeadline)
		defer cancel()
	}
	ctx, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	d.setAbort(abort)
	defer d.setAbort(nil)
	var done []Phase
	for _, ph := range p.phases {
		final := isFinal(ph)
		if d.Failure != nil && !final {
			d.skip(ph.Name())
			continue
		}
		if d.Failure == nil && ctx.Err() != nil {
			p.fail(ctx, d, done, &PhaseError{Phase: ph.Name(), Err: p.stopped(ctx, ph.Name(), nil)})
			if !final {
				d.skip(ph.Name())
				continue
			}
		}
		if final {
			d.setAbort(nil)
		}
		if final && d.Failure == nil {
			d.Outcome = OutcomeSucceeded // finalizers (record, notify) read it
		}
		runCtx, cancel := ctx, context.CancelFunc(func() {})
		switch {
		case final && d.Failure != nil:
			runCtx, cancel = context.WithTimeout(context.WithoutCancel(parent), orDefault(p.FinalTimeout, 2*time.Minute))
		case final:
			runCtx = parent
		}
		d.CurrentPhase = ph.Name()
		// The phase's remote commands include BeforePhase's (the engine's
		// in-flight marker), and so does its duration.
		runCtx, remote := withRemoteCounter(runCtx, d.now)
		start := d.now()
		if p.BeforePhase != nil && d.Failure == nil {
			p.BeforePhase(runCtx, d, ph.Name())
		}
		d.emit(Event{Kind: EventPhaseStarted, Phase: ph.Name()})
		err := ph.Run(runCtx, d)
		cancel()
		if err != nil && ctx.Err() != nil && !final {
			err = p.stopped(ctx, ph.Name(), err)
		}
		res := PhaseResult{Name: ph.Name(), Duration: d.now().Sub(start), Outcome: PhaseOK}
		remote.fill(&res)
		if err != nil {
			res.Outcome, res.Err = PhaseFailed, err.Error()
		}
		d.Report.add(res)
		d.emit(Event{Kind: EventPhaseFinished, Phase: ph.Name(), Duration: res.Duration, Err: err})
		switch {
		case err == nil:
			done = append(done, ph)
		case final:
			d.Log().Warn("final phase failed", "phase", ph.Name(), "err", err)
		default:
			p.fail(ctx, d, done, &PhaseError{Phase: ph.Name(), Err: err})
		}
	}
	if d.Failure != nil {
		return d.Failure
	}
	d.Outcome = OutcomeSucceeded
	return nil
}

// stopped is the error of phase when ctx ended the run: a *DeadlineError
// when Deadline passed, else ErrInterrupted. err is what the phase
// returned (nil before it started).
func (p *Pipeline) stopped(ctx context.Context, phase string, err error) error {
	cause := context.Cause(ctx)
	if errors.Is(cause, errDeadline) {
		return &DeadlineError{Limit: p.Deadline, Phase: phase, Err: err}
	}
	if cause != nil && !errors.Is(cause, context.Canceled) && !errors.Is(cause, context.DeadlineExceeded) {
		// Deployment.Abort's cause (the lock was lost, ...).
		if err == nil {
			return cause
		}
		return fmt.Errorf("%w (the phase then failed: %v)", cause, err)
	}
	if err == nil {
		return fmt.Errorf("%w before it started: %v", ErrInterrupted, context.Cause(ctx))
	}
	return fmt.Errorf("%w: %v", ErrInterrupted, err)
}

// noUndo is a failure after which undoing would do harm (the lock phase's
// lockLost: another run may own the host now). The pipeline then undoes
// nothing and sets Deployment.Attention to NoUndo's answer for the phase
// the run stopped in.
type noUndo interface {
	error
	NoUndo(phase string) (attention string)
}

// fail records the failure and undoes the completed phases, newest first;
// a failure wrapping a noUndo undoes nothing.
func (p *Pipeline) fail(ctx context.Context, d *Deployment, done []Phase, perr *PhaseError) {
	d.Failure = perr
	d.Outcome = OutcomeFailed
	if nu, ok := errors.AsType[noUndo](perr); ok {
		if slices.ContainsFunc(done, func(ph Phase) bool { _, ok := canUndo(ph); return ok }) {
			d.Outcome = OutcomeRollbackFailed
		}
		d.Attention = nu.NoUndo(perr.Phase)
		return
	}
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), orDefault(p.UndoTimeout, 10*time.Minute))
	defer cancel()
	undone := false
	for i := len(done) - 1; i >= 0; i-- {
		u, ok := canUndo(done[i])
		if !ok {
			continue
		}
		name := done[i].Name()
		d.CurrentPhase = name
		d.emit(Event{Kind: EventUndoStarted, Phase: name})
		rctx, remote := withRemoteCounter(uctx, d.now)
		start := d.now()
		err := u.Undo(rctx, d)
		res := PhaseResult{Name: name, Undo: true, Duration: d.now().Sub(start), Outcome: PhaseUndone}
		remote.fill(&res)
		if err != nil {
			res.Outcome, res.Err = PhaseFailed, err.Error()
			d.UndoErrors = append(d.UndoErrors, &PhaseError{Phase: name, Err: err})
		}
		d.Report.add(res)
		d.emit(Event{Kind: EventUndoFinished, Phase: name, Duration: res.Duration, Err: err})
		undone = true
	}
	if undone {
		d.Outcome = OutcomeRolledBack
	}
	if len(d.UndoErrors) > 0 {
		d.Outcome = OutcomeRollbackFailed
	}
}

func orDefault(v, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return def
}

// skip records a phase not run because an earlier one failed.
func (d *Deployment) skip(name string) {
	d.Report.add(PhaseResult{Name: name, Outcome: PhaseSkipped})
	d.emit(Event{Kind: EventPhaseSkipped, Phase: name})
}
