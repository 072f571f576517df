// Package hosttest gives blueshift's tests the real components they run
// against: a real OpenSSH sshd on 127.0.0.1 (StartSSHD, NewSSHHost), and the
// PostgreSQL, Redis, nginx and Docker Engine that .ci/run installs and starts.
//
// A test that needs a component calls Require. Locally a missing component
// skips the test with the reason; in CI (CI=true) it fails it, so a green CI
// run always means the real component was exercised. Under -short Require
// always skips: `go test -short` runs the unit tests alone.
//
// NewFake is the unit tests' host: real files and shell scripts, with
// Docker, compose and nginx answered by an in-memory Model, and FakeEngine
// the Docker Engine API over the same model. The standard phases' unit
// tests (deploy) and an application's tests of its own phases
// (examples/consumer) run on it without any of the components above.
package hosttest
