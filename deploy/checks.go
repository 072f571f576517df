package deploy

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/blueshift-deploy/blueshift/deploy/compose"
	"github.com/blueshift-deploy/blueshift/deploy/container"
	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/version"
	"github.com/blueshift-deploy/blueshift/health"
)

// This file turns deploy.yml's health and smoke checks into the health
// package's probes and suites: the one place their headers, Host and body
// assertions are applied.

// header is c's headers as an http.Header, Host included; nil when there
// are none.
func (c Checks) header() http.Header {
	if len(c.Headers) == 0 {
		return nil
	}
	h := http.Header{}
	for k, v := range c.Headers {
		h.Set(k, v)
	}
	return h
}

// httpProbe is the probe of chk at url with its headers and body
// assertions; a Host in its headers replaces hostHeader. dialer nil dials
// from this machine (a public URL, reached as users reach it).
func httpProbe(label, url string, chk HTTPCheck, hostHeader string, dialer host.Dialer) *health.HTTPProbe {
	h := chk.header()
	if v := h.Get("Host"); v != "" {
		hostHeader = v
		h.Del("Host")
	}
	return &health.HTTPProbe{Label: label, URL: url, Expect: chk.Expect, Host: hostHeader, Header: h,
		BodyContains: chk.BodyContains, JSON: chk.JSON, Dialer: dialer}
}

// smokeSuite is the smoke suite on colour c's own ports, each endpoint on
// its service's port with the public URL's Host; with c "" it is the suite
// on the public URL, every path through the proxy, reached from this
// machine.
func (e *Engine) smokeSuite(c version.Colour) (health.Suite, error) {
	s := e.Env.Smoke
	suite := health.Suite{Header: Checks{Headers: s.Headers}.header(), Concurrency: s.Concurrency}
	if c == "" {
		suite.BaseURL = strings.TrimRight(e.Env.PublicURL, "/")
	} else {
		suite.Host, suite.Dialer = publicHost(e.Env.PublicURL), e.Host
	}
	for i, ep := range s.Endpoints {
		he := health.Endpoint{Path: ep.Path, Expect: ep.Expect, Header: ep.header(), BodyContains: ep.BodyContains, JSON: ep.JSON}
		if c != "" {
			base, err := e.ColourURL(c, ep.Service)
			if err != nil {
				return health.Suite{}, fmt.Errorf("environments.%s.smoke.endpoints[%d].service: %w", e.Env.Name, i, err)
			}
			he.BaseURL = base
		}
		suite.Endpoints = append(suite.Endpoints, he)
	}
	return suite, nil
}

// containerChecks are the checks run in containers, as the seed ran them:
// health.postgres.command in the next colour's service (the application
// reaching its database with its own settings) and `redis-cli ping` in
// the shared redis service.
func (e *Engine) containerChecks(c version.Colour) []health.Probe {
	var probes []health.Probe
	if pg := e.Env.Health.Postgres; len(pg.Command) > 0 {
		probes = append(probes, &health.ExecProbe{Label: "database from " + pg.Service + ": " + strings.Join(pg.Command, " "),
			Container: pg.Service, Argv: pg.Command, Exec: serviceExec{e, string(c)}})
	}
	if svc := e.Env.Health.Redis.Service; svc != "" && svc != RedisCheckOff {
		probes = append(probes, &health.ExecProbe{Label: svc + ": redis-cli ping", Container: svc,
			Argv: []string{"redis-cli", "ping"}, StdoutContains: "PONG", Exec: serviceExec{e, compose.SharedColour}})
	}
	return probes
}

// serviceExec runs a health.ExecProbe's command in the running container
// of the service it names, in one colour ("shared" for the shared
// project), through the one Docker wrapper (deploy/container).
type serviceExec struct {
	e      *Engine
	colour string
}

// Exec runs argv in service's container.
func (x serviceExec) Exec(ctx context.Context, service string, argv []string) (container.ExecResult, error) {
	id, err := x.e.serviceContainer(ctx, x.colour, service)
	if err != nil {
		return container.ExecResult{}, err
	}
	return container.Docker{Engine: x.e.Docker}.Exec(ctx, id, argv)
}
