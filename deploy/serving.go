package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/blueshift-deploy/blueshift/deploy/traffic"
)

// ErrStillServing is wrapped by the undo error of a colour that was left
// running because the proxy sends traffic to it (or could not say where it
// sends traffic): undo never stops or removes the colour that serves.
var ErrStillServing = errors.New("still serving")

// guardServing is asked by the undo steps that stop or remove d.Next
// (undoStart, undoStartKept) before they do. It asks the proxy, not only
// d.Switched, which colour it serves: when that is d.Next, or the proxy
// cannot tell, d.Next must keep running. guardServing then records in
// d.Attention which colour serves and what a person must do, and returns
// the error (wrapping ErrStillServing) that the undo step reports, which
// makes the outcome rollback-failed. It returns nil when d.Next may go.
func (e *Engine) guardServing(ctx context.Context, d *Deployment) error {
	c := d.Next
	if !c.Valid() {
		return nil
	}
	var live string
	var liveErr error
	switch {
	case e.Switcher != nil:
		live, liveErr = e.Switcher.Live(ctx)
		if errors.Is(liveErr, traffic.ErrNoLiveColour) {
			live, liveErr = "", nil
		}
	case d.Switched:
		live = string(c) // proxy.kind none: only what this run did is known
	}
	if liveErr == nil && live != string(c) {
		return nil
	}
	if liveErr == nil && !d.Switched && !d.Live.Valid() {
		// A first deployment that never switched: the proxy was set up to
		// point at this colour before anything ran in it, so nobody was
		// served by it.
		return nil
	}
	serving := fmt.Sprintf("%s (%s)", c, d.Version)
	var err error
	switch {
	case liveErr != nil:
		err = fmt.Errorf("%s was left running: %w: the proxy could not say which colour it serves (%w), so it may be serving",
			serving, ErrStillServing, liveErr)
	case switchBackErr(d) != nil:
		err = fmt.Errorf("%s is %w: undoing the switch failed: %w", serving, ErrStillServing, switchBackErr(d))
	case !d.Live.Valid():
		err = fmt.Errorf("%s is %w: this was the first release here, so there is no earlier colour to switch back to", serving, ErrStillServing)
	default:
		err = fmt.Errorf("%s is %w: the proxy still sends traffic to it", serving, ErrStillServing)
	}
	d.leftServing = liveErr == nil
	d.Attention = err.Error() + ". " + e.whatToDo(d)
	return err
}

// switchBackErr is the error of the failed undo of the switch, if any.
func switchBackErr(d *Deployment) error {
	for _, u := range d.UndoErrors {
		if u.Phase == PhaseSwitch {
			return u.Err
		}
	}
	return nil
}

// whatToDo is the advice after d.Next was left serving.
func (e *Engine) whatToDo(d *Deployment) string {
	mage := "go tool mage"
	if e.Env != nil && e.Env.Name != "production" {
		mage = "BLUESHIFT_ENV=" + e.Env.Name + " " + mage
	}
	if d.Previous == nil || d.Previous.Version == "" || !d.Live.Valid() {
		return fmt.Sprintf("Fix the cause, then deploy a fixed release (`%s deploy:%s VERSION`)", mage, d.Environment)
	}
	return fmt.Sprintf("Fix the cause, then run `%s rollback -to=%s` to return to %s on %s (`%s status` shows what runs)",
		mage, d.Previous.Version, d.Previous.Version, d.Live, mage)
}
