package deploy

import (
	"fmt"
	"strings"
	"time"
)

// otherPhasesAllowance is what the deadline budget counts for the phases
// without a bound of their own (lock, reconcile, prepare, preflight,
// switch and its check): each takes seconds, but they talk to the host, the registry and
// the proxy.
const otherPhasesAllowance = 2 * time.Minute

// Term is one phase's worst case in a Budget: the configured bound (or
// product of bounds) it can wait for.
type Term struct {
	// Name says where the bound is configured ("tests.timeout",
	// "health.frontend.attempts × (interval + attempt_timeout)").
	Name string
	// Worst is the longest the phase can take.
	Worst time.Duration
}

func (t Term) String() string { return t.Name + " " + t.Worst.String() }

// Budget is the deployment deadline (timeouts.deployment) beside the worst
// cases of the phases it must hold, in pipeline order.
type Budget struct {
	Env      string
	Deadline time.Duration
	Terms    []Term
}

// Total is the sum of the terms.
func (b Budget) Total() time.Duration {
	var sum time.Duration
	for _, t := range b.Terms {
		sum += t.Worst
	}
	return sum
}

// Check fails, with every term and the numbers, when the terms add up to
// more than the deadline: such a deployment could be cut short by its own
// deadline while every phase stays within its bound.
func (b Budget) Check() error {
	total := b.Total()
	if total <= b.Deadline {
		return nil
	}
	terms := make([]string, len(b.Terms))
	for i, t := range b.Terms {
		terms[i] = t.String()
	}
	return fmt.Errorf("environments.%s.timeouts.deployment: %s cannot hold the worst cases of the phases, which add up to %s (%s): raise timeouts.deployment to at least %s, or lower those bounds",
		b.Env, b.Deadline, total, strings.Join(terms, " + "), total)
}

// Budget lists the worst case of every phase a deployment of e runs, from
// the configured bounds; skipTests leaves the test suite out
// (SKIP_TESTS=true).
func (e *Environment) Budget(skipTests bool) Budget {
	b := Budget{Env: e.Name, Deadline: e.Timeouts.Deployment}
	add := func(name string, d time.Duration) { b.Terms = append(b.Terms, Term{Name: name, Worst: d}) }

	add("lock, prepare, preflight and switch", otherPhasesAllowance)
	n := e.Notify
	if n.Telegram.Enabled() || n.GitHub.Enabled() || n.Email.Enabled() || n.Webhook.Enabled() {
		// The start notification, tried three times (notify.Dispatcher's
		// two retries).
		add("start notification 3 × timeouts.notify", 3*e.Timeouts.Notify)
	}
	if len(e.Tests.Command) > 0 && !skipTests {
		add("tests.timeout", e.Tests.Timeout)
	}
	if e.Backup.Enabled {
		add("backup.timeout", e.Backup.Timeout)
	}
	add("timeouts.start", e.Timeouts.Start)
	if len(e.Hooks.Migrate) > 0 {
		add("hooks.migrate_timeout", e.Hooks.MigrateTimeout)
	}
	for i, h := range e.Hooks.AfterStart {
		add(fmt.Sprintf("hooks.after_start[%d].timeout", i), h.Timeout)
	}
	for _, hc := range []struct {
		name string
		c    HTTPCheck
	}{{"backend", e.Health.Backend}, {"frontend", e.Health.Frontend}} {
		if !hc.c.Enabled() {
			continue
		}
		// health.Wait stops at the timeout or after the last attempt,
		// whichever comes first.
		attempts := time.Duration(hc.c.Attempts) * (hc.c.AttemptTimeout + hc.c.Interval)
		if hc.c.Timeout > 0 && hc.c.Timeout <= attempts {
			add("health."+hc.name+".timeout", hc.c.Timeout)
		} else {
			add(fmt.Sprintf("health.%s.attempts × (interval + attempt_timeout)", hc.name), attempts)
		}
	}
	// The database and cache checks: 3 attempts of at most 5s, 2s apart
	// (healthChecks).
	if e.Health.Postgres.DSN != "" {
		add("health.postgres 3 × (5s + 2s)", 21*time.Second)
	}
	if e.Health.Redis.Addr != "" {
		add("health.redis 3 × (5s + 2s)", 21*time.Second)
	}
	// The in-container checks: 3 attempts of at most 1m, 2s apart.
	if len(e.Health.Postgres.Command) > 0 {
		add("health.postgres.command 3 × (1m + 2s)", 3*(time.Minute+2*time.Second))
	}
	if svc := e.Health.Redis.Service; svc != "" && svc != RedisCheckOff {
		add("health.redis.service 3 × (1m + 2s)", 3*(time.Minute+2*time.Second))
	}
	if len(e.Smoke.Endpoints) > 0 {
		// Before the switch on the colour's ports, after it on the public URL.
		add("smoke.timeout", e.Smoke.Timeout)
		if e.PublicURL != "" {
			add("smoke.timeout (public URL)", e.Smoke.Timeout)
		}
	}
	if e.Monitor.Window > 0 {
		add("monitor.window + one check", e.Monitor.Window+max(e.Monitor.Interval, e.Health.Backend.AttemptTimeout))
	}
	// retire drains, then stops the old colour with the same grace.
	add("2 × timeouts.drain", 2*e.Timeouts.Drain)
	return b
}
