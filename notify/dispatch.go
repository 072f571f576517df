package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Dispatcher sends events to several notifiers at once.
type Dispatcher struct {
	// Notifiers receive every event.
	Notifiers []Notifier
	// Timeout bounds each notifier, all its attempts together; default 30s.
	Timeout time.Duration
	// Retries is how many more times a notifier is tried after a temporary
	// error (an error with Temporary() false is not retried); default 0.
	Retries int
	// Backoff is the wait before the first retry, doubled after each;
	// default 500ms.
	Backoff time.Duration
	// Logger receives one record per notifier and attempt; nil discards.
	Logger *slog.Logger
}

// Result is how one notifier fared with one event.
type Result struct {
	// Notifier is the notifier's Name.
	Notifier string
	// Err is nil when the event was delivered.
	Err error
	// Duration is the time spent, all attempts together.
	Duration time.Duration
	// Attempts is how many times Notify was called.
	Attempts int
}

// ErrPanic is wrapped by the error of a notifier that panicked.
var ErrPanic = errors.New("notifier panicked")

// Send delivers ev to every notifier concurrently and waits for all of
// them, each bounded by d.Timeout. It never fails: the results, in the order
// of d.Notifiers, say which notifiers did not deliver and why.
func (d *Dispatcher) Send(ctx context.Context, ev Event) []Result {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	results := make([]Result, len(d.Notifiers))
	var wg sync.WaitGroup
	for i, n := range d.Notifiers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = d.send(ctx, n, ev)
		}()
	}
	wg.Wait()
	return results
}

func (d *Dispatcher) send(ctx context.Context, n Notifier, ev Event) Result {
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	backoff := d.Backoff
	if backoff <= 0 {
		backoff = 500 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	res := Result{Notifier: n.Name()}
	start := time.Now()
	for {
		res.Attempts++
		res.Err = notifyOnce(ctx, n, ev)
		log.LogAttrs(ctx, levelFor(res.Err), "notify",
			slog.String("notifier", res.Notifier), slog.String("event", ev.Kind.String()),
			slog.Int("attempt", res.Attempts), slog.Any("error", res.Err))
		if res.Err == nil || res.Attempts > d.Retries || !temporary(res.Err) || ctx.Err() != nil {
			break
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		if ctx.Err() != nil {
			break
		}
		backoff *= 2
	}
	if res.Err != nil && ctx.Err() != nil && !errors.Is(res.Err, ctx.Err()) {
		res.Err = fmt.Errorf("%w (%w)", res.Err, ctx.Err())
	}
	res.Duration = time.Since(start)
	return res
}

// notifyOnce calls n.Notify, turning a panic into an error and returning
// when ctx is done even if the notifier ignores ctx.
func notifyOnce(ctx context.Context, n Notifier, ev Event) error {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("%s: %w: %v", n.Name(), ErrPanic, p)
			}
		}()
		done <- n.Notify(ctx, ev)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%s: gave up waiting: %w", n.Name(), ctx.Err())
	}
}

func levelFor(err error) slog.Level {
	if err != nil {
		return slog.LevelWarn
	}
	return slog.LevelDebug
}

// temporary reports whether err may go away when retried: errors say so
// with a Temporary method; errors that do not are assumed temporary.
func temporary(err error) bool {
	var t interface{ Temporary() bool }
	if errors.As(err, &t) {
		return t.Temporary()
	}
	return true
}
