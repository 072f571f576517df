package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Policy says how often and how long Wait retries a probe.
type Policy struct {
	// Attempts is the most checks Wait makes; zero means 1.
	Attempts int
	// Interval is the time from the start of one attempt to the start of
	// the next; an attempt that runs longer is followed at once.
	Interval time.Duration
	// AttemptTimeout bounds each attempt; zero means Interval, or
	// DefaultTimeout when Interval is zero too.
	AttemptTimeout time.Duration
	// Timeout bounds the whole wait; zero means no bound beyond Attempts.
	// Wait gives up as soon as the attempts it still needs cannot start
	// before it.
	Timeout time.Duration
	// SuccessesInRow is how many consecutive passes make the probe healthy;
	// zero means 1.
	SuccessesInRow int
	// Classify decides how an attempt counts; nil means DefaultClassify.
	Classify func(Observation) Verdict
}

// BackendPolicy is the seed pipeline's backend health check: 30 attempts
// 10s apart within 5 minutes, each attempt at most 10s, one pass is enough.
// The seed gives no bound for one attempt; an attempt may last its interval,
// so a slow answer never delays the schedule the seed states.
//
// It is the one statement of these numbers: the defaults of deploy.yml's
// health.backend (package deploy) are taken from it.
func BackendPolicy() Policy {
	return Policy{Attempts: 30, Interval: 10 * time.Second, AttemptTimeout: 10 * time.Second, Timeout: 5 * time.Minute, SuccessesInRow: 1}
}

// FrontendPolicy is the seed pipeline's frontend health check: 10 attempts
// 5s apart, each attempt at most 5s, one pass is enough, within the seed's
// 5-minute health check timeout (which 10 such attempts never reach).
//
// It is the one statement of these numbers: the defaults of deploy.yml's
// health.frontend (package deploy) are taken from it.
func FrontendPolicy() Policy {
	return Policy{Attempts: 10, Interval: 5 * time.Second, AttemptTimeout: 5 * time.Second, Timeout: 5 * time.Minute, SuccessesInRow: 1}
}

func (p Policy) attempts() int       { return max(p.Attempts, 1) }
func (p Policy) successesInRow() int { return max(p.SuccessesInRow, 1) }

func (p Policy) attemptTimeout() time.Duration {
	switch {
	case p.AttemptTimeout > 0:
		return p.AttemptTimeout
	case p.Interval > 0:
		return p.Interval
	}
	return DefaultTimeout
}

func (p Policy) classify(o Observation) Verdict {
	if p.Classify == nil {
		return DefaultClassify(o)
	}
	return p.Classify(o)
}

// Validate reports a policy Wait cannot follow.
func (p Policy) Validate() error {
	switch {
	case p.Attempts < 0:
		return errors.New("health policy: attempts: must be >= 0")
	case p.Interval < 0:
		return errors.New("health policy: interval: must be >= 0")
	case p.AttemptTimeout < 0:
		return errors.New("health policy: attempt_timeout: must be >= 0")
	case p.Timeout < 0:
		return errors.New("health policy: timeout: must be >= 0")
	case p.SuccessesInRow < 0:
		return errors.New("health policy: successes_in_row: must be >= 0")
	case p.successesInRow() > p.attempts():
		return fmt.Errorf("health policy: successes_in_row: %d cannot be met in %d attempts", p.successesInRow(), p.attempts())
	}
	return nil
}

// Attempt is one check made by Wait.
type Attempt struct {
	// N counts attempts from 1.
	N int
	Observation
	Verdict Verdict
}

// Report is what Wait saw.
type Report struct {
	Probe    string
	Policy   Policy
	Start    time.Time
	Elapsed  time.Duration
	Attempts []Attempt
	// Healthy is true when the policy was met.
	Healthy bool
}

// WriteTable writes one line per attempt: number, offset from the start,
// status, latency, verdict and what was seen.
func (r Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tAT\tSTATUS\tLATENCY\tRESULT\tDETAIL")
	for _, a := range r.Attempts {
		detail := a.Detail
		if a.Err != nil {
			detail = seen(a.Err)
		}
		fmt.Fprintf(tw, "%d\t+%s\t%s\t%s\t%s\t%s\n", a.N, roundDur(a.Start.Sub(r.Start)), statusCell(a.Status),
			roundDur(a.Latency), a.Verdict, detail)
	}
	return tw.Flush()
}

// Table is WriteTable into a string.
func (r Report) Table() string { return tableString(r.WriteTable) }

// ErrUnhealthy is matched (errors.Is) by every error Wait returns when the
// policy was not met.
var ErrUnhealthy = errors.New("unhealthy")

// WaitError is a policy that was not met. It carries every attempt; Summary
// renders them.
type WaitError struct {
	Report
	// Reason says why Wait stopped ("30 of 30 attempts used", ...).
	Reason string
	// Err is the cause: the context's error when it ended the wait,
	// otherwise the last attempt's error.
	Err error
}

func (e *WaitError) Error() string {
	msg := fmt.Sprintf("health: %s: unhealthy after %d attempt(s) in %s: %s", e.Probe, len(e.Attempts), roundDur(e.Elapsed), e.Reason)
	if e.Err != nil {
		msg += ": last: " + e.Err.Error()
	}
	return msg
}

// Unwrap returns ErrUnhealthy and the cause.
func (e *WaitError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrUnhealthy}
	}
	return []error{ErrUnhealthy, e.Err}
}

// Summary is the error's message followed by the table of attempts.
func (e *WaitError) Summary() string { return e.Error() + "\n" + e.Table() }

// Wait checks probe until policy is met, or can no longer be met, or ctx
// ends. It calls onAttempt (when non-nil) after every attempt. It returns
// at once when:
//   - SuccessesInRow consecutive attempts passed (nil error);
//   - an attempt's verdict is Abort;
//   - the attempts left cannot reach SuccessesInRow;
//   - the attempts still needed cannot start before policy.Timeout;
//   - ctx is done.
//
// Every error is a *WaitError matching ErrUnhealthy.
func Wait(ctx context.Context, probe Probe, policy Policy, onAttempt func(Attempt)) (Report, error) {
	clk := clockFrom(ctx)
	rep := Report{Probe: probe.Name(), Policy: policy, Start: clk.Now()}
	giveUp := func(reason string, cause error) (Report, error) {
		rep.Elapsed = clk.Now().Sub(rep.Start)
		return rep, &WaitError{Report: rep, Reason: reason, Err: cause}
	}
	if err := policy.Validate(); err != nil {
		return giveUp("invalid policy", err)
	}
	var deadline time.Time
	if policy.Timeout > 0 {
		deadline = rep.Start.Add(policy.Timeout)
	}
	attempts, need := policy.attempts(), policy.successesInRow()
	streak := 0
	next := rep.Start
	var lastErr error
	for n := 1; n <= attempts; n++ {
		if err := clk.SleepUntil(ctx, next); err != nil {
			return giveUp("stopped while waiting for attempt "+strconv.Itoa(n), err)
		}
		actx, cancel := context.WithTimeout(ctx, policy.attemptTimeout())
		if !deadline.IsZero() {
			actx, cancel = withEarlierDeadline(actx, cancel, deadline)
		}
		obs := Observe(actx, probe)
		cancel()
		if ctx.Err() != nil {
			return giveUp("stopped during attempt "+strconv.Itoa(n), ctx.Err())
		}
		a := Attempt{N: n, Observation: obs, Verdict: policy.classify(obs)}
		rep.Attempts = append(rep.Attempts, a)
		if onAttempt != nil {
			onAttempt(a)
		}
		if a.Verdict != Pass {
			lastErr = a.Err
		}

		switch a.Verdict {
		case Pass:
			streak++
			if streak >= need {
				rep.Healthy = true
				rep.Elapsed = clk.Now().Sub(rep.Start)
				return rep, nil
			}
		case Abort:
			return giveUp("attempt "+strconv.Itoa(n)+" failed in a way retrying cannot fix", a.Err)
		default:
			streak = 0
		}

		left, needed := attempts-n, need-streak
		if left < needed {
			return giveUp(fmt.Sprintf("%d of %d attempts used, %d more pass(es) in a row needed", n, attempts, needed), lastErr)
		}
		// Attempts keep to the schedule (timer lateness does not add up);
		// an attempt that overran it is followed at once, not by a burst.
		next = next.Add(policy.Interval)
		if now := clk.Now(); now.After(next) {
			next = now
		}
		if !deadline.IsZero() {
			lastStart := next.Add(time.Duration(needed-1) * policy.Interval)
			if !lastStart.Before(deadline) {
				return giveUp(fmt.Sprintf("%d more pass(es) in a row cannot fit in the %s timeout", needed, policy.Timeout), lastErr)
			}
		}
	}
	// Unreachable: the loop returns once attempts run out.
	return giveUp("attempts used", lastErr)
}

func withEarlierDeadline(ctx context.Context, cancel context.CancelFunc, deadline time.Time) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && !deadline.Before(dl) {
		return ctx, cancel
	}
	c2, cancel2 := context.WithDeadline(ctx, deadline)
	return c2, func() { cancel2(); cancel() }
}

// tableString runs a WriteTable method into a string.
func tableString(write func(io.Writer) error) string {
	var b strings.Builder
	_ = write(&b)
	return b.String()
}

func statusCell(status int) string {
	if status == 0 {
		return "-"
	}
	return strconv.Itoa(status)
}

// roundDur rounds a duration for people: ms below 10s, else 0.1s.
func roundDur(d time.Duration) time.Duration {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond)
	case d < 10*time.Second:
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}
