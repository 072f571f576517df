// Package state keeps blueshift's record on the host it deploys to, under
// <app path>/.blueshift/:
//
//	state.json     the live colour, the current and previous release (version,
//	               image digests, commit, time) and a deployment in flight
//	history.jsonl  an append-only audit log of every deployment, rollback,
//	               reconciliation and lock release, one JSON object a line
//	lock.flock     the deploy lock: flock(2) on this file, held by the run
//	lock/          the holder's lock.json (who, what version, why, from which
//	               process on which machine) and the host's time of its last beat
//
// Every write goes through the host Runner, so the same code keeps state on
// the local machine and on a server over SSH; state.json is replaced
// atomically (temp file, fsync, rename) so a crash never leaves it half written.
//
// # The lock
//
// Guarantee: at most one run holds the lock of a host's app at a time; a
// holder that is alive is never judged stale, whatever the age of its lock;
// a holder that died is taken over by exactly one run, which gets the dead
// holder's lock.json as evidence and reconciles while it holds the lock.
//
// How: Acquire starts ONE long-lived command on the host (one SSH session,
// or a local child process) that takes flock(2) on lock.flock and keeps the
// descriptor open for as long as it runs. The kernel's flock picks a single
// winner among racing runs and frees the lock the moment the holder's
// process ends, so liveness is a question the host answers: does anyone hold
// the flock? (Inspect asks in one command with a non-blocking try.) That
// judgement never compares clocks and never uses the lock's age; a
// deployment whose health phase takes an hour keeps its lock. The session
// reads its stdin: when the deploying process dies, its end of the pipe (or
// the SSH connection) closes, the session sees end-of-file and exits at
// once, freeing the flock but leaving lock/ behind as the evidence of an
// interrupted run. It also prints a beat and refreshes lock/renewed with the
// host's clock every few seconds, on its own: liveness costs no command per
// beat (remote commands per deployment are capped), and a write to an SSH
// connection that vanished without closing ends the session within a beat.
//
// A holder that runs on this machine (same hostname, machine ID and boot,
// a live process with the recorded PID and start time) is never stale even
// if its session is gone. A lock.json without a format (written by a
// blueshift that took the lock with mkdir and proved no liveness) is never
// taken over automatically: an operator releases it with lock:release.
// ForceRelease refuses a live holder unless forced, removes the lock only
// while holding the flock itself (so a run that took it meanwhile is never
// removed) and records the evidence in history. Release is done by the
// holder's own session, under its flock, so a run only ever removes its own
// lock; a run whose session was lost (ErrLockLost) touches nothing.
//
// Why not mkdir alone (the previous design): a directory cannot tell a live
// holder from a dead one, so staleness had to be guessed from age and from
// the hostname, which judged hour-long deployments dead and same-named
// machines alive. Why not a renewed timestamp checked by age: it needs a
// round trip per beat and comparable clocks, and still guesses. Why no
// rename-the-dead-lock dance for a take-over: the flock already admits one
// winner, and the winner reads and replaces lock.json while holding it, so
// no second run can judge the same lock stale and take it too. flock(1)
// comes with util-linux (every Debian and Ubuntu) and BusyBox. Over SSH the
// session takes one of the connection's command slots for the whole run.
//
// # Formats
//
// state.json and lock.json carry a "format" number. Files without one
// (format 0) are read; a newer format than this blueshift knows is refused
// with a *FormatError ("written by a newer blueshift (format N); upgrade")
// instead of being misread and overwritten.
//
// # History
//
// Append writes each entry as one write(2) with O_APPEND (see Append for why
// `dd iflag=fullblock bs=<line length> count=1` is one write and `cat >>` is
// not), so concurrent appends never interleave. A crash can still leave a
// torn line; History resynchronises: an entry that begins part-way through a
// line is recovered, so a torn line never swallows the entry after it.
package state
