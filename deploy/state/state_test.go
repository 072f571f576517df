package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

func newStore(t *testing.T) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	return New(host.NewLocal(), dir), dir
}

func TestLoadMissingIsZero(t *testing.T) {
	s, _ := newStore(t)
	st, err := s.Load(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "", st.Live)
	assert.Nil(t, st.Current)
}

func TestSaveLoadRoundTripAndMode(t *testing.T) {
	ctx := context.Background()
	s, dir := newStore(t)
	want := State{App: "shop", Live: "green",
		Current:  &Release{Version: "v1.0.1", Colour: "green", Images: map[string]string{"web": "shop/web@sha256:abc"}},
		Previous: &Release{Version: "v1.0.0", Colour: "blue"}}
	require.NoError(t, s.Save(ctx, want))
	got, err := s.Load(ctx)
	require.NoError(t, err)
	assert.Equal(t, "green", got.Live)
	assert.Equal(t, want.Current.Images, got.Current.Images)
	assert.Equal(t, "v1.0.0", got.Previous.Version)
	fi, err := os.Stat(filepath.Join(dir, Dir, "state.json"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	// No temp files are left beside it.
	entries, _ := os.ReadDir(filepath.Join(dir, Dir))
	assert.Len(t, entries, 1)
}

func TestCorruptStateSaysWhatToDo(t *testing.T) {
	ctx := context.Background()
	s, dir := newStore(t)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, Dir), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, Dir, "state.json"), []byte("{not json"), 0o600))
	_, err := s.Load(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "move it aside")
}

func TestHistoryAppendsAndTails(t *testing.T) {
	ctx := context.Background()
	s, dir := newStore(t)
	for i, v := range []string{"v1.0.0", "v1.0.1", "v1.0.2"} {
		require.NoError(t, s.Append(ctx, Entry{Kind: KindDeploy, Outcome: OutcomeSucceeded, Version: v, Duration: float64(i)}))
	}
	// A torn line from a crash is skipped.
	f, err := os.OpenFile(filepath.Join(dir, Dir, "history.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, _ = f.WriteString(`{"kind":"dep`)
	require.NoError(t, f.Close())
	all, err := s.History(ctx, 0)
	require.NoError(t, err)
	require.Len(t, all, 3)
	last, err := s.History(ctx, 2)
	require.NoError(t, err)
	assert.Equal(t, []string{"v1.0.1", "v1.0.2"}, []string{last[0].Version, last[1].Version})
	assert.False(t, last[0].Time.IsZero())
}

func TestLockIsExclusiveUnderRace(t *testing.T) {
	t.Parallel() // each has its own directory; together they wait seconds for beats
	ctx := context.Background()
	s, _ := newStore(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []*Held
	refused := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			l := NewLock("deploy", "v1.0.1", "prod-v1.0.1-x", "race")
			h, err := s.Acquire(ctx, l)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				won = append(won, h)
			} else if errors.Is(err, ErrLocked) {
				refused++
			} else {
				t.Errorf("unexpected error: %v", err)
			}
		}(i)
	}
	wg.Wait()
	require.Len(t, won, 1)
	assert.Equal(t, 7, refused)
	require.NoError(t, won[0].Release(ctx))
}

func TestLockedErrorNamesHolder(t *testing.T) {
	t.Parallel() // each has its own directory; together they wait seconds for beats
	ctx := context.Background()
	s, _ := newStore(t)
	mine, err := s.Acquire(ctx, NewLock("deploy", "v1.0.1", "prod-v1.0.1-20241227_183050", "hotfix for payments"))
	require.NoError(t, err)
	assert.Nil(t, mine.Previous)
	_, err = s.Acquire(ctx, NewLock("deploy", "v1.0.2", "prod-v1.0.2-x", ""))
	var le *LockedError
	require.ErrorAs(t, err, &le)
	for _, want := range []string{"v1.0.1", "prod-v1.0.1-20241227_183050", "hotfix for payments", "alive"} {
		assert.Contains(t, err.Error(), want)
	}
	require.NoError(t, mine.Release(ctx))
	l, err := s.ReadLock(ctx)
	require.NoError(t, err)
	assert.Nil(t, l, "release removes lock.json")
	next, err := s.Acquire(ctx, NewLock("deploy", "v1.0.2", "y", ""))
	require.NoError(t, err)
	assert.Nil(t, next.Previous, "a released lock leaves no evidence to reconcile")
	require.NoError(t, next.Release(ctx))
}

// otherMachine makes l look taken on another machine with the same hostname,
// by a process that does not exist here.
func otherMachine(l Lock) Lock {
	l.MachineID = "0123456789abcdef0123456789abcdef"
	l.PID = 1 << 22 // beyond pid_max: no such process here
	return l
}

// killSession kills the host-side processes of the session holding the
// lock in dir (as a dropped SSH connection or a killed holder ends them).
func killSession(t *testing.T, dir string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, Dir, "lock", "pids"))
	require.NoError(t, err)
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		require.NoError(t, err)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// TestLockOfLiveHolderIsNeverStaleWhateverItsAge: on 239a55e, IsStale judged
// a lock stale once it was older than timeouts.deployment (10 min) even
// while its holder was alive, compared this machine's clock with the
// holder's, and took any machine with the holder's hostname for "this
// machine" (a PID absent here made another machine's lock stale). Now the
// host judges: a held flock is a live holder, whatever the lock's age or
// machine.
func TestLockOfLiveHolderIsNeverStaleWhateverItsAge(t *testing.T) {
	t.Parallel() // each has its own directory; together they wait seconds for beats
	ctx := context.Background()
	s, _ := newStore(t)
	l := otherMachine(NewLock("deploy", "v1.0.1", "prod-v1.0.1-x", "long health phase"))
	l.Acquired = time.Now().Add(-3 * time.Hour) // a clock far behind, or a very long run
	h, err := s.acquire(ctx, l, time.Second)
	require.NoError(t, err)
	defer h.Release(ctx)
	time.Sleep(2500 * time.Millisecond) // beats happen on the host, with no command from here
	st, err := s.Inspect(ctx)
	require.NoError(t, err)
	assert.True(t, st.Held, "the flock is held")
	assert.True(t, st.Alive)
	assert.False(t, st.Stale, "a live holder is never stale")
	assert.False(t, LocalHolderAlive(*st.Lock), "a same-named machine with another machine ID is not this machine")
	assert.False(t, st.Renewed.IsZero(), "the host's clock renewed it")
	assert.False(t, st.HostNow.Before(st.Renewed))
	_, err = s.Acquire(ctx, NewLock("deploy", "v1.0.2", "y", ""))
	assert.ErrorIs(t, err, ErrLocked)
	_, err = s.ForceRelease(ctx, "operator", false)
	assert.ErrorIs(t, err, ErrHolderAlive, "lock:release refuses a live holder")
	assert.Contains(t, err.Error(), "-force")
}

// TestLiveLocalPIDIsNeverStale: a holder that runs on this machine and is
// alive keeps its lock even when its host-side session is gone.
func TestLiveLocalPIDIsNeverStale(t *testing.T) {
	ctx := context.Background()
	s, dir := newStore(t)
	h, err := s.Acquire(ctx, NewLock("deploy", "v1.0.1", "prod-v1.0.1-x", ""))
	require.NoError(t, err)
	killSession(t, dir)
	<-h.Lost()
	st, err := s.Inspect(ctx)
	require.NoError(t, err)
	assert.False(t, st.Held)
	assert.True(t, st.Alive, "this test process holds it and runs")
	assert.False(t, st.Stale)
	_, err = s.Acquire(ctx, NewLock("deploy", "v1.0.2", "y", ""))
	assert.ErrorIs(t, err, ErrLocked)
	// Release wraps the session's end as well as ErrLockLost (here the
	// killed session's exit); before, the cause was only in the text (%v)
	// and errors.Is/As could not see, say, a lost connection.
	err = h.Release(ctx)
	assert.ErrorIs(t, err, ErrLockLost)
	var exit *host.ExitError
	assert.ErrorAs(t, err, &exit, "%v", err)
}

// TestDeadHolderTakenOverAtomically: on 239a55e a stale lock was removed by
// whoever looked (Reconcile, status) with ForceRelease, so two runs could
// both believe they held it. Now exactly one of the runs racing for a
// dead holder's lock wins (the kernel's flock), it gets the dead holder's
// lock.json as evidence, and the dead holder's late Release touches
// nothing.
func TestDeadHolderTakenOverAtomically(t *testing.T) {
	t.Parallel() // each has its own directory; together they wait seconds for beats
	ctx := context.Background()
	s, dir := newStore(t)
	dead, err := s.Acquire(ctx, otherMachine(NewLock("deploy", "v1.0.1", "prod-v1.0.1-dead", "")))
	require.NoError(t, err)
	killSession(t, dir)
	<-dead.Lost()
	st, err := s.Inspect(ctx)
	require.NoError(t, err)
	assert.True(t, st.Stale, "the holder's host-side lock is free: %+v", st)

	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []*Held
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, err := New(host.NewLocal(), dir).Acquire(ctx, NewLock("deploy", "v1.0.2", "prod-v1.0.2-new", ""))
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				won = append(won, h)
			} else {
				assert.ErrorIs(t, err, ErrLocked)
			}
		}()
	}
	wg.Wait()
	require.Len(t, won, 1, "one winner")
	require.NotNil(t, won[0].Previous)
	assert.Equal(t, "prod-v1.0.1-dead", won[0].Previous.DeploymentID)

	assert.ErrorIs(t, dead.Release(ctx), ErrLockLost)
	l, err := s.ReadLock(ctx)
	require.NoError(t, err)
	require.NotNil(t, l)
	assert.Equal(t, "prod-v1.0.2-new", l.DeploymentID, "the dead holder's release left the new lock alone")
	require.NoError(t, won[0].Release(ctx))
}

// TestForceReleaseRecordsEvidence: a dead holder's lock is released and
// recorded; a live one only with force, which ends its session.
func TestForceReleaseRecordsEvidence(t *testing.T) {
	t.Parallel() // each has its own directory; together they wait seconds for beats
	ctx := context.Background()
	s, dir := newStore(t)
	dead, err := s.Acquire(ctx, otherMachine(NewLock("deploy", "v1.0.1", "prod-v1.0.1-x", "")))
	require.NoError(t, err)
	killSession(t, dir)
	<-dead.Lost()
	held, err := s.ForceRelease(ctx, "operator: holder died", false)
	require.NoError(t, err)
	require.NotNil(t, held)
	assert.Equal(t, "prod-v1.0.1-x", held.DeploymentID)
	h, err := s.History(ctx, 1)
	require.NoError(t, err)
	require.Len(t, h, 1)
	assert.Equal(t, KindLockRelease, h[0].Kind)
	assert.Contains(t, h[0].Error, "prod-v1.0.1-x")
	assert.Contains(t, h[0].Error, "gone")
	free, err := s.ReadLock(ctx)
	require.NoError(t, err)
	assert.Nil(t, free)
	held, err = s.ForceRelease(ctx, "again", false)
	require.NoError(t, err)
	assert.Nil(t, held, "releasing a free lock is a no-op")

	live, err := s.Acquire(ctx, otherMachine(NewLock("deploy", "v1.0.2", "prod-v1.0.2-x", "")))
	require.NoError(t, err)
	held, err = s.ForceRelease(ctx, "operator: runner stuck", true)
	require.NoError(t, err)
	assert.Equal(t, "prod-v1.0.2-x", held.DeploymentID)
	select {
	case <-live.Lost():
	case <-time.After(10 * time.Second):
		t.Fatal("the forced holder's session still runs")
	}
	h, err = s.History(ctx, 1)
	require.NoError(t, err)
	assert.Contains(t, h[0].Error, "ALIVE")
	next, err := s.Acquire(ctx, NewLock("deploy", "v1.0.3", "z", ""))
	require.NoError(t, err)
	require.NoError(t, next.Release(ctx))
}

// TestLegacyLockIsNotTakenOver: a lock.json of a blueshift before format 1
// (mkdir lock, no flock) cannot show whether its holder lives: refused,
// and released only by an operator.
func TestLegacyLockIsNotTakenOver(t *testing.T) {
	ctx := context.Background()
	s, dir := newStore(t)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, Dir, "lock"), 0o700))
	old := `{"holder":"ci@runner","machine":"runner","pid":4242,"kind":"deploy","version":"v0.9.0","acquired":"2026-01-01T00:00:00Z"}`
	require.NoError(t, os.WriteFile(filepath.Join(dir, Dir, "lock", "lock.json"), []byte(old), 0o600))
	_, err := s.Acquire(ctx, NewLock("deploy", "v1.0.0", "x", ""))
	var le *LockedError
	require.ErrorAs(t, err, &le)
	assert.True(t, le.Legacy)
	assert.Contains(t, err.Error(), "lock:release")
	st, err := s.Inspect(ctx)
	require.NoError(t, err)
	assert.True(t, st.Legacy)
	assert.False(t, st.Stale)
	held, err := s.ForceRelease(ctx, "operator", false)
	require.NoError(t, err)
	assert.Equal(t, "v0.9.0", held.Version)
	h, err := s.Acquire(ctx, NewLock("deploy", "v1.0.0", "x", ""))
	require.NoError(t, err)
	require.NoError(t, h.Release(ctx))
}

// TestNewerFormatsAreRefused: on 239a55e neither file had a format, so an
// older blueshift would misread a newer one's state.
func TestNewerFormatsAreRefused(t *testing.T) {
	ctx := context.Background()
	s, dir := newStore(t)
	require.NoError(t, s.Save(ctx, State{App: "shop", Live: "blue"}))
	data, err := os.ReadFile(filepath.Join(dir, Dir, "state.json"))
	require.NoError(t, err)
	assert.Contains(t, string(data), `"format": 1`)
	require.NoError(t, os.WriteFile(filepath.Join(dir, Dir, "state.json"), []byte(`{"format": 7, "app": "shop"}`), 0o600))
	_, err = s.Load(ctx)
	var fe *FormatError
	require.ErrorAs(t, err, &fe)
	assert.Contains(t, err.Error(), "written by a newer blueshift (format 7")
	assert.Contains(t, err.Error(), "upgrade")
	// An older file (no format) is read.
	require.NoError(t, os.WriteFile(filepath.Join(dir, Dir, "state.json"), []byte(`{"app": "shop", "live": "green"}`), 0o600))
	st, err := s.Load(ctx)
	require.NoError(t, err)
	assert.Equal(t, "green", st.Live)

	require.NoError(t, os.MkdirAll(filepath.Join(dir, Dir, "lock"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, Dir, "lock", "lock.json"), []byte(`{"format": 9, "holder": "future"}`), 0o600))
	_, err = s.Acquire(ctx, NewLock("deploy", "v1.0.0", "x", ""))
	require.ErrorAs(t, err, &fe)
	assert.Contains(t, err.Error(), "format 9")
	_, err = s.Inspect(ctx)
	require.ErrorAs(t, err, &fe)
}

// TestUpdateOwnedTouchesOnlyItsOwnRun: unlock and record on 239a55e cleared
// or overwrote whatever run was in flight.
func TestUpdateOwnedTouchesOnlyItsOwnRun(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	require.NoError(t, s.Save(ctx, State{App: "shop", InFlight: &InFlight{DeploymentID: "theirs", Version: "v2"}}))
	_, err := s.UpdateOwned(ctx, "mine", func(st *State) { st.InFlight = nil; st.Live = "green" })
	require.ErrorIs(t, err, ErrNotOwner)
	st, err := s.Load(ctx)
	require.NoError(t, err)
	require.NotNil(t, st.InFlight)
	assert.Equal(t, "", st.Live)
	_, err = s.UpdateOwned(ctx, "theirs", func(st *State) { st.InFlight = nil })
	require.NoError(t, err)
}

// TestHistoryResynchronisesAfterTornLine: on 239a55e a torn line (a crash
// mid-append, then the next append on the same line) made the reader skip
// the whole line, swallowing the good entry after the tear.
func TestHistoryResynchronisesAfterTornLine(t *testing.T) {
	ctx := context.Background()
	s, dir := newStore(t)
	require.NoError(t, s.Append(ctx, Entry{Kind: KindDeploy, Outcome: OutcomeSucceeded, Version: "v1.0.0"}))
	f, err := os.OpenFile(filepath.Join(dir, Dir, "history.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"time":"2026-01-01T00:00:00Z","kind":"deploy","outcome":"succ`)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.NoError(t, s.Append(ctx, Entry{Kind: KindDeploy, Outcome: OutcomeFailed, Version: "v1.0.1"}))
	require.NoError(t, s.Append(ctx, Entry{Kind: KindRollback, Outcome: OutcomeSucceeded, Version: "v1.0.0"}))
	// Garbage with braces, and a torn line at the very end.
	f, err = os.OpenFile(filepath.Join(dir, Dir, "history.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("{\"a\":{\"b\"\n{\"time\":\"2026-01-0")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	all, err := s.History(ctx, 0)
	require.NoError(t, err)
	var got []string
	for _, e := range all {
		got = append(got, e.Kind+" "+e.Version+" "+e.Outcome)
	}
	assert.Equal(t, []string{"deploy v1.0.0 succeeded", "deploy v1.0.1 failed", "rollback v1.0.0 succeeded"}, got)
}

// TestHistoryAppendIsOneWrite: on 239a55e the append was `dd bs=1M` without
// iflag=fullblock: dd writes each piece its input arrives in, so one line
// could become several writes and concurrent appends interleave. The argv
// is pinned, and appends racing from many processes with lines larger than
// a pipe's buffer all stay whole.
func TestHistoryAppendIsOneWrite(t *testing.T) {
	assert.Equal(t, []string{"dd", "of=/srv/h.jsonl", "oflag=append", "conv=notrunc,fsync", "iflag=fullblock", "bs=123", "count=1", "status=none"},
		appendArgv("/srv/h.jsonl", 123))
	ctx := context.Background()
	s, _ := newStore(t)
	big := strings.Repeat("x", 200*1024) // several pipe buffers
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, s.Append(ctx, Entry{Kind: KindDeploy, Outcome: OutcomeSucceeded, Version: fmt.Sprintf("v1.0.%d", i), Logs: big}))
		}()
	}
	wg.Wait()
	all, err := s.History(ctx, 0)
	require.NoError(t, err)
	assert.Len(t, all, 12, "every entry whole")
	for _, e := range all {
		assert.Len(t, e.Logs, len(big))
	}
}

// TestLockWithoutFlockSaysWhatToInstall: a host without flock(1) gets an
// error naming the package, not a lock "held by a run taking it".
func TestLockWithoutFlockSaysWhatToInstall(t *testing.T) {
	bin := t.TempDir()
	for _, p := range []string{"sh", "mkdir", "cat", "date", "sleep", "mv", "rm"} {
		full, err := exec.LookPath(p)
		require.NoError(t, err)
		require.NoError(t, os.Symlink(full, filepath.Join(bin, p)))
	}
	t.Setenv("PATH", bin)
	s, _ := newStore(t)
	_, err := s.Acquire(context.Background(), NewLock("deploy", "v1", "x", ""))
	require.ErrorIs(t, err, ErrNoFlock)
	_, err = s.Inspect(context.Background())
	require.NoError(t, err, "no flock file yet: nothing to ask flock")
}

// countingRunner counts the commands run through it.
type countingRunner struct {
	host.Runner
	n int
}

func (c *countingRunner) Run(ctx context.Context, cmd host.Cmd) error {
	c.n++
	return c.Runner.Run(ctx, cmd)
}

// TestUpdateUnderTheLockIsOneCommand: on 8fa63d2 every state update was a
// read and a seven-command write (eight sessions over SSH) and a history
// append two. Now an update of the state the store last read or wrote is
// one command, written only while the file is unchanged: a change by
// another writer (a run that took the lock away) is read and decided on,
// never overwritten.
func TestUpdateUnderTheLockIsOneCommand(t *testing.T) {
	ctx := context.Background()
	c := &countingRunner{Runner: host.NewLocal()}
	dir := t.TempDir()
	s := New(c, dir)
	_, err := s.Load(ctx) // no state yet
	require.NoError(t, err)
	_, err = s.Update(ctx, func(st *State) {
		st.App = "app"
		st.InFlight = &InFlight{Kind: KindDeploy, DeploymentID: "mine", Phase: "prepare"}
	})
	require.NoError(t, err)
	_, err = s.UpdateOwned(ctx, "mine", func(st *State) { st.InFlight.Phase = "health" })
	require.NoError(t, err)
	require.NoError(t, s.Append(ctx, Entry{Kind: KindDeploy, Outcome: OutcomeSucceeded}))
	assert.Equal(t, 4, c.n, "load, two updates and an append: one command each")
	st, err := s.Known(ctx)
	require.NoError(t, err)
	assert.Equal(t, "health", st.InFlight.Phase)
	assert.Equal(t, 4, c.n, "Known reads nothing")

	// Another run takes over and writes state behind this store's back.
	other := New(host.NewLocal(), dir)
	_, err = other.Update(ctx, func(st *State) { st.InFlight.DeploymentID = "theirs"; st.Live = "green" })
	require.NoError(t, err)
	_, err = s.UpdateOwned(ctx, "mine", func(st *State) { st.InFlight = nil })
	require.ErrorIs(t, err, ErrNotOwner)
	got, err := other.Load(ctx)
	require.NoError(t, err)
	require.NotNil(t, got.InFlight, "the other run's in-flight record is kept")
	assert.Equal(t, "theirs", got.InFlight.DeploymentID)

	// A plain Update applies to what the file holds now.
	_, err = s.Update(ctx, func(st *State) { st.Previous = &Release{Version: "v1"} })
	require.NoError(t, err)
	got, err = other.Load(ctx)
	require.NoError(t, err)
	assert.Equal(t, "green", got.Live, "the other writer's change survives")
	assert.Equal(t, "v1", got.Previous.Version)
	fi, err := os.Stat(filepath.Join(dir, Dir))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
}
