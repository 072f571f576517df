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
// cancelled), the completed phases' Undo steps run newest first, then the
// Finalizer phases run; the returned error is the first *PhaseError. The
// outcome and the per-phase timings are in d.Report.
func (p *Pipeline) Run(ctx context.Context, d *Deployment) error {
	d.Report.Started = d.now()
	defer func() { d.Report.Finished = d.now() }()
	var done []Phase
	for _, ph := range p.phases {
		final := isFinal(ph)
		if d.Failure != nil && !final {
			d.skip(ph.Name())
			continue
		}
		if d.Failure == nil && ctx.Err() != nil {
			p.fail(ctx, d, done, &PhaseError{Phase: ph.Name(), Err: fmt.Errorf("%w before it started: %v", ErrInterrupted, context.Cause(ctx))})
			if !final {
				d.skip(ph.Name())
				continue
			}
		}
		if final && d.Failure == nil {
			d.Outcome = OutcomeSucceeded // finalizers (record, notify) read it
		}
		runCtx, cancel := ctx, context.CancelFunc(func() {})
		if final && d.Failure != nil {
			runCtx, cancel = context.WithTimeout(context.WithoutCancel(ctx), orDefault(p.FinalTimeout, 2*time.Minute))
		}
		d.CurrentPhase = ph.Name()
		if d.onPhase != nil && d.Failure == nil {
			d.onPhase(runCtx, ph.Name())
		}
		d.emit(Event{Kind: EventPhaseStarted, Phase: ph.Name()})
		start := d.now()
		err := ph.Run(runCtx, d)
		cancel()
		if err != nil && ctx.Err() != nil && !final {
			err = fmt.Errorf("%w: %v", ErrInterrupted, err)
		}
		res := PhaseResult{Name: ph.Name(), Duration: d.now().Sub(start), Outcome: PhaseOK}
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

// fail records the failure and undoes the completed phases, newest first.
func (p *Pipeline) fail(ctx context.Context, d *Deployment, done []Phase, perr *PhaseError) {
	d.Failure = perr
	d.Outcome = OutcomeFailed
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
		start := d.now()
		err := u.Undo(uctx, d)
		res := PhaseResult{Name: name, Undo: true, Duration: d.now().Sub(start), Outcome: PhaseUndone}
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
