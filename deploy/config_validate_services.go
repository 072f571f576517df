package deploy

import (
	"fmt"
	"github.com/blueshift-deploy/blueshift/deploy/traffic"
	"maps"
	"slices"
	"strings"

	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// Validation of what runs and how traffic reaches it: services, ports and
// proxy.

// services checks services.* and records the services for the sections
// that name one (ports, hooks, health, backup).
func (v *envCheck) services() {
	v.all, v.stateless = map[string]bool{}, map[string]bool{}
	s := v.e.Services
	if len(s.Stateless) == 0 {
		v.missingAt("services.stateless", "required: list the services that get a colour (e.g. [backend, frontend])")
	}
	for i, name := range s.Stateless {
		if name == "" || v.all[name] {
			v.add(fmt.Sprintf("%s[%d]", v.at("services.stateless"), i), "%q is empty or listed twice", name)
		}
		v.all[name], v.stateless[name] = true, true
	}
	for i, name := range s.Shared {
		if name == "" || v.all[name] {
			v.add(fmt.Sprintf("%s[%d]", v.at("services.shared"), i), "%q is empty or listed twice (a service is either stateless or shared)", name)
		}
		v.all[name] = true
	}
}

// ports checks ports.*: stateless services only, ports in range, and no
// loopback port used twice.
func (v *envCheck) ports() {
	e := v.e
	if len(e.Ports) == 0 && e.Proxy.Kind != "none" {
		v.missingAt("ports", "required with proxy.kind %s: give each web service's container port and its blue and green loopback ports", e.Proxy.Kind)
	}
	used := map[int]string{}
	for _, s := range slices.Sorted(maps.Keys(e.Ports)) {
		pp := v.at("ports." + s)
		if !v.stateless[s] {
			v.add(pp, "%q is not a stateless service: only services.stateless get colour ports", s)
		}
		pc := e.Ports[s]
		v.checkPort(pp+".container", pc.Container)
		v.colourPort(used, s, version.Blue, pc.Blue)
		v.colourPort(used, s, version.Green, pc.Green)
	}
}

// colourPort checks one colour's loopback port of service: in range and
// not already used (used maps the ports seen to their field).
func (v *envCheck) colourPort(used map[int]string, service string, colour version.Colour, port int) {
	field := "ports." + service + "." + string(colour)
	if !v.checkPort(v.at(field), port) {
		return
	}
	if other, ok := used[port]; ok {
		v.addAt(field, "port %d is already used by %s", port, other)
		return
	}
	used[port] = field
}

// proxy checks proxy.kind and the settings of the proxy it names.
func (v *envCheck) proxy() {
	px := v.e.Proxy
	switch px.Kind {
	case "nginx":
		v.absHostPath("proxy.nginx.upstream_file", px.Nginx.UpstreamFile)
		switch l := px.Nginx.ColourListen; {
		case l == "" || l == traffic.ColourListenOff:
		case strings.HasPrefix(l, "unix"):
			v.addAt("proxy.nginx.colour_listen", "%q: want a loopback host:port (a unix socket left by a crash would stop nginx from starting) or %q", l, traffic.ColourListenOff)
		default:
			v.hostPort("proxy.nginx.colour_listen", l, false)
		}
	case "caddy":
		v.caddy(px.Caddy)
	case "none":
	default:
		v.addAt("proxy.kind", "unknown proxy %q: want nginx, caddy or none", px.Kind)
	}
}

// caddy checks proxy.caddy.*.
func (v *envCheck) caddy(c CaddyConfig) {
	v.hostPort("proxy.caddy.admin", c.Admin, false)
	if c.RouteID == "" {
		v.missingAt("proxy.caddy.route_id", "required with proxy.kind caddy")
	}
	if !strings.HasPrefix(c.Dir, "/") || strings.ContainsAny(c.Dir, "{}*?[]\\ \t\r\n") {
		v.addAt("proxy.caddy.dir", "%q must be an absolute path on the host without spaces, braces, glob characters or backslashes", c.Dir)
	}
}
