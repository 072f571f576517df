package deploy

import (
	"fmt"
	"strings"
	"time"
)

// Validation of how the next colour is judged (health, smoke and monitor)
// and how long the old one stays warm (standby).

// health checks health.*.
func (v *envCheck) health() {
	v.httpCheck("backend", v.e.Health.Backend)
	v.httpCheck("frontend", v.e.Health.Frontend)
	if addr := v.e.Health.Redis.Addr; addr != "" {
		v.hostPort("health.redis.addr", addr, false)
	}
}

// httpCheck checks health.<name>.*; only the backend check is required.
func (v *envCheck) httpCheck(name string, c HTTPCheck) {
	f := "health." + name
	if c.URL == "" {
		if name == "backend" {
			v.missingAt(f+".url", "required: a path on the colour's port (/api/health/) or an http(s) URL")
		}
		return
	}
	v.checkTarget(name, c)
	v.atLeastOne(f+".attempts", c.Attempts)
	v.positive(f+".interval", c.Interval)
	v.positive(f+".timeout", c.Timeout)
	v.positive(f+".attempt_timeout", c.AttemptTimeout)
	checkStatuses(v.problems, v.at(f+".expect"), c.Expect)
}

// checkTarget checks where health.<name> sends its requests: an absolute
// URL, or a path on the colour's own port of a stateless service.
func (v *envCheck) checkTarget(name string, c HTTPCheck) {
	f := "health." + name
	isPath := strings.HasPrefix(c.URL, "/")
	if !isPath {
		if !isAbsURL(c.URL) {
			v.addAt(f+".url", "%q must be a path starting with / or an http(s) URL", c.URL)
		}
		return
	}
	switch _, hasPorts := v.e.Ports[c.Service]; {
	case c.Service == "":
		if name == "backend" && len(v.e.Services.Stateless) > 0 {
			v.missingAt(f+".service", "required: no stateless service has ports to check %s on", c.URL)
		}
	case !v.stateless[c.Service]:
		v.addAt(f+".service", "%q is not a stateless service", c.Service)
	case !hasPorts:
		v.addAt(f+".service", "%q has no ports: add ports.%s to check it on the colour's own port", c.Service, c.Service)
	}
}

// smoke checks smoke.*.
func (v *envCheck) smoke() {
	s := v.e.Smoke
	for i, ep := range s.Endpoints {
		f := v.at(fmt.Sprintf("smoke.endpoints[%d]", i))
		if !strings.HasPrefix(ep.Path, "/") {
			v.add(f+".path", "%q must start with /", ep.Path)
		}
		checkStatuses(v.problems, f+".expect", ep.Expect)
	}
	v.atLeastOne("smoke.concurrency", s.Concurrency)
	v.positive("smoke.timeout", s.Timeout)
}

// monitor checks monitor.*.
func (v *envCheck) monitor() {
	m := v.e.Monitor
	v.positive("monitor.window", m.Window)
	v.positive("monitor.interval", m.Interval)
	if m.Interval > m.Window && m.Window > 0 {
		v.addAt("monitor.interval", "%s is longer than monitor.window %s", m.Interval, m.Window)
	}
	if m.MaxErrors < 0 {
		v.addAt("monitor.max_errors", "must be >= 0")
	}
}

// standby checks standby: off (0), or a window with a proxy to switch.
func (v *envCheck) standby() {
	switch d := v.e.Standby; {
	case d < 0:
		v.addAt("standby", "must be >= 0 (0 turns it off; 10m keeps the old colour warm for ten minutes)")
	case d > 0 && d < time.Second:
		v.addAt("standby", "%s is shorter than a second: give a window such as 10m, or 0 to turn it off", d)
	case d > 0 && v.e.Proxy.Kind == "none":
		v.addAt("standby", "needs a proxy to switch back to the standby colour: set proxy.kind to nginx or caddy, or remove standby")
	}
}
