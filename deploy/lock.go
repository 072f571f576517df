package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/blueshift-deploy/blueshift/deploy/state"
)

// holdLock takes the deploy lock l and wires its loss to abort: when the
// host-side session holding it ends (the connection or its process died,
// or the lock was released), abort is called once with an error wrapping
// state.ErrLockLost and the session's error. abort must do nothing harmful
// after the run released the lock itself (Deployment.Abort does nothing
// once the final phases have started; a cancelled context of a finished
// operation is unused). Every run that takes the lock takes it here.
func (e *Engine) holdLock(ctx context.Context, l state.Lock, abort func(cause error)) (*state.Held, error) {
	held, err := e.Store.Acquire(ctx, l)
	if err != nil {
		return nil, err
	}
	go func() {
		<-held.Lost()
		abort(fmt.Errorf("%w: %w", state.ErrLockLost, held.Err()))
	}()
	return held, nil
}

// underLock runs fn holding the deploy lock l, with a context that is
// cancelled (cause wrapping state.ErrLockLost) if the lock is lost, and
// releases the lock afterwards: the one-shot operations (reconcile,
// restore). A lock lost before the release makes the release fail with an
// error wrapping state.ErrLockLost, which is returned with fn's.
func (e *Engine) underLock(ctx context.Context, l state.Lock, fn func(ctx context.Context, held *state.Held) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	held, err := e.holdLock(ctx, l, cancel)
	if err != nil {
		return err
	}
	err = fn(ctx, held)
	return errors.Join(err, held.Release(context.WithoutCancel(ctx)))
}
