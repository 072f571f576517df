package health

import (
	"context"
	"time"
)

// clock is the time Wait and Monitor keep their schedules by. It is real
// time unless a test puts another clock in the context (withClock); checks
// themselves always run and time out in real time.
type clock interface {
	Now() time.Time
	// SleepUntil returns at t, or earlier with ctx's error.
	SleepUntil(ctx context.Context, t time.Time) error
}

type clockKey struct{}

// withClock returns ctx carrying c for Wait and Monitor.
func withClock(ctx context.Context, c clock) context.Context {
	return context.WithValue(ctx, clockKey{}, c)
}

func clockFrom(ctx context.Context) clock {
	if c, ok := ctx.Value(clockKey{}).(clock); ok {
		return c
	}
	return realClock{}
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) SleepUntil(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
