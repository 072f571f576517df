package deploy

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// TestChecksBecomeProbes pins how deploy.yml's checks reach the health
// package: a Host header replaces the public URL's host, other headers and
// the body assertions are sent as given; before the switch each smoke
// endpoint goes to its service's colour port (smoke used to send every path,
// "/" included, to the backend's), after it every path goes to the public
// URL from this machine.
func TestChecksBecomeProbes(t *testing.T) {
	chk := HTTPCheck{URL: "/api/health/", Expect: []int{200}, Checks: Checks{
		Headers: map[string]string{"host": "internal.example", "X-Forwarded-Proto": "https"}, JSON: map[string]string{"status": "ok"}}}
	p := httpProbe("", "http://127.0.0.1:8001/api/health/", chk, "the-bot.ru", nil)
	assert.Equal(t, "internal.example", p.Host)
	assert.Equal(t, http.Header{"X-Forwarded-Proto": {"https"}}, p.Header)
	assert.Equal(t, map[string]string{"status": "ok"}, p.JSON)
	p = httpProbe("", "http://127.0.0.1:8001/", HTTPCheck{}, "the-bot.ru", nil)
	assert.Equal(t, "the-bot.ru", p.Host)
	assert.Nil(t, p.Header)

	e := &Engine{Env: &Environment{Name: "production", PublicURL: "https://the-bot.ru/",
		Ports: map[string]PortsConfig{"backend": {Container: 8000, Blue: 8001, Green: 8002}, "frontend": {Container: 3000, Blue: 3001, Green: 3002}},
		Smoke: SmokeConfig{Headers: map[string]string{"X-Forwarded-Proto": "https"}, Concurrency: 4, Endpoints: []SmokeEndpoint{
			{Path: "/api/health/", Service: "backend"},
			{Path: "/", Service: "frontend", Checks: Checks{BodyContains: "TheBot"}},
		}}}}
	s, err := e.smokeSuite(version.Green)
	require.NoError(t, err)
	assert.Equal(t, "the-bot.ru", s.Host)
	assert.Equal(t, "https", s.Header.Get("X-Forwarded-Proto"))
	assert.Equal(t, "http://127.0.0.1:8002", s.Endpoints[0].BaseURL)
	assert.Equal(t, "http://127.0.0.1:3002", s.Endpoints[1].BaseURL)
	assert.Equal(t, "TheBot", s.Endpoints[1].BodyContains)

	public, err := e.smokeSuite("")
	require.NoError(t, err)
	assert.Equal(t, "https://the-bot.ru", public.BaseURL)
	assert.Empty(t, public.Host)
	assert.Nil(t, public.Dialer, "the public URL is reached from here, as users reach it")
	for _, ep := range public.Endpoints {
		assert.Empty(t, ep.BaseURL)
	}

	e.Env.Smoke.Endpoints[1].Service = "worker"
	_, err = e.smokeSuite(version.Blue)
	assert.ErrorContains(t, err, "environments.production.smoke.endpoints[1].service: environments.production.ports.worker")
}
