// Package traffic moves an application's public traffic between its two
// colours (blue and green) at the reverse proxy in front of it, without
// dropping a request.
//
// A Switcher reports which colour the proxy sends traffic to (read from the
// proxy's own configuration, never from a separate state file), switches it
// to the other colour, and validates the proxy's configuration for a
// preflight check. Two implementations exist:
//
//   - Nginx renders an upstream file the site configuration includes, writes
//     it atomically, checks it with `nginx -t` (restoring the previous file if
//     the check fails) and reloads gracefully with `nginx -s reload`. nginx may
//     run on the host or in a container (commands then go through
//     `docker exec`).
//   - Caddy replaces the upstreams of a reverse_proxy handler, found by its
//     "@id", through Caddy's admin API, which applies the change atomically.
//
// Both reach the machine only through package host (a Runner for commands, a
// Dialer for the admin API), so a switch works locally and over SSH alike.
// VerifyPublic then checks that the public endpoint answers from the new
// colour. Package traffic/load generates fixed-rate load to prove a switch
// drops nothing.
//
// Package traffic never imports package deploy.
package traffic
