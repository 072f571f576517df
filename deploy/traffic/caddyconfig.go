package traffic

import (
	"encoding/json"
	"errors"
	"fmt"
)

// CaddySite describes a one-route site for CaddyInitialConfig.
type CaddySite struct {
	// App names the HTTP server in Caddy's configuration. Required.
	App string
	// Listen are the addresses the site listens on (":80",
	// "127.0.0.1:8080", or "fd/3" for a socket Caddy inherits, as with
	// systemd socket activation). Required.
	//
	// Caddy applies a switch by loading a new configuration, and a few
	// fresh client connections arriving during that reload can be closed
	// unanswered. Measured with Caddy 2.10.2 on Linux at 500 req/s and a
	// switch every 100ms: about 1 request in 1,000-4,000 (nginx's graceful
	// reload: none). With a TCP address Caddy also binds a new
	// SO_REUSEPORT socket per configuration and closes the old one,
	// resetting connections still queued on it; an inherited socket
	// ("fd/N") is shared by every configuration and avoids that part.
	// Clients that retry idempotent requests on a closed connection do not
	// notice either.
	Listen []string
	// Hosts, if set, restricts the route to these Host headers.
	Hosts []string
	// Route is the route to proxy; its Name becomes the reverse_proxy
	// handler's "@id". Required.
	Route Route
	// Colour is the colour traffic goes to at first. Required.
	Colour string
	// Admin is the admin API's listen address. Default DefaultCaddyAdmin.
	Admin string
	// ColourHeader is the response header naming the colour proxied to.
	// Default ProxyColourHeader; "-" sets none.
	ColourHeader string
	// AutoHTTPS keeps Caddy's automatic HTTPS on (certificates for Hosts,
	// redirects). Default false: plain HTTP on Listen, as behind a load
	// balancer or in tests.
	AutoHTTPS bool
}

// CaddyInitialConfig returns a Caddy JSON configuration serving site: one
// route proxying to site.Colour's upstreams through a reverse_proxy handler
// with "@id" site.Route.Name, ready for a Caddy switcher. Load it with
// `caddy run --config <file>` or POST it to the admin API's /load.
func CaddyInitialConfig(site CaddySite) ([]byte, error) {
	if !nameRE.MatchString(site.App) {
		return nil, fmt.Errorf("caddy site: app: %q: want letters, digits, '_' and '-'", site.App)
	}
	if len(site.Listen) == 0 {
		return nil, errors.New("caddy site: listen: at least one address is required (\":80\")")
	}
	if err := validateRoutes("caddy site", []Route{site.Route}); err != nil {
		return nil, err
	}
	if err := checkColour([]Route{site.Route}, site.Colour); err != nil {
		return nil, fmt.Errorf("caddy site: colour: %w", err)
	}
	if site.Admin == "" {
		site.Admin = DefaultCaddyAdmin
	}
	if site.ColourHeader == "" {
		site.ColourHeader = ProxyColourHeader
	}
	ups := []map[string]string{}
	for _, a := range site.Route.Upstreams[site.Colour] {
		ups = append(ups, map[string]string{"dial": a})
	}
	h := map[string]any{
		"@id":       site.Route.Name,
		"handler":   "reverse_proxy",
		"upstreams": ups,
	}
	if site.ColourHeader != "-" {
		h["headers"] = map[string]any{"response": map[string]any{"set": map[string][]string{site.ColourHeader: {site.Colour}}}}
	}
	route := map[string]any{"handle": []any{h}, "terminal": true}
	if len(site.Hosts) > 0 {
		route["match"] = []any{map[string]any{"host": site.Hosts}}
	}
	server := map[string]any{
		"listen": site.Listen,
		"routes": []any{route},
	}
	if !site.AutoHTTPS {
		server["automatic_https"] = map[string]any{"disable": true}
	}
	cfg := map[string]any{
		"admin": map[string]any{"listen": site.Admin},
		"apps": map[string]any{"http": map[string]any{"servers": map[string]any{
			site.App: server,
		}}},
	}
	return json.MarshalIndent(cfg, "", "  ")
}
