package deploy_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/traffic"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// TestFaultReloadNotTakenIsSwitchedBack: nginx accepts the new upstream
// file (`nginx -t` binds nothing) but its reload cannot take it (the colour
// server's port is taken by another program), so nginx keeps serving its
// previous configuration. Before, the switch trusted `nginx -s reload`
// (which only signals) and recorded green as live while nginx served blue;
// and a failed check in the switch phase was never undone (the pipeline
// undoes completed phases only). Now the check at nginx's colour server
// sees that green never loaded, the switch is taken back and the
// deployment rolls back, with no request lost.
func TestFaultReloadNotTakenIsSwitchedBack(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end fault suite")
	}
	t.Parallel()
	f := newFaultApp(t)
	f.deployOK(t, "v1.0.0")

	other := httptest.NewServer(http.NotFoundHandler())
	defer other.Close()
	f.editEnv(t, func(env map[string]any) {
		env["proxy"].(map[string]any)["nginx"].(map[string]any)["colour_listen"] = other.Listener.Addr().String()
	})
	var d *deploy.Deployment
	var err error
	s := f.underLoadOn("/", faultRate, func() { d, err = f.run(t, "v1.0.1", nil) })
	var pe *deploy.PhaseError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, deploy.PhaseSwitch, pe.Phase)
	assert.ErrorIs(t, err, traffic.ErrWrongColour)
	assert.Contains(t, err.Error(), "the proxy does not route to green")
	assert.Equal(t, deploy.OutcomeRolledBack, d.Outcome, "undo errors: %v", d.UndoErrors)
	assert.Zero(t, s.Failed, "failed requests: %v", s.Errors)
	assert.Zero(t, s.ByColour["green"], "green never served")
	assert.Equal(t, version.Blue, f.requireOneLive(t))
	assert.Equal(t, "v1.0.0", f.currentVersion(t))
}
