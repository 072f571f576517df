// Package traffic moves an application's public traffic between its two
// colours (blue and green) at the reverse proxy in front of it, without
// dropping a request.
//
// A Switcher reports which colour the proxy sends traffic to (read from
// what the proxy itself routes by, never from a separate state file),
// switches it to the other colour, and validates the proxy's configuration
// for a preflight check. Two implementations exist:
//
//   - Nginx renders an upstream file the site configuration includes, writes
//     it atomically, checks it with `nginx -t` (restoring the previous file if
//     the check fails) and reloads gracefully with `nginx -s reload`. nginx may
//     run on the host or in a container (commands then go through
//     `docker exec`).
//   - Caddy never changes Caddy's configuration. Each route's handler
//     (CaddyRouteHandler) holds a route per colour, matched when that
//     colour's file exists in the route's directory, and a switch creates
//     the next colour's file and removes the earlier colours' files.
//
// Why Caddy is not switched through its admin API: every configuration
// change, even of one upstream, makes Caddy 2.10 start all apps anew and
// shut the old HTTP server down (caddy.go changeConfig, caddyhttp App.Stop).
// Go's HTTP server, once shutting down, closes a connection whose request
// it reads after that began without answering it (net/http conn.serve); a
// client sees EOF, and when the connection was fresh (an idempotent request
// on a reused one is retried by Go's client) the request fails. Measured
// with the admin-API switch: 163 of 23,186 requests at 300 req/s over 4
// runs of 200 switches with busy loops on every core, each an EOF (on a
// fresh connection, where traced), and 0 of 29,847 with the colour files
// (TestCaddySwitchesUnderCPULoadDropNothing). The
// file matcher costs a stat or two per request (Caddy's CPU rose 4-11% at
// 500 req/s), where a {file.*} placeholder would read the file into a fresh
// 1 MiB buffer on every request (Caddy's CPU tripled).
//
// Caddy serves the first colour, in name order, whose file exists. A switch
// to a later colour creates its file first and then removes the earlier
// one; a switch to an earlier colour only creates its file. So the later
// colour's file, once created, is never removed by a switch, and a request
// that does not find the first colour's file always finds the second's:
// with two colours exactly one look decides, and no request falls through
// to the 503 that answers before the first switch.
//
// Both reach the machine only through package host (a Runner for commands
// and files, a Dialer for Caddy's admin API), so a switch works locally and
// over SSH alike. Both are Verifiers: after a switch, Verify proves from the
// proxy itself which colour it routes to, so the application need not say
// (nginx: a loopback server of blueshift's own in the upstream file answers
// the colour nginx has loaded, because `nginx -s reload` only signals and a
// reload nginx cannot take leaves the old configuration running; Caddy: its
// loaded route and the colour files). VerifyPublic checks, for applications
// that do, that the public endpoint answers with a colour header. Both wait
// through health.Wait. Package traffic/load generates fixed-rate load to
// prove a switch drops nothing.
//
// Package traffic never imports package deploy.
package traffic
