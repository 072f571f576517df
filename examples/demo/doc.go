// Package demo is blueshift's embedded default: a complete blue-green
// deployment on this machine with nothing but Go and a Docker Engine (no
// registry, no server, no configuration to write). `go tool mage demo` and
// `go tool mage demo:down` are thin wrappers around it.
//
// The demo
//
//  1. builds the demo app (examples/demoapp) into local images
//     blueshift-demo/web:v1.0.0 and :v1.0.1 (Setup),
//  2. writes a workspace ($BLUESHIFT_DEMO_DIR, else
//     $XDG_CACHE_HOME/blueshift-demo or ~/.cache/blueshift-demo) holding a
//     docker-compose.yml and a deploy.yml for environment "production" on
//     host "local" (Setup),
//  3. starts Caddy in front of the two colours, routing by colour files
//     that a switch creates and removes, so that switches never reload Caddy and drop
//     no request (StartProxy),
//  4. deploys v1.0.0, then v1.0.1 through the full production pipeline while
//     a load generator sends requests through Caddy, and counts what failed
//     (Run),
//  5. and removes it all again (Down).
//
// Everything the demo starts is labelled with its app name, so Down finds
// it even when the workspace is gone. Every step is idempotent: running the
// demo twice re-uses what is already running.
//
// Like every blueshift library the package writes nothing to the terminal:
// progress goes to Options.Progress and each deployment's events to the
// hooks in Options, which the Mage target connects to deploy/console.
package demo
