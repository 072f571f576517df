package deploy

import "github.com/blueshift-deploy/blueshift/deploy/state"

// This file is where to start reading: the standard deployment and
// rollback pipelines, as lists of phases. Each phase is a small type in
// its own file (phase_<name>.go) carrying its Name, its Run, its Undo when
// it changes something on the host, Always when it is a final phase, and
// Plan, the dry-run text deploy:plan prints. Pipeline (pipeline.go) runs
// a list: phases in order, after a failure the Undo of each completed
// phase newest first, the final phases always. Nothing else runs: what a
// deployment does is in these lists and in the BeforePhase hook below.

// Phase names of the standard pipeline, in order.
const (
	PhaseLock        = "lock"
	PhaseReconcile   = "reconcile"
	PhasePrepare     = "prepare"
	PhaseNotifyStart = "notify-start"
	PhasePreflight   = "preflight"
	PhaseTest        = "test"
	PhaseBackup      = "backup"
	PhaseStart       = "start"
	PhaseMigrate     = "migrate"
	PhaseHealth      = "health"
	PhaseSmoke       = "smoke"
	PhaseSwitch      = "switch"
	PhaseVerify      = "verify"
	PhaseRetire      = "retire"
	PhaseRecord      = "record"
	PhaseNotify      = "notify"
	PhaseUnlock      = "unlock"
)

// Rollback phase names.
const (
	PhaseRollbackCheck   = "rollback-check"
	PhaseRollbackPrepare = "rollback-prepare"
	PhaseRollbackStart   = "rollback-start"
)

// Pipeline returns the standard deployment pipeline of this engine:
// lock, reconcile, prepare, notify-start, preflight, test, backup, start,
// migrate, health, smoke, switch, verify, retire, record, notify, unlock.
func (e *Engine) Pipeline() *Pipeline {
	return e.pipeline(
		lockPhase{e, state.KindDeploy},
		reconcilePhase{e},
		preparePhase{e},
		notifyStartPhase{e},
		preflightPhase{e},
		testPhase{e},
		backupPhase{e},
		startPhase{e}, // undo: remove the new colour
		migratePhase{e},
		healthPhase{e},
		smokePhase{e},
		switchPhase{e}, // undo: switch back to the old colour
		verifyPhase{e},
		retirePhase{e}, // undo: start the old colour again
		recordPhase{e}, // final: runs whatever happened
		notifyPhase{e}, // final
		unlockPhase{e}, // final
	)
}

// RollbackPipeline returns the pipeline of a manual rollback: the kept old
// colour is started (or, for an older release, rendered and started), checked,
// switched to, and the current colour stopped and kept. to is the version to
// return to; empty means the previous release.
//
// With to set, the pipeline starts with rollback-check, which refuses (before
// taking the lock, so nothing changes and nobody is notified) a version that
// was never live: one state records as current or previous, or that history
// records a succeeded deployment or rollback of. A version older than the
// previous release (its containers are gone, its data may have moved on)
// also goes through preflight, smoke and the post-switch monitor (verify),
// as a deployment does; returning to the previous release skips them.
func (e *Engine) RollbackPipeline(to string) *Pipeline {
	further := to != "" // a version named: maybe further back than the previous release
	return e.pipeline(present(
		when(further, rollbackCheckPhase{e, to}),
		lockPhase{e, state.KindRollback},
		reconcilePhase{e},
		rollbackPreparePhase{e, to},
		when(further, furtherBackOnly{preflightPhase{e}}),
		rollbackStartPhase{e}, // undo: stop the colour again
		rollbackHealthPhase{e},
		when(further, furtherBackOnly{smokePhase{e}}),
		switchPhase{e}, // undo: switch back
		when(further, furtherBackOnly{verifyPhase{e}}),
		retirePhase{e},         // undo: start the colour left again
		rollbackRecordPhase{e}, // final
		rollbackNotifyPhase{e}, // final
		unlockPhase{e},         // final
	)...)
}

// pipeline is the engine's pipeline of phases, with what every engine
// pipeline has:
//   - Deadline is timeouts.deployment. Undo keeps the pipeline's own
//     budget (UndoTimeout): the deadline may have just passed, and a
//     rollback must not be cut short by it.
//   - BeforePhase is markPhase: as the health and switch phases start, the
//     host's in-flight record is updated, so the run that finds it after a
//     crash (the reconcile phase) knows how far this one got.
func (e *Engine) pipeline(phases ...Phase) *Pipeline {
	p := NewPipeline(phases...)
	p.Deadline = e.Env.Timeouts.Deployment
	p.BeforePhase = e.markPhase
	return p
}

// when is ph if cond holds, else nil (dropped by present).
func when(cond bool, ph Phase) Phase {
	if !cond {
		return nil
	}
	return ph
}

// present is phases without the nil ones.
func present(phases ...Phase) []Phase {
	out := phases[:0:0]
	for _, ph := range phases {
		if ph != nil {
			out = append(out, ph)
		}
	}
	return out
}
