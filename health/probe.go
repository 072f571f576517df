package health

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// Probe checks one thing once.
type Probe interface {
	// Name says what is checked, for people ("GET http://127.0.0.1:8001/api/health/").
	// It never contains a password.
	Name() string
	// Check returns nil when the thing is healthy, otherwise an error saying
	// what was seen (usually a *ProbeError). It honours ctx's deadline and
	// cancellation.
	Check(ctx context.Context) error
}

// Observer is implemented by probes that report more than pass or fail: the
// HTTP status, the latency of the part that matters, a short detail. Wait,
// Suite and Monitor use it when a probe has it (see Observe).
type Observer interface {
	Observe(ctx context.Context) Observation
}

// Observation is what one check of a probe saw.
type Observation struct {
	// Start is when the check began.
	Start time.Time
	// Latency is how long the check took.
	Latency time.Duration
	// Status is the HTTP status code received; 0 when there was no HTTP
	// response (connection errors, non-HTTP probes).
	Status int
	// Detail is a short description of what was seen when the check passed
	// ("200 OK", "PONG", "healthy", "exit 0").
	Detail string
	// Err is nil when the check passed.
	Err error
}

// DefaultTimeout bounds a check whose context has no deadline.
const DefaultTimeout = 10 * time.Second

// Observe checks p once and returns what it saw. Probes that implement
// Observer report their own observation; for others Observe times Check
// and wraps an error that is not a *ProbeError in one. A ctx without a
// deadline gets DefaultTimeout.
func Observe(ctx context.Context, p Probe) Observation {
	if o, ok := p.(Observer); ok {
		return o.Observe(ctx)
	}
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	start := time.Now()
	err := p.Check(ctx)
	obs := Observation{Start: start, Latency: time.Since(start), Err: err}
	var pe *ProbeError
	switch {
	case errors.As(err, &pe):
		obs.Status = pe.Status
	case err != nil:
		// Name the probe in the error, as the package's own probes do.
		obs.Err = &ProbeError{Probe: p.Name(), Reason: reason("check", err), Err: err}
	}
	return obs
}

// checking is one check in progress: it times the check and builds its
// Observation.
type checking struct {
	probe string
	obs   Observation
}

func startCheck(probe string) *checking {
	return &checking{probe: probe, obs: Observation{Start: time.Now()}}
}

// fail ends the check as failed; a later check may pass.
func (c *checking) fail(why string, err error) Observation { return c.failed(why, err, false) }

// abort ends the check with a failure no later check will fix.
func (c *checking) abort(why string, err error) Observation { return c.failed(why, err, true) }

func (c *checking) failed(why string, err error, permanent bool) Observation {
	c.obs.Latency = time.Since(c.obs.Start)
	c.obs.Err = &ProbeError{Probe: c.probe, Status: c.obs.Status, Reason: why, Err: err, Permanent: permanent}
	return c.obs
}

// pass ends the check as passed, saying what was seen.
func (c *checking) pass(detail string) Observation {
	c.obs.Latency = time.Since(c.obs.Start)
	c.obs.Detail = detail
	return c.obs
}

func withDefaultTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, DefaultTimeout)
}

// ErrPermanent is matched (errors.Is) by probe errors that retrying will not
// fix: a malformed URL, a rejected password, a container without a
// healthcheck. DefaultClassify turns them into Abort.
var ErrPermanent = errors.New("permanent failure")

// ProbeError is a failed check: which probe, what was seen, and the
// underlying error when there is one.
type ProbeError struct {
	// Probe is the probe's Name.
	Probe string
	// Status is the HTTP status received, 0 when none.
	Status int
	// Reason says what was seen and, where it helps, what to do.
	Reason string
	// Err is the underlying error, if any.
	Err error
	// Permanent marks failures that retrying will not fix; such an error
	// matches ErrPermanent.
	Permanent bool
}

func (e *ProbeError) Error() string {
	var b strings.Builder
	b.WriteString(e.Probe)
	b.WriteString(": ")
	b.WriteString(e.Reason)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *ProbeError) Unwrap() error { return e.Err }

// seen is what err says was seen, without the probe's name: for tables
// whose rows already say which probe it was.
func seen(err error) string {
	var pe *ProbeError
	if !errors.As(err, &pe) {
		return err.Error()
	}
	if pe.Err == nil {
		return pe.Reason
	}
	return pe.Reason + ": " + pe.Err.Error()
}

// Is reports whether target is ErrPermanent and e is permanent.
func (e *ProbeError) Is(target error) bool { return target == ErrPermanent && e.Permanent }

// Verdict is how a check counts.
type Verdict int

const (
	// Pass is a healthy check.
	Pass Verdict = iota
	// Fail is an unhealthy check that a later attempt may turn around.
	Fail
	// Abort is a failure that no later attempt will fix; Wait stops at once.
	Abort
)

func (v Verdict) String() string {
	switch v {
	case Pass:
		return "pass"
	case Fail:
		return "fail"
	case Abort:
		return "abort"
	}
	return "verdict(" + strconv.Itoa(int(v)) + ")"
}

// DefaultClassify passes an observation without error, aborts on errors
// matching ErrPermanent and fails the rest.
func DefaultClassify(o Observation) Verdict {
	switch {
	case o.Err == nil:
		return Pass
	case errors.Is(o.Err, ErrPermanent):
		return Abort
	default:
		return Fail
	}
}

// localDialer is used by probes whose Dialer is nil.
var localDialer host.Dialer = &net.Dialer{}

func dialerOr(d host.Dialer) host.Dialer {
	if d == nil {
		return localDialer
	}
	return d
}

// reason turns the error of operation op into a short reason a person can
// act on; ProbeError.Error appends the error itself.
func reason(op string, err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return op + ": canceled"
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return op + ": no answer within the check's timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return op + ": connection refused (is the service listening?)"
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return op + ": connection closed before an answer"
	}
	return op + " failed"
}

// ProbeFunc makes a Probe of a function: Label names it, Func checks once
// (nil means healthy). Wait wraps a plain error it returns in a *ProbeError
// naming Label.
type ProbeFunc struct {
	// Label names the probe in reports.
	Label string
	// Func checks once, honouring ctx.
	Func func(ctx context.Context) error
}

// Name returns Label.
func (p ProbeFunc) Name() string { return p.Label }

// Check calls Func.
func (p ProbeFunc) Check(ctx context.Context) error { return p.Func(ctx) }
