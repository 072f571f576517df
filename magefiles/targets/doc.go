// Package targets holds blueshift's Mage targets for an application and
// nothing else: each is a few lines that load deploy.yml, call the library
// and print the result. An application's magefile (and this repository's
// magefiles/magefile.go) imports it without an alias, so `go tool mage -l`
// lists the targets by namespace (deploy:production, deploy:plan, status,
// rollback, backup:list, …). This repository's own targets (test, demo,
// bench) are in magefiles/devtargets: they need the examples and package
// testing, which an application must not get (deploy/layering_test.go).
//
// Deployment targets name their environment (deploy:production,
// deploy:staging, deploy:to ENV VERSION); every other target works on ENV:
// its -env=NAME flag, else $BLUESHIFT_ENV, else the only environment of
// deploy.yml (with several, naming none is an error listing them: nothing
// falls back to production). Each says on its first line of stderr which
// environment and host it acts on. Every target cancels its work on SIGINT or SIGTERM, so an
// interrupted deployment rolls back. deploy:* and rollback exit 0 when the
// run succeeded, 1 when it failed before anything changed, 2 when it was
// rolled back and 3 when the rollback failed too.
//
// Every exported function or method of an mg.Namespace type here becomes a
// target, and the first sentence of its doc comment is its help line, so
// helpers stay unexported (common.go). Targets write what a person should
// see to stdout, logs to stderr (Mage discards the standard logger unless
// -v, so newLogger builds its own handler), and return fail(err) so the exit
// code is non-zero with a one-line message.
package targets
