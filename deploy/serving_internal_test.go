package deploy

import (
	"context"
	"errors"
	"testing"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// liveFails is a traffic.Switcher that cannot say which colour it serves,
// or, with live set, serves that colour.
type liveFails struct {
	live string
	err  error
}

func (s liveFails) Live(context.Context) (string, error) { return s.live, s.err }
func (s liveFails) Switch(context.Context, string) error { return nil }
func (s liveFails) Validate(context.Context) error       { return nil }

// TestGuardServingWrapsBothCauses: the error that keeps a colour running
// wraps ErrStillServing and why (the proxy's error, or the failed switch
// back), both for errors.Is. Before this commit the cause was formatted
// with %v: a caller could not tell that the connection to the host was
// lost.
func TestGuardServingWrapsBothCauses(t *testing.T) {
	ctx := context.Background()
	v101, err := version.Parse("v1.0.1")
	if err != nil {
		t.Fatal(err)
	}
	e := &Engine{Switcher: liveFails{err: errors.Join(errors.New("read nginx colour"), host.ErrConnectionLost)}}
	d := &Deployment{Next: version.Green, Version: v101, Switched: true}
	err = e.guardServing(ctx, d)
	if !errors.Is(err, ErrStillServing) || !errors.Is(err, host.ErrConnectionLost) {
		t.Errorf("proxy cannot tell: %v; want ErrStillServing and host.ErrConnectionLost", err)
	}

	errSwitchBack := errors.New("nginx: configuration invalid")
	e = &Engine{Switcher: liveFails{live: string(version.Green)}}
	d = &Deployment{Next: version.Green, Version: v101, Switched: true, Live: version.Blue,
		UndoErrors: []*PhaseError{{Phase: PhaseSwitch, Err: errSwitchBack}}}
	err = e.guardServing(ctx, d)
	if !errors.Is(err, ErrStillServing) || !errors.Is(err, errSwitchBack) {
		t.Errorf("switch back failed: %v; want ErrStillServing and the switch's error", err)
	}
}
