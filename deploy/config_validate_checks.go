package deploy

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// Validation of how the next colour is judged: health, smoke and monitor.

// health checks health.*.
func (v *envCheck) health() {
	v.httpCheck("backend", v.e.Health.Backend)
	v.httpCheck("frontend", v.e.Health.Frontend)
	if addr := v.e.Health.Redis.Addr; addr != "" {
		v.hostPort("health.redis.addr", addr, false)
	}
	if pg := v.e.Health.Postgres; len(pg.Command) > 0 && !v.stateless[pg.Service] {
		v.addAt("health.postgres.service", "%q is not a stateless service: the command runs in the next colour's container", pg.Service)
	}
	if svc := v.e.Health.Redis.Service; svc != "" && svc != RedisCheckOff && !slices.Contains(v.e.Services.Shared, svc) {
		v.addAt("health.redis.service", "%q is not a shared service (or \"none\")", svc)
	}
}

// RedisCheckOff is health.redis.service's value turning the in-container
// check off.
const RedisCheckOff = "none"

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
	v.checks(v.at(f), c.Checks)
}

// checks checks the headers and body assertions at field (a full path).
func (v *envCheck) checks(field string, c Checks) {
	for _, k := range slices.Sorted(maps.Keys(c.Headers)) {
		if !headerNameRE.MatchString(k) {
			v.add(field+".headers", "%q is not a header name (letters, digits and -)", k)
		} else if strings.ContainsAny(c.Headers[k], "\r\n") {
			v.add(field+".headers."+k, "must be one line")
		}
	}
	if c.BodyContains != "" && len(c.JSON) > 0 {
		v.add(field, "set body_contains or json, not both")
	}
	for _, k := range slices.Sorted(maps.Keys(c.JSON)) {
		if k == "" || strings.HasPrefix(k, ".") || strings.HasSuffix(k, ".") || strings.Contains(k, "..") {
			v.add(field+".json", "%q is not a dotted path into the JSON body (status, checks.database)", k)
		}
	}
}

var headerNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)

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
	required := ""
	if name == "backend" {
		required = fmt.Sprintf("required: no stateless service has ports to check %s on", c.URL)
	}
	v.portedService(v.at(f+".service"), c.Service, required)
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
		v.portedService(f+".service", ep.Service, "")
		v.checks(f, ep.Checks)
	}
	v.checks(v.at("smoke"), Checks{Headers: s.Headers})
	v.atLeastOne("smoke.concurrency", s.Concurrency)
	v.positive("smoke.timeout", s.Timeout)
}

// portedService checks the service (at field, a full path) whose colour
// port a path is requested on: a stateless service with ports. An empty
// one is the error required when that is set and there are stateless
// services.
func (v *envCheck) portedService(field, svc, required string) {
	_, hasPorts := v.e.Ports[svc]
	switch {
	case svc == "":
		if required != "" && len(v.e.Services.Stateless) > 0 {
			v.missing(field, "%s", required)
		}
	case !v.stateless[svc]:
		v.add(field, "%q is not a stateless service", svc)
	case !hasPorts:
		v.add(field, "%q has no ports: add ports.%s to request it on the colour's own port", svc, svc)
	}
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
