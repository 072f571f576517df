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
	// systemd socket activation). Required. A switch never reloads
	// Caddy; other configuration changes do, and with a TCP address Caddy
	// then binds a new SO_REUSEPORT socket and closes the old one,
	// resetting connections still queued on it: an inherited socket is
	// shared by every configuration and avoids that.
	Listen []string
	// Hosts, if set, restricts the route to these Host headers.
	Hosts []string
	// Route is the route to proxy; its Name becomes the "@id" of its
	// handler (CaddyRouteHandler). Required.
	Route Route
	// Dir is the directory of the colour files, as for CaddyConfig.Dir.
	// Default DefaultCaddyDir.
	Dir string
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
// route whose handler is CaddyRouteHandler's, ready for a Caddy switcher.
// Load it with `caddy run --config <file>` or POST it to the admin API's
// /load. Traffic goes to the colour whose file exists in
// CaddyColourDir(site.Dir, site.Route.Name): create the live colour's
// ("blue") before the first request, or let the first Switch do it (until
// then Caddy answers 503).
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
	if site.Admin == "" {
		site.Admin = DefaultCaddyAdmin
	}
	if site.Dir == "" {
		site.Dir = DefaultCaddyDir
	}
	if err := checkCaddyDir(site.Dir); err != nil {
		return nil, fmt.Errorf("caddy site: dir: %w", err)
	}
	if site.ColourHeader == "" {
		site.ColourHeader = ProxyColourHeader
	}
	route := map[string]any{"handle": []any{caddyRouteHandler(site.Route, site.Dir, site.ColourHeader)}, "terminal": true}
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

// CaddyRouteHandler returns, as JSON, the handler to put in the "handle" of
// the Caddy route serving r, for a Caddy switcher with directory dir
// (DefaultCaddyDir when empty): a subroute with "@id" r.Name holding
//
//   - for each colour (in name order), a route matched when the file
//     <dir>/<r.Name>/<colour> exists (a "file" matcher), proxying to the
//     colour's upstreams with colourHeader (default ProxyColourHeader; "-"
//     for none) set to the colour on the response, then
//   - a route answering 503 when no colour's file exists (before the
//     first switch).
//
// Add fields to the reverse_proxy handlers (transport, load balancing,
// health checks) as you need; the switcher checks the matchers and the dial
// addresses.
func CaddyRouteHandler(r Route, dir, colourHeader string) ([]byte, error) {
	if err := validateRoutes("caddy route", []Route{r}); err != nil {
		return nil, err
	}
	if dir == "" {
		dir = DefaultCaddyDir
	}
	if err := checkCaddyDir(dir); err != nil {
		return nil, fmt.Errorf("caddy route: dir: %w", err)
	}
	if colourHeader == "" {
		colourHeader = ProxyColourHeader
	}
	return json.MarshalIndent(caddyRouteHandler(r, dir, colourHeader), "", "  ")
}

// caddyRouteHandler builds CaddyRouteHandler's handler for checked input.
func caddyRouteHandler(r Route, dir, colourHeader string) map[string]any {
	var routes []any
	for _, colour := range colours(r.Upstreams) {
		ups := []any{}
		for _, a := range r.Upstreams[colour] {
			ups = append(ups, map[string]any{"dial": a})
		}
		proxy := map[string]any{"handler": "reverse_proxy", "upstreams": ups}
		if colourHeader != "-" {
			proxy["headers"] = map[string]any{"response": map[string]any{"set": map[string][]string{colourHeader: {colour}}}}
		}
		routes = append(routes, map[string]any{
			"match":    []any{map[string]any{"file": map[string]any{"root": CaddyColourDir(dir, r.Name), "try_files": []string{"/" + colour}}}},
			"handle":   []any{proxy},
			"terminal": true,
		})
	}
	routes = append(routes, map[string]any{
		"handle": []any{map[string]any{"handler": "static_response", "status_code": 503, "body": "no live colour\n"}},
	})
	return map[string]any{"@id": r.Name, "handler": "subroute", "routes": routes}
}
