package health_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/health"
)

// scripted is a probe whose checks return errs in order (the last one
// repeating); a nil entry passes. block makes a check wait for its ctx.
type scripted struct {
	mu      sync.Mutex
	errs    []error
	calls   int
	block   bool
	onCheck func() // called as each check starts
}

var errDown = errors.New("backend down")

func (s *scripted) Name() string { return "scripted" }

func (s *scripted) Check(ctx context.Context) error {
	s.mu.Lock()
	i := min(s.calls, len(s.errs)-1)
	s.calls++
	block, onCheck := s.block, s.onCheck
	s.mu.Unlock()
	if onCheck != nil {
		onCheck()
	}
	if block {
		<-ctx.Done()
		return &health.ProbeError{Probe: "scripted", Reason: "blocked", Err: ctx.Err()}
	}
	if i < 0 {
		return nil
	}
	return s.errs[i]
}

func (s *scripted) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func fails(n int, then error) []error {
	errs := make([]error, n, n+1)
	for i := range errs {
		errs[i] = &health.ProbeError{Probe: "scripted", Status: 502, Reason: "status 502", Err: errDown}
	}
	return append(errs, then)
}

func TestWaitPassesOnceHealthy(t *testing.T) {
	t.Parallel()
	p := &scripted{errs: fails(2, nil)}
	var seen []health.Attempt
	rep, err := health.Wait(context.Background(), p, health.Policy{Attempts: 5, Interval: 5 * time.Millisecond}, func(a health.Attempt) {
		seen = append(seen, a)
	})
	require.NoError(t, err)
	assert.True(t, rep.Healthy)
	assert.Equal(t, 3, p.Calls())
	require.Len(t, rep.Attempts, 3)
	assert.Equal(t, rep.Attempts, seen)
	for i, a := range rep.Attempts {
		assert.Equal(t, i+1, a.N)
	}
	assert.Equal(t, []health.Verdict{health.Fail, health.Fail, health.Pass},
		[]health.Verdict{rep.Attempts[0].Verdict, rep.Attempts[1].Verdict, rep.Attempts[2].Verdict})
	assert.Equal(t, 502, rep.Attempts[0].Status)
	// Attempts keep the schedule: attempt n starts no earlier than
	// (n-1) intervals after the wait began. (Measured from the first
	// attempt's own start it flaked: that attempt can start late under
	// load while the third is on time, 9.1 ms apart in one CI run.)
	assert.GreaterOrEqual(t, rep.Attempts[2].Start.Sub(rep.Start), 10*time.Millisecond)
}

func TestWaitGivesUpWithEveryAttempt(t *testing.T) {
	t.Parallel()
	p := &scripted{errs: fails(1, errDown)}
	rep, err := health.Wait(context.Background(), p, health.Policy{Attempts: 4, Interval: time.Millisecond}, nil)
	require.Error(t, err)
	assert.False(t, rep.Healthy)
	assert.ErrorIs(t, err, health.ErrUnhealthy)
	assert.ErrorIs(t, err, errDown)
	var we *health.WaitError
	require.ErrorAs(t, err, &we)
	assert.Len(t, we.Attempts, 4)
	assert.Equal(t, "4 of 4 attempts used, 1 more pass(es) in a row needed", we.Reason)
	assert.True(t, strings.HasPrefix(err.Error(), "health: scripted: unhealthy after 4 attempt(s) in "), err.Error())
	assert.True(t, strings.HasSuffix(err.Error(), ": last: scripted: check failed: backend down"), err.Error())

	// The summary is the message and one table row per attempt.
	lines := strings.Split(strings.TrimSpace(we.Summary()), "\n")
	require.Len(t, lines, 1+1+4)
	assert.Equal(t, []string{"#", "AT", "STATUS", "LATENCY", "RESULT", "DETAIL"}, strings.Fields(lines[1]))
	assert.Equal(t, []string{"1", "502", "fail"}, pick(strings.Fields(lines[2]), 0, 2, 4))
	assert.Equal(t, []string{"4", "-", "fail"}, pick(strings.Fields(lines[5]), 0, 2, 4))
	assert.True(t, strings.HasSuffix(lines[2], "fail    status 502: backend down"), lines[2])
}

func pick(s []string, idx ...int) []string {
	out := make([]string, len(idx))
	for i, j := range idx {
		if j < len(s) {
			out[i] = s[j]
		}
	}
	return out
}

func TestWaitSuccessesInRow(t *testing.T) {
	t.Parallel()
	fail := &health.ProbeError{Probe: "scripted", Reason: "flap"}
	p := &scripted{errs: []error{nil, fail, nil, nil}}
	rep, err := health.Wait(context.Background(), p, health.Policy{Attempts: 6, SuccessesInRow: 2}, nil)
	require.NoError(t, err)
	assert.Len(t, rep.Attempts, 4)
}

func TestWaitStopsWhenAttemptsCannotSucceed(t *testing.T) {
	t.Parallel()
	// Three passes in a row are needed in five attempts: after three
	// failures only two attempts are left.
	p := &scripted{errs: fails(3, nil)}
	_, err := health.Wait(context.Background(), p, health.Policy{Attempts: 5, SuccessesInRow: 3}, nil)
	var we *health.WaitError
	require.ErrorAs(t, err, &we)
	assert.Equal(t, 3, p.Calls())
	assert.Equal(t, "3 of 5 attempts used, 3 more pass(es) in a row needed", we.Reason)
}

func TestWaitStopsWhenTimeoutCannotFitAnotherAttempt(t *testing.T) {
	t.Parallel()
	// Real time (the exact schedule is pinned with a virtual clock in
	// TestWaitTimeoutCountsTheStreakStillNeeded): attempts at 0, 500 and
	// 1000ms; one at 1500ms would start after the 1.1s timeout, so Wait
	// returns at about 1000ms without sleeping towards it (the margins
	// leave room for a loaded machine).
	p := &scripted{errs: fails(1, errDown)}
	start := time.Now()
	_, err := health.Wait(context.Background(), p, health.Policy{Attempts: 100, Interval: 500 * time.Millisecond, Timeout: 1100 * time.Millisecond}, nil)
	var we *health.WaitError
	require.ErrorAs(t, err, &we)
	assert.Contains(t, []int{2, 3}, p.Calls())
	assert.Equal(t, "1 more pass(es) in a row cannot fit in the 1.1s timeout", we.Reason)
	assert.Less(t, time.Since(start), 1450*time.Millisecond, "gave up without waiting for an attempt that could not run")
}

func TestWaitAbortsOnPermanentFailure(t *testing.T) {
	t.Parallel()
	perm := &health.ProbeError{Probe: "scripted", Reason: "the server rejected the credentials", Permanent: true}
	p := &scripted{errs: []error{perm}}
	_, err := health.Wait(context.Background(), p, health.BackendPolicy(), nil)
	var we *health.WaitError
	require.ErrorAs(t, err, &we)
	assert.Equal(t, 1, p.Calls())
	assert.Equal(t, "attempt 1 failed in a way retrying cannot fix", we.Reason)
	assert.ErrorIs(t, err, health.ErrPermanent)
}

func TestWaitCustomClassify(t *testing.T) {
	t.Parallel()
	// Count a 401 as healthy: the service answers, it wants a login.
	unauthorized := &health.ProbeError{Probe: "scripted", Status: 401, Reason: "status 401"}
	p := &scripted{errs: []error{unauthorized}}
	pol := health.Policy{Attempts: 3, Classify: func(o health.Observation) health.Verdict {
		if o.Status == 401 {
			return health.Pass
		}
		return health.DefaultClassify(o)
	}}
	rep, err := health.Wait(context.Background(), p, pol, nil)
	require.NoError(t, err)
	assert.Equal(t, health.Pass, rep.Attempts[0].Verdict)
	assert.Equal(t, 401, rep.Attempts[0].Status)
}

func TestWaitHonoursCancel(t *testing.T) {
	t.Parallel()
	for _, block := range []bool{false, true} {
		name := map[bool]string{false: "between attempts", true: "during an attempt"}[block]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			// Cancel 50ms into the first attempt (it blocks) or into the
			// 10s wait after it, however late the machine runs them.
			var cancelled atomic.Int64
			cancelSoon := func() {
				time.AfterFunc(50*time.Millisecond, func() { cancelled.Store(time.Now().UnixNano()); cancel() })
			}
			p := &scripted{errs: fails(1, errDown), block: block}
			var onAttempt func(health.Attempt)
			if block {
				p.onCheck = cancelSoon
			} else {
				onAttempt = func(health.Attempt) { cancelSoon() }
			}
			_, err := health.Wait(ctx, p, health.BackendPolicy(), onAttempt)
			require.NotZero(t, cancelled.Load(), "returned before the cancel")
			assert.Less(t, time.Since(time.Unix(0, cancelled.Load())), 5*time.Second, "stopped at the cancel, not after the 10s interval")
			assert.ErrorIs(t, err, context.Canceled)
			assert.ErrorIs(t, err, health.ErrUnhealthy)
			assert.Equal(t, 1, p.Calls())
		})
	}
}

func TestWaitAttemptTimeout(t *testing.T) {
	t.Parallel()
	p := &scripted{errs: []error{nil}, block: true}
	start := time.Now()
	rep, err := health.Wait(context.Background(), p, health.Policy{Attempts: 2, AttemptTimeout: 30 * time.Millisecond}, nil)
	require.Error(t, err)
	assert.Less(t, time.Since(start), time.Second)
	require.Len(t, rep.Attempts, 2)
	assert.ErrorIs(t, rep.Attempts[0].Err, context.DeadlineExceeded)
	// The attempt was cut by its timeout (above). Its latency is measured
	// from inside the probe call, after the timeout's clock started, so it
	// can read a little under 30 ms (29.07 ms in one CI run): no lower bound.
	assert.Positive(t, rep.Attempts[0].Latency)
}

func TestPolicyValidate(t *testing.T) {
	t.Parallel()
	assert.NoError(t, health.BackendPolicy().Validate())
	assert.NoError(t, health.FrontendPolicy().Validate())
	assert.NoError(t, health.Policy{}.Validate())
	assert.EqualError(t, health.Policy{Attempts: 2, SuccessesInRow: 3}.Validate(), "health policy: successes_in_row: 3 cannot be met in 2 attempts")
	assert.EqualError(t, health.Policy{Interval: -1}.Validate(), "health policy: interval: must be >= 0")

	_, err := health.Wait(context.Background(), &scripted{}, health.Policy{Attempts: -1}, nil)
	assert.ErrorContains(t, err, "invalid policy: last: health policy: attempts: must be >= 0")
}

func TestSeedPolicies(t *testing.T) {
	t.Parallel()
	assert.Equal(t, health.Policy{Attempts: 30, Interval: 10 * time.Second, AttemptTimeout: 10 * time.Second, Timeout: 5 * time.Minute, SuccessesInRow: 1}, health.BackendPolicy())
	assert.Equal(t, health.Policy{Attempts: 10, Interval: 5 * time.Second, AttemptTimeout: 5 * time.Second, Timeout: 5 * time.Minute, SuccessesInRow: 1}, health.FrontendPolicy())
}
