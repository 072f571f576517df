package traffic

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/version"
	"github.com/blueshift-deploy/blueshift/health"
)

// The two colours of a blue-green deployment, as the proxy's files spell
// them (version.Colour is the one colour type; a Switcher takes its string,
// and accepts any colour its routes have upstreams for).
const (
	Blue  = string(version.Blue)
	Green = string(version.Green)
)

// ColourHeader is the response header an application sets to say which
// colour answered (the demo app does). VerifyPublic checks it by default.
const ColourHeader = "X-Blueshift-Colour"

// ProxyColourHeader is the response header the proxy configurations written
// by this package add, naming the colour the proxy sent the request to. Use
// it with VerifyPublic for applications that do not set ColourHeader.
const ProxyColourHeader = "X-Blueshift-Proxy-Colour"

// Switcher moves traffic between colours at a reverse proxy.
type Switcher interface {
	// Live returns the colour the proxy currently sends traffic to, read
	// from what the proxy routes by (its configuration, or Caddy's colour
	// files). It returns an error wrapping
	// ErrNoLiveColour when the proxy has not been switched yet (a first
	// deployment).
	Live(ctx context.Context) (colour string, err error)
	// Switch sends every route's traffic to colour. The previous colour's
	// in-flight requests complete. On error the proxy keeps serving the
	// previous colour.
	Switch(ctx context.Context, colour string) error
	// Validate checks that the proxy is reachable and its configuration is
	// valid and wired for switching (for a preflight check).
	Validate(ctx context.Context) error
}

// Verifier is implemented by switchers that can prove, from the proxy
// itself, which colour it routes to: not from the application, which need
// not say which colour answered. The engine calls Verify after Switch.
type Verifier interface {
	// Verify waits, under policy (VerifyPolicy's numbers when zero), until
	// the proxy routes every route to colour. It returns an error wrapping
	// ErrWrongColour (and the *health.WaitError) naming what the proxy
	// said last when that does not happen.
	Verify(ctx context.Context, colour string, policy health.Policy) error
}

// VerifyPolicy is how long Verify waits by default: 3 answers in a row
// naming the colour (a reloading nginx's old workers may still accept a
// connection or two), 200ms apart, each at most 5s, within 30s.
func VerifyPolicy() health.Policy {
	return health.Policy{Attempts: 150, Interval: 200 * time.Millisecond, AttemptTimeout: 5 * time.Second, Timeout: 30 * time.Second, SuccessesInRow: 3}
}

// verifyPolicy is p, or VerifyPolicy when p is the zero value.
func verifyPolicy(p health.Policy) health.Policy {
	if zeroPolicy(p) {
		return VerifyPolicy()
	}
	return p
}

// zeroPolicy reports whether p sets nothing (Policy holds a func: it cannot
// be compared with ==).
func zeroPolicy(p health.Policy) bool {
	return p.Attempts == 0 && p.Interval == 0 && p.AttemptTimeout == 0 && p.Timeout == 0 && p.SuccessesInRow == 0 && p.Classify == nil
}

// Upstreams maps a colour to the addresses serving it as seen from the
// proxy ("127.0.0.1:8001").
type Upstreams map[string][]string

// Route is one upstream group the proxy switches: an application with a
// backend and a frontend has two routes.
type Route struct {
	// Name is how the proxy knows the route: for nginx the upstream block's
	// name, for Caddy the "@id" of its subroute handler
	// (CaddyRouteHandler). Letters, digits, '_' and '-'.
	Name string
	// Upstreams holds the addresses of each colour; every colour a switch
	// may go to needs at least one.
	Upstreams Upstreams
}

var (
	// ErrNoLiveColour is wrapped by Live when the proxy configuration does
	// not name a live colour yet: nothing has been switched.
	ErrNoLiveColour = errors.New("no live colour configured at the proxy")
	// ErrUnknownColour is wrapped by Switch when asked for a colour some
	// route has no upstreams for.
	ErrUnknownColour = errors.New("unknown colour")
	// ErrConfigInvalid is wrapped when the proxy rejects its configuration
	// (a failed `nginx -t`, a Caddy admin API error). The previous
	// configuration stays in effect.
	ErrConfigInvalid = errors.New("proxy configuration invalid")
	// ErrNotWired is wrapped by Validate when the proxy's configuration does
	// not use what Switch writes (the upstream file is not included, the
	// handler @id does not exist).
	ErrNotWired = errors.New("proxy not wired for switching")
	// ErrNotVerifiable is wrapped by Verify when the switcher has no way to
	// see what the proxy loaded (nginx's colour server is off).
	ErrNotVerifiable = errors.New("the proxy's colour cannot be checked")
	// ErrWrongColour is wrapped by Verify and VerifyPublic when the proxy
	// or the public endpoint keeps answering from another colour.
	ErrWrongColour = errors.New("public endpoint answers from the wrong colour")
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

// validateRoutes checks routes for a switcher's constructor; what names the
// owner of routes in messages ("nginx", "caddy").
func validateRoutes(what string, routes []Route) error {
	if len(routes) == 0 {
		return fmt.Errorf("%s: routes: at least one route is required", what)
	}
	seen := map[string]bool{}
	for i, r := range routes {
		if !nameRE.MatchString(r.Name) {
			return fmt.Errorf("%s: routes[%d].name: %q: want letters, digits, '_' and '-'", what, i, r.Name)
		}
		if seen[r.Name] {
			return fmt.Errorf("%s: routes[%d].name: %q: duplicate", what, i, r.Name)
		}
		seen[r.Name] = true
		if len(r.Upstreams) == 0 {
			return fmt.Errorf("%s: routes[%d].upstreams: at least one colour is required", what, i)
		}
		for colour, addrs := range r.Upstreams {
			if !nameRE.MatchString(colour) {
				return fmt.Errorf("%s: routes[%d].upstreams: colour %q: want letters, digits, '_' and '-'", what, i, colour)
			}
			if len(addrs) == 0 {
				return fmt.Errorf("%s: routes[%d].upstreams.%s: at least one address is required", what, i, colour)
			}
			for _, a := range addrs {
				if err := checkAddr(a); err != nil {
					return fmt.Errorf("%s: routes[%d].upstreams.%s: %q: %w", what, i, colour, a, err)
				}
			}
		}
	}
	return nil
}

// checkAddr accepts host:port with a port in 1-65535, and unix sockets
// ("unix:/path" for nginx, "unix//path" for Caddy).
func checkAddr(a string) error {
	if a == "" || strings.ContainsAny(a, " \t\r\n;{}\"'#$") {
		return errors.New("want host:port")
	}
	if strings.HasPrefix(a, "unix:/") || strings.HasPrefix(a, "unix//") {
		return nil
	}
	h, p, err := net.SplitHostPort(a)
	if err != nil || h == "" {
		return errors.New("want host:port")
	}
	if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
		return errors.New("want a port in 1-65535")
	}
	return nil
}

// checkColour returns an error wrapping ErrUnknownColour unless every route
// has upstreams for colour.
func checkColour(routes []Route, colour string) error {
	for _, r := range routes {
		if len(r.Upstreams[colour]) == 0 {
			return fmt.Errorf("%w %q: route %s has upstreams only for %s", ErrUnknownColour, colour, r.Name, strings.Join(colours(r.Upstreams), ", "))
		}
	}
	return nil
}

func colours(u Upstreams) []string {
	cs := make([]string, 0, len(u))
	for c := range u {
		cs = append(cs, c)
	}
	sort.Strings(cs)
	return cs
}
