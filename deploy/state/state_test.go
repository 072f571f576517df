package state

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
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
	ctx := context.Background()
	s, _ := newStore(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, refused := 0, 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			l := NewLock("deploy", "v1.0.1", "prod-v1.0.1-x", "race")
			l.PID = 100000 + i
			err := s.Acquire(ctx, l, time.Hour)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				wins++
			} else if errors.Is(err, ErrLocked) {
				refused++
			} else {
				t.Errorf("unexpected error: %v", err)
			}
		}(i)
	}
	wg.Wait()
	assert.Equal(t, 1, wins)
	assert.Equal(t, 7, refused)
}

func TestLockedErrorNamesHolder(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	mine := NewLock("deploy", "v1.0.1", "prod-v1.0.1-20241227_183050", "hotfix for payments")
	require.NoError(t, s.Acquire(ctx, mine, time.Hour))
	err := s.Acquire(ctx, NewLock("deploy", "v1.0.2", "prod-v1.0.2-x", ""), time.Hour)
	var le *LockedError
	require.ErrorAs(t, err, &le)
	assert.False(t, le.Stale, "holder is this live process")
	for _, want := range []string{"v1.0.1", "prod-v1.0.1-20241227_183050", "hotfix for payments", "lock:release"} {
		assert.Contains(t, err.Error(), want)
	}
	require.NoError(t, s.Release(ctx, mine))
	require.NoError(t, s.Acquire(ctx, NewLock("deploy", "v1.0.2", "y", ""), time.Hour))
}

func TestStaleLockDeadHolderAndForceRelease(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	dead := NewLock("deploy", "v1.0.1", "prod-v1.0.1-x", "")
	dead.PID = 1 << 22 // beyond pid_max: no such process
	require.NoError(t, s.Acquire(ctx, dead, time.Hour))
	err := s.Acquire(ctx, NewLock("deploy", "v1.0.2", "y", ""), time.Hour)
	var le *LockedError
	require.ErrorAs(t, err, &le)
	assert.True(t, le.Stale)

	old := dead
	old.PID = os.Getpid()
	old.Acquired = time.Now().Add(-2 * time.Hour)
	assert.True(t, IsStale(old, time.Now(), time.Hour), "older than the deployment timeout")
	old.Acquired = time.Now()
	assert.False(t, IsStale(old, time.Now(), time.Hour))

	held, err := s.ForceRelease(ctx, "operator: holder died")
	require.NoError(t, err)
	require.NotNil(t, held)
	assert.Equal(t, "prod-v1.0.1-x", held.DeploymentID)
	h, err := s.History(ctx, 1)
	require.NoError(t, err)
	require.Len(t, h, 1)
	assert.Equal(t, KindLockRelease, h[0].Kind)
	assert.Contains(t, h[0].Error, "prod-v1.0.1-x")
	free, err := s.ReadLock(ctx)
	require.NoError(t, err)
	assert.Nil(t, free)
	// Releasing a free lock is a no-op.
	held, err = s.ForceRelease(ctx, "again")
	require.NoError(t, err)
	assert.Nil(t, held)
}

func TestReleaseRefusesOtherHolder(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	a := NewLock("deploy", "v1", "a", "")
	require.NoError(t, s.Acquire(ctx, a, time.Hour))
	b := a
	b.DeploymentID = "b"
	require.Error(t, s.Release(ctx, b))
	require.NoError(t, s.Release(ctx, a))
}
