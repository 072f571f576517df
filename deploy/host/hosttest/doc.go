// Package hosttest gives blueshift's tests the real components they run
// against: a real OpenSSH sshd on 127.0.0.1 (StartSSHD, NewSSHHost), and the
// PostgreSQL, Redis, nginx and Docker Engine that .ci/run installs and starts.
//
// A test that needs a component calls Require. Locally a missing component
// skips the test with the reason; in CI (CI=true) it fails it, so a green CI
// run always means the real component was exercised.
package hosttest
