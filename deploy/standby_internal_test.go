package deploy

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/state"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// standbyFixture is an app directory whose state names blue as the
// standby, live green, with the window ended a second ago.
func standbyFixture(t *testing.T, edit func(*state.State)) (app, dir string) {
	t.Helper()
	app = t.TempDir()
	until := time.Now().Add(-time.Second).Truncate(time.Second)
	st := state.State{App: "app", Live: "green", Standby: &state.Standby{Colour: "blue", Release: "v1", Until: until, UntilUnix: until.Unix()}}
	if edit != nil {
		edit(&st)
	}
	s := state.New(host.NewLocal(), app)
	require.NoError(t, s.Save(context.Background(), st))
	return app, s.Path()
}

// TestStandbyJobDecides runs the host's standby job (standbyJobScript,
// under sh, at once) on state.json as blueshift writes it: it stops the
// colour only when state still names it as the standby, its window has
// passed, it is not state's live colour and the proxy does not serve it.
func TestStandbyJobDecides(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		edit   func(*state.State)
		serves string // the proxy check's exit status
		stop   bool
	}{
		{"window ended", nil, "false", true},
		{"the proxy serves it", nil, "true", false},
		{"state's live colour", func(s *state.State) { s.Live = "blue" }, "false", false},
		{"another standby since", func(s *state.State) { s.Standby.Colour = "green"; s.Live = "blue" }, "false", false},
		{"no standby any more", func(s *state.State) { s.Standby = nil }, "false", false},
		{"window extended by a later deployment", func(s *state.State) {
			s.Standby.Until = time.Now().Add(time.Hour)
			s.Standby.UntilUnix = s.Standby.Until.Unix()
		}, "false", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, dir := standbyFixture(t, tc.edit)
			stopped := filepath.Join(t.TempDir(), "stopped")
			argv := standbyArgv(dir, version.Blue, time.Now().Add(-time.Second), nil, []string{tc.serves}, host.Cmd{Argv: []string{"touch", stopped}})
			job := append([]string{"sh", "-c", standbyJobScript, "blueshift-standby"}, dir, argv[5], argv[6], argv[8], argv[9])
			require.NoError(t, host.NewLocal().Run(context.Background(), host.Cmd{Argv: job}))
			_, err := os.Stat(stopped)
			assert.Equal(t, tc.stop, err == nil, "stopped")
		})
	}
}

// TestStandbyScriptLeavesAJobThatWaitsForTheLock runs keepStandby's
// command: it stops the other services at once, returns, and leaves the
// job, which waits for the deploy lock's flock (a run holding it) before
// it stops the standby colour.
func TestStandbyScriptLeavesAJobThatWaitsForTheLock(t *testing.T) {
	t.Parallel()
	_, dir := standbyFixture(t, nil)
	out := t.TempDir()
	lock, err := os.OpenFile(filepath.Join(dir, "lock.flock"), os.O_CREATE|os.O_WRONLY, 0o600)
	require.NoError(t, err)
	defer lock.Close()
	require.NoError(t, syscall.Flock(int(lock.Fd()), syscall.LOCK_EX))

	now, stopped := filepath.Join(out, "now"), filepath.Join(out, "stopped")
	argv := standbyArgv(dir, version.Blue, time.Now().Add(-time.Second), []string{"touch", now}, nil,
		host.Cmd{Argv: []string{"sh", "-c", `pwd >"$1"`, "sh", stopped}, Dir: out})
	require.NoError(t, host.NewLocal().Run(context.Background(), host.Cmd{Argv: argv}))
	_, err = os.Stat(now)
	require.NoError(t, err, "the other services' stop runs in the command itself")

	time.Sleep(500 * time.Millisecond)
	_, err = os.Stat(stopped)
	require.ErrorIs(t, err, os.ErrNotExist, "the job stopped the colour while a run held the lock")
	require.NoError(t, syscall.Flock(int(lock.Fd()), syscall.LOCK_UN))
	require.Eventually(t, func() bool { _, err := os.Stat(stopped); return err == nil }, 10*time.Second, 50*time.Millisecond,
		"the job did not stop the standby once the lock was free")
	data, err := os.ReadFile(stopped)
	require.NoError(t, err)
	assert.Equal(t, out+"\n", string(data), "the stop runs in its command's directory")
}
