package deploy

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/state"
)

// TestUnderLockStopsWhenTheLockIsLost: Reconcile and Restore used to hold
// the lock without watching it (only the deploy and rollback lock phase
// did), so a reconcile or restore whose host-side lock session died went
// on as if it still held the lock. underLock cancels their context with a
// cause wrapping state.ErrLockLost, and the error says so.
func TestUnderLockStopsWhenTheLockIsLost(t *testing.T) {
	dir := t.TempDir()
	e := &Engine{Store: state.New(host.NewLocal(), dir)}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var cause error
	err := e.underLock(ctx, state.NewLock(state.KindReconcile, "", "", "test"), func(ctx context.Context, held *state.Held) error {
		b, err := os.ReadFile(filepath.Join(dir, state.Dir, "lock", "pids"))
		require.NoError(t, err)
		for _, f := range strings.Fields(string(b)) {
			pid, err := strconv.Atoi(f)
			require.NoError(t, err)
			_ = syscall.Kill(pid, syscall.SIGKILL) // the host-side session dies
		}
		<-ctx.Done()
		cause = context.Cause(ctx)
		return ctx.Err()
	})
	assert.ErrorIs(t, cause, state.ErrLockLost, "the operation's context is cancelled because the lock was lost")
	assert.ErrorIs(t, err, state.ErrLockLost)
	assert.ErrorIs(t, err, context.Canceled)
}

// TestUnderLockReleases: after fn, the lock is free again and fn's error is
// returned.
func TestUnderLockReleases(t *testing.T) {
	e := &Engine{Store: state.New(host.NewLocal(), t.TempDir())}
	ctx := context.Background()
	want := assert.AnError
	err := e.underLock(ctx, state.NewLock(state.KindReconcile, "", "", "test"), func(ctx context.Context, held *state.Held) error {
		_, err := e.Store.Acquire(ctx, state.NewLock(state.KindDeploy, "v1", "x", ""))
		assert.ErrorIs(t, err, state.ErrLocked, "held while fn runs")
		return want
	})
	assert.ErrorIs(t, err, want)
	held, err := e.Store.Acquire(ctx, state.NewLock(state.KindDeploy, "v1", "x", ""))
	require.NoError(t, err, "released after fn")
	require.NoError(t, held.Release(ctx))
}
