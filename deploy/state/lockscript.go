package state

import (
	"path"
	"strconv"
	"time"
)

// The deploy lock's host-side programs. Each is one `sh -c` command, built
// by a pure function pinned in tests. Files, relative to the state
// directory:
//
//	lock.flock      the file whose flock(2) is the lock; never removed (a
//	                new inode would let a second holder in beside the first)
//	lock/lock.json  who holds it (Lock, one JSON line)
//	lock/renewed    the host's clock (Unix seconds) at the holder's last beat
//	lock/pids       the holder's two host-side PIDs, for lock:release -force
//
// lock/ also keeps a blueshift from before format 1 (which took the lock
// with `mkdir lock`) out while a run holds it.

// holdScript takes the lock and keeps it until told to release it or until
// the session that runs it ends. $1 is the state directory, $2 the beat in
// seconds, $3 how many times (0.1 s apart) to try a flock held by another
// run (one releasing it right now) before answering "busy"; $4... are
// files to read under the lock (Store.AcquireReading).
//
// Protocol on stdout: "busy", the holder's lock.json, "--end--" (refused);
// or "locked PID NOW", the previous lock.json (a dead holder's evidence)
// and "--end--", after which the script reads one line from stdin: the new
// lock.json (empty: decline, exit, freeing the lock); then "held BGPID",
// "state B64" (state.json read under the lock, in base64; "state none"
// without one, "state unreadable" when it could not be read: a run reads
// it in this command, not one more), "file B64" (or "file none", "file
// unreadable") for each further argument, a file read the same way, then
// "beat" every $2 seconds. The line "release" on stdin removes lock/
// (still under the flock), prints "released" and exits. End of stdin (the
// deploying process died, the SSH session ended) exits without removing
// lock/, which stays as the evidence of an interrupted run; the flock goes
// with the process.
const holdScript = `set -u
d=$1 beat=$2 tries=$3
command -v flock >/dev/null 2>&1 || exit 127
mkdir -p -m 0700 "$d" && cd "$d" || exit 3
exec 9>>lock.flock || exit 3
n=0
until flock -n 9; do
  n=$((n+1))
  if [ "$n" -ge "$tries" ]; then
    echo busy; cat lock/lock.json 2>/dev/null; echo; echo --end--; exit 0
  fi
  sleep 0.1 9>&-
done
echo "locked $$ $(date +%s)"
cat lock/lock.json 2>/dev/null; echo; echo --end--
IFS= read -r new || exit 0
[ -n "$new" ] || exit 0
mkdir -p lock && printf '%s\n' "$new" >lock/.lock.json.tmp && mv -f lock/.lock.json.tmp lock/lock.json && date +%s >lock/renewed || exit 4
(
  while :; do
    sleep "$beat" </dev/null >/dev/null 2>&1 9>&-
    date +%s >lock/.renewed.tmp 2>/dev/null 9>&- && mv -f lock/.renewed.tmp lock/renewed 2>/dev/null 9>&-
    echo beat || exit 0
  done
) </dev/null &
bg=$!
echo "$$ $bg" >lock/pids
echo "held $bg"
if [ ! -e state.json ]; then echo "state none"
elif s=$(base64 -w0 <state.json); then echo "state $s"
else echo "state unreadable"; fi
shift 3
for f; do
  if [ ! -e "$f" ]; then echo "file none"
  elif s=$(base64 -w0 <"$f"); then echo "file $s"
  else echo "file unreadable"; fi
done
while IFS= read -r cmd; do
  if [ "$cmd" = release ]; then
    kill "$bg" 2>/dev/null; wait "$bg" 2>/dev/null
    rm -rf lock
    echo released
    exit 0
  fi
done
kill "$bg" 2>/dev/null
exit 0
`

// inspectScript reports the lock in one command, judged on the host: the
// host's clock, whether anyone holds the flock (a non-blocking try that
// lets go at once), the last beat and lock.json. $1 is the state directory.
const inspectScript = `d=$1
echo "now $(date +%s)"
if [ -e "$d/lock.flock" ]; then
  flock -n "$d/lock.flock" true; rc=$?
  case $rc in 0) echo free ;; 1) echo held ;; *) echo "error $rc"; exit 0 ;; esac
else
  echo free
fi
echo "renewed $(cat "$d/lock/renewed" 2>/dev/null)"
cat "$d/lock/lock.json" 2>/dev/null
exit 0
`

// removeScript removes lock/ only while nobody holds the flock (it takes
// the flock itself for the removal), printing "removed" or "held". With
// $2 = force it first kills the holder's host-side processes named in
// lock/pids and waits up to 10 s for the flock.
const removeScript = `d=$1 force=${2:-}
command -v flock >/dev/null 2>&1 || exit 127
cd "$d" 2>/dev/null || { echo removed; exit 0; }
if [ "$force" = force ] && [ -f lock/pids ]; then
  kill -9 $(cat lock/pids) 2>/dev/null
fi
n=0
while :; do
  if flock -n lock.flock rm -rf lock; then echo removed; exit 0; fi
  n=$((n+1))
  if [ "$force" != force ] || [ "$n" -ge 100 ]; then echo held; exit 0; fi
  sleep 0.1
done
`

// DefaultBeat is how often a holder's host-side session refreshes
// lock/renewed. Liveness does not depend on it (the flock does); it bounds
// how long a session whose SSH connection vanished without a FIN keeps the
// lock (its next write to the dead connection fails).
const DefaultBeat = 5 * time.Second

// busyTries is how many times (0.1 s apart, so 2 s) Acquire tries a flock
// another run holds before calling the lock held: a run releasing it right
// now lets the next one in.
const busyTries = 20

func (s *Store) holdArgv(beat time.Duration, files ...string) []string {
	secs := max(1, int(beat.Round(time.Second)/time.Second))
	tries := busyTries
	if s.busyTries > 0 {
		tries = s.busyTries
	}
	return append([]string{"sh", "-c", holdScript, "blueshift-lock", s.dir, strconv.Itoa(secs), strconv.Itoa(tries)}, files...)
}

func (s *Store) inspectArgv() []string {
	return []string{"sh", "-c", inspectScript, "blueshift-lock-inspect", s.dir}
}

func (s *Store) removeArgv(force bool) []string {
	argv := []string{"sh", "-c", removeScript, "blueshift-lock-remove", s.dir}
	if force {
		argv = append(argv, "force")
	}
	return argv
}

func (s *Store) lockDir() string  { return path.Join(s.dir, "lock") }
func (s *Store) lockFile() string { return path.Join(s.lockDir(), "lock.json") }
