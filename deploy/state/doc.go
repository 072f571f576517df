// Package state keeps blueshift's record on the host it deploys to, under
// <app path>/.blueshift/:
//
//	state.json     the live colour, the current and previous release (version,
//	               image digests, commit, time) and a deployment in flight
//	history.jsonl  an append-only audit log of every deployment, rollback and
//	               lock release, one JSON object a line
//	lock/          the deploy lock: created atomically with mkdir, holding
//	               lock.json (who, what version, why, when, from which process)
//
// Every write goes through the host Runner, so the same code keeps state on
// the local machine and on a server over SSH; state.json is replaced
// atomically (temp file, fsync, rename) so a crash never leaves it half written.
package state
