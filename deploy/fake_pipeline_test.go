package deploy_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/deploy"
)

// TestFakeDeployTwice deploys v1.0.0 then v1.0.1 on the fake host: the
// whole pipeline, no Docker.
func TestFakeDeployTwice(t *testing.T) {
	t.Parallel()
	a := newFakeApp(t, nil)
	d := a.deployOK(t, "v1.0.0")
	for _, p := range d.Report.Phases {
		t.Logf("%s %s %d %s %s", p.Name, p.Outcome, p.RemoteCommands, p.Duration, p.Err)
	}
	d = a.deployOK(t, "v1.0.1")
	for _, p := range d.Report.Phases {
		t.Logf("%s %s %d %s %s", p.Name, p.Outcome, p.RemoteCommands, p.Duration, p.Err)
	}
	require.Equal(t, deploy.OutcomeSucceeded, d.Outcome)
	assert.Equal(t, "green", a.fake.Model.ProxyLive())
}
