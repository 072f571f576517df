package deploy_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/deploy/state"
)

// envSecret is a value in the env files of these tests: it must appear in
// no output.
const envSecret = "hunter2-do-not-print"

// writeEnvFile writes the fake app's env file (env_file defaults to
// .env.production under the app's path) and returns its SHA-256.
func (a *fakeApp) writeEnvFile(t *testing.T, text string) string {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(a.appPath, ".env.production"), []byte(text), 0o600))
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])
}

// statusText is `status` as printed.
func (a *fakeApp) statusText(t *testing.T) string {
	t.Helper()
	s, err := a.engine(t).Status(context.Background(), 0)
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, s.Write(&b))
	return b.String()
}

// TestEnvFileIsPartOfARelease (issue 15 item 9): each release records the
// SHA-256 of the host's env file it was started with, status says when the
// file changed since the live release, and a rollback to a release that ran
// with another env file warns; only hashes are printed, never values.
func TestEnvFileIsPartOfARelease(t *testing.T) {
	t.Parallel()
	a := newFakeApp(t, nil)

	// No env file on the host: recorded as absent, not as unknown.
	a.seed(t, "v1.0.0")
	assert.Equal(t, state.NoEnvFile, a.state(t).Current.EnvFileSHA256)

	first := a.writeEnvFile(t, "TOKEN="+envSecret+"-1\n")
	out := a.statusText(t)
	assert.Contains(t, out, "env file     sha256 "+first[:12]+" CHANGED since v1.0.0 was deployed with absent")

	a.seed(t, "v1.0.1")
	st := a.state(t)
	assert.Equal(t, first, st.Current.EnvFileSHA256)
	assert.Equal(t, state.NoEnvFile, st.Previous.EnvFileSHA256)
	out = a.statusText(t)
	assert.Contains(t, out, "env file     sha256 "+first[:12]+" (as v1.0.1 was deployed)")

	second := a.writeEnvFile(t, "TOKEN="+envSecret+"-2\n")
	a.seed(t, "v1.0.2")
	out = a.statusText(t)
	assert.Contains(t, out, "env file     sha256 "+second[:12]+" (as v1.0.2 was deployed)")
	assert.NotContains(t, out, envSecret)
	assert.NotContains(t, out, second[:13], "only 12 hex digits of the hash are shown")

	// Back to v1.0.1, which ran with the first file: the kept containers
	// are started again, nothing is rendered, the release keeps its hash.
	eng := a.engine(t)
	d := eng.NewRollback()
	require.NoError(t, eng.RollbackPipeline("").Run(context.Background(), d))
	want := "v1.0.1 ran with a different env file (sha256 " + first[:12] + ") than v1.0.2 (sha256 " + second[:12] + ")"
	found := false
	for _, w := range d.Report.Warnings {
		found = found || strings.Contains(w, want)
		assert.NotContains(t, w, envSecret)
	}
	assert.True(t, found, "rollback warnings %q lack %q", d.Report.Warnings, want)
	st = a.state(t)
	assert.Equal(t, "v1.0.1", st.Current.Version)
	assert.Equal(t, first, st.Current.EnvFileSHA256)
	out = a.statusText(t)
	assert.Contains(t, out, "env file     sha256 "+second[:12]+" CHANGED since v1.0.1 was deployed with sha256 "+first[:12])
	assert.NotContains(t, out, envSecret)
}

// TestRollbackSameEnvFileNoWarning: a rollback between releases that ran
// with the same env file says nothing about it.
func TestRollbackSameEnvFileNoWarning(t *testing.T) {
	t.Parallel()
	a := newFakeApp(t, nil)
	a.writeEnvFile(t, "TOKEN="+envSecret+"\n")
	a.seed(t, "v1.0.0")
	a.seed(t, "v1.0.1")
	eng := a.engine(t)
	d := eng.NewRollback()
	require.NoError(t, eng.RollbackPipeline("").Run(context.Background(), d))
	for _, w := range d.Report.Warnings {
		assert.NotContains(t, w, "env file")
	}
}

// TestRollbackRenderedRecordsEnvFileNow: a rollback that renders the
// release again (its colour holds another version) starts it with the env
// file on the host now, and records that file's hash, not the old one.
func TestRollbackRenderedRecordsEnvFileNow(t *testing.T) {
	t.Parallel()
	a := newFakeApp(t, nil)
	a.writeEnvFile(t, "TOKEN="+envSecret+"-1\n")
	a.seed(t, "v1.0.0") // blue
	a.seed(t, "v1.0.1") // green
	now := a.writeEnvFile(t, "TOKEN="+envSecret+"-2\n")
	a.seed(t, "v1.0.2") // blue
	eng := a.engine(t)
	d := eng.NewRollback()
	require.NoError(t, eng.RollbackPipeline("v1.0.0").Run(context.Background(), d))
	st := a.state(t)
	require.Equal(t, "v1.0.0", st.Current.Version)
	assert.Equal(t, "green", st.Current.Colour, "rendered into green, which held v1.0.1")
	assert.Equal(t, now, st.Current.EnvFileSHA256)
}
