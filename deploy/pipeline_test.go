package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/deploy/state"
)

// trace records what phases did, in order.
type trace struct {
	mu    sync.Mutex
	steps []string
}

func (t *trace) add(s string) { t.mu.Lock(); t.steps = append(t.steps, s); t.mu.Unlock() }

func phase(tr *trace, name string, fail error, undo bool) Phase {
	f := &Func{PhaseName: name, RunFunc: func(ctx context.Context, d *Deployment) error {
		tr.add("run " + name)
		return fail
	}}
	if undo {
		f.UndoFunc = func(ctx context.Context, d *Deployment) error {
			tr.add("undo " + name)
			return ctx.Err()
		}
	}
	return f
}

func final(tr *trace, name string) Phase {
	return &Func{PhaseName: name, Final: true, RunFunc: func(ctx context.Context, d *Deployment) error {
		tr.add("final " + name + " " + string(d.Outcome))
		return ctx.Err()
	}}
}

func TestPipelineRunsInOrder(t *testing.T) {
	tr := &trace{}
	p := NewPipeline(phase(tr, "a", nil, true), phase(tr, "b", nil, false), final(tr, "notify"))
	d := &Deployment{}
	require.NoError(t, p.Run(context.Background(), d))
	assert.Equal(t, []string{"run a", "run b", "final notify succeeded"}, tr.steps)
	assert.Equal(t, OutcomeSucceeded, d.Outcome)
	require.Len(t, d.Report.Phases, 3)
	for _, r := range d.Report.Phases {
		assert.Equal(t, PhaseOK, r.Outcome)
	}
}

func TestPipelineUndoesInReverseThenFinalizes(t *testing.T) {
	tr := &trace{}
	boom := errors.New("health check failed")
	p := NewPipeline(
		phase(tr, "lock", nil, true),
		phase(tr, "prepare", nil, false),
		phase(tr, "start", nil, true),
		phase(tr, "health", boom, true),
		phase(tr, "switch", nil, true),
		final(tr, "record"), final(tr, "unlock"))
	var events []string
	d := &Deployment{Observe: func(e Event) { events = append(events, string(e.Kind)+" "+e.Phase) }}
	err := p.Run(context.Background(), d)
	var pe *PhaseError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "health", pe.Phase)
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, []string{
		"run lock", "run prepare", "run start", "run health",
		"undo start", "undo lock", // newest first; the failed phase itself is not undone
		"final record rolled-back", "final unlock rolled-back",
	}, tr.steps)
	assert.Equal(t, OutcomeRolledBack, d.Outcome)
	assert.Contains(t, events, "undo-started start")
	names := []string{}
	for _, r := range d.Report.Phases {
		names = append(names, r.Name+":"+string(r.Outcome))
	}
	assert.Equal(t, []string{"lock:ok", "prepare:ok", "start:ok", "health:failed", "start:undone", "lock:undone", "switch:skipped", "record:ok", "unlock:ok"}, names)
}

func TestPipelineFailureBeforeAnyChangeIsFailedNotRolledBack(t *testing.T) {
	tr := &trace{}
	p := NewPipeline(phase(tr, "preflight", errors.New("disk full"), false), phase(tr, "start", nil, true), final(tr, "notify"))
	d := &Deployment{}
	require.Error(t, p.Run(context.Background(), d))
	assert.Equal(t, OutcomeFailed, d.Outcome)
	assert.Equal(t, []string{"run preflight", "final notify failed"}, tr.steps)
}

func TestPipelineInterruptUndoesWithLiveContext(t *testing.T) {
	tr := &trace{}
	ctx, cancel := context.WithCancel(context.Background())
	p := NewPipeline(
		phase(tr, "start", nil, true),
		&Func{PhaseName: "health", RunFunc: func(ctx context.Context, d *Deployment) error {
			cancel() // SIGTERM arrives while health waits
			<-ctx.Done()
			return ctx.Err()
		}},
		phase(tr, "switch", nil, true),
		final(tr, "unlock"))
	d := &Deployment{}
	err := p.Run(ctx, d)
	require.ErrorIs(t, err, ErrInterrupted)
	// Undo and the final phase got a live context (their ctx.Err() was nil).
	assert.Equal(t, []string{"run start", "undo start", "final unlock rolled-back"}, tr.steps)
	assert.Equal(t, OutcomeRolledBack, d.Outcome)
}

func TestPipelineUndoFailureIsReported(t *testing.T) {
	p := NewPipeline(
		&Func{PhaseName: "switch", RunFunc: func(context.Context, *Deployment) error { return nil },
			UndoFunc: func(context.Context, *Deployment) error { return errors.New("nginx -t failed") }},
		NewPhase("verify", func(context.Context, *Deployment) error { return errors.New("budget exceeded") }))
	d := &Deployment{}
	require.Error(t, p.Run(context.Background(), d))
	assert.Equal(t, OutcomeRollbackFailed, d.Outcome)
	require.Len(t, d.UndoErrors, 1)
	assert.Equal(t, "switch", d.UndoErrors[0].Phase)
}

func TestPipelineEditByName(t *testing.T) {
	tr := &trace{}
	p := NewPipeline(phase(tr, "health", nil, false), phase(tr, "switch", nil, false))
	require.NoError(t, p.InsertBefore("switch", phase(tr, "approve", nil, false)))
	require.NoError(t, p.InsertAfter("switch", phase(tr, "warm-cache", nil, false)))
	require.NoError(t, p.Replace("health", phase(tr, "health2", nil, false)))
	assert.Equal(t, []string{"health2", "approve", "switch", "warm-cache"}, p.Names())
	require.NoError(t, p.Remove("approve"))
	assert.Equal(t, []string{"health2", "switch", "warm-cache"}, p.Names())

	for _, err := range []error{
		p.InsertBefore("swtich", phase(tr, "x", nil, false)),
		p.InsertAfter("nope", phase(tr, "x", nil, false)),
		p.Replace("nope", phase(tr, "x", nil, false)),
		p.Remove("nope"),
	} {
		require.ErrorIs(t, err, ErrUnknownPhase)
		assert.True(t, strings.Contains(err.Error(), "health2"), "error lists the phases: %v", err)
	}
}

// TestPipelineDeadline: Deadline cuts the run in the phase it reached (or
// before the next phase), the error names timeouts.deployment and the
// phase, undo and finalizers run on live contexts; a run that succeeds
// near its deadline still records. On 239a55e Pipeline had no deadline.
func TestPipelineDeadline(t *testing.T) {
	tr := &trace{}
	p := NewPipeline(
		phase(tr, "start", nil, true),
		&Func{PhaseName: "health", RunFunc: func(ctx context.Context, d *Deployment) error {
			<-ctx.Done() // waits past the deadline
			return ctx.Err()
		}},
		phase(tr, "switch", nil, true),
		final(tr, "record"))
	p.Deadline = 50 * time.Millisecond
	d := &Deployment{}
	err := p.Run(context.Background(), d)
	var de *DeadlineError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "health", de.Phase)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotErrorIs(t, err, ErrInterrupted)
	assert.Equal(t, "phase health: deployment deadline (timeouts.deployment = 50ms) exceeded in phase health: context deadline exceeded", err.Error())
	assert.Equal(t, []string{"run start", "undo start", "final record rolled-back"}, tr.steps)

	// Between phases: the next phase does not start.
	tr = &trace{}
	p = NewPipeline(
		&Func{PhaseName: "slow", RunFunc: func(ctx context.Context, d *Deployment) error {
			<-ctx.Done()
			return nil // a phase that ignores its context's end
		}},
		phase(tr, "switch", nil, true), final(tr, "record"))
	p.Deadline = 10 * time.Millisecond
	err = p.Run(context.Background(), &Deployment{})
	assert.EqualError(t, err, "phase switch: deployment deadline (timeouts.deployment = 10ms) exceeded in phase switch")
	assert.Equal(t, []string{"final record failed"}, tr.steps)

	// A finalizer after a success is not bound by the deadline.
	tr = &trace{}
	p = NewPipeline(phase(tr, "a", nil, false), &Func{PhaseName: "record", Final: true, RunFunc: func(ctx context.Context, d *Deployment) error {
		time.Sleep(30 * time.Millisecond)
		tr.add("record " + fmt.Sprint(ctx.Err()))
		return ctx.Err()
	}})
	p.Deadline = 20 * time.Millisecond
	require.NoError(t, p.Run(context.Background(), &Deployment{}))
	assert.Equal(t, []string{"run a", "record <nil>"}, tr.steps)
}

// A run aborted because it lost its deploy lock stops in the phase it is in,
// undoes nothing (another run may hold the lock now), runs its finalizers
// and says what to do; an abort from a final phase on changes nothing.
func TestPipelineAbortOnLostLockUndoesNothing(t *testing.T) {
	tr := &trace{}
	wait := &Func{PhaseName: "health", RunFunc: func(ctx context.Context, d *Deployment) error {
		tr.add("run health")
		go d.Abort(lockLost{fmt.Errorf("%w (test)", state.ErrLockLost)})
		<-ctx.Done()
		return ctx.Err()
	}}
	p := NewPipeline(phase(tr, "start", nil, true), wait, phase(tr, "switch", nil, true), final(tr, "record"))
	d := &Deployment{}
	err := p.Run(context.Background(), d)
	require.ErrorIs(t, err, state.ErrLockLost)
	assert.Equal(t, []string{"run start", "run health", "final record rollback-failed"}, tr.steps)
	assert.Equal(t, OutcomeRollbackFailed, d.Outcome, "start was done and is not undone")
	assert.Contains(t, d.Attention, "go tool mage reconcile")

	tr2 := &trace{}
	late := &Func{PhaseName: "unlock", Final: true, RunFunc: func(ctx context.Context, d *Deployment) error {
		d.Abort(errors.New("too late"))
		tr2.add("final unlock " + fmt.Sprint(ctx.Err()))
		return nil
	}}
	d2 := &Deployment{}
	require.NoError(t, NewPipeline(phase(tr2, "a", nil, true), late).Run(context.Background(), d2))
	assert.Equal(t, []string{"run a", "final unlock <nil>"}, tr2.steps)
	assert.Equal(t, OutcomeSucceeded, d2.Outcome)
}

// testNoUndo is a failure that says undoing would do harm.
type testNoUndo struct{ error }

func (testNoUndo) NoUndo(phase string) string { return "look at the host: stopped in " + phase }

// TestPipelineNoUndoIsTheCausesChoice: whether a failure is undone is the
// cause's to say (noUndo), not a rule of the pipeline's. On dfd9197
// Pipeline.fail tested errors.Is(err, state.ErrLockLost) itself, so the
// pipeline knew about locks, and no other cause (a phase's error included)
// could ask for no undo. Now the lock phase's lockLost says it, any error
// implementing NoUndo does, and anything else is undone.
func TestPipelineNoUndoIsTheCausesChoice(t *testing.T) {
	tr := &trace{}
	boom := testNoUndo{errors.New("the host changed hands")}
	d := &Deployment{}
	err := NewPipeline(phase(tr, "start", nil, true), phase(tr, "health", fmt.Errorf("wait: %w", boom), false), final(tr, "record")).Run(context.Background(), d)
	require.ErrorIs(t, err, boom)
	assert.Equal(t, []string{"run start", "run health", "final record rollback-failed"}, tr.steps, "start is not undone")
	assert.Equal(t, "look at the host: stopped in health", d.Attention)

	// A cause that is not a noUndo is undone like any failure, even one
	// wrapping state.ErrLockLost: only the lock phase's lockLost speaks for it.
	tr = &trace{}
	d = &Deployment{}
	wait := &Func{PhaseName: "health", RunFunc: func(ctx context.Context, d *Deployment) error {
		go d.Abort(fmt.Errorf("%w (not the lock phase's)", state.ErrLockLost))
		<-ctx.Done()
		return ctx.Err()
	}}
	err = NewPipeline(phase(tr, "start", nil, true), wait, final(tr, "record")).Run(context.Background(), d)
	require.ErrorIs(t, err, state.ErrLockLost)
	assert.Equal(t, []string{"run start", "undo start", "final record rolled-back"}, tr.steps)
	assert.Empty(t, d.Attention)
}
