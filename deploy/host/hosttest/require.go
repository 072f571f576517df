// Package hosttest gives blueshift's tests the real components they run
// against: a real OpenSSH sshd on 127.0.0.1, and the PostgreSQL, Redis, nginx
// and Docker Engine that .ci/run installs and starts.
//
// A test that needs a component calls Require. Locally a missing component
// skips the test with the reason; in CI (CI=true) it fails it, so a green CI
// run always means the real component was exercised.
package hosttest

import (
	"os"
	"testing"
)

// InCI reports whether the tests run in CI, where nothing may be skipped.
func InCI() bool { return os.Getenv("CI") == "true" }

// Require fails (in CI) or skips (elsewhere) the test when err is non-nil:
// the component the test needs is missing.
func Require(t testing.TB, component string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if InCI() {
		t.Fatalf("%s is required but unavailable (bash .ci/run installs and starts it): %v", component, err)
	}
	t.Skipf("%s unavailable (run bash .ci/run to install it): %v", component, err)
}

// PostgresURL is the PostgreSQL server tests use: $BLUESHIFT_TEST_POSTGRES_URL
// or the role .ci/run creates. The role may create databases.
func PostgresURL() string {
	if v := os.Getenv("BLUESHIFT_TEST_POSTGRES_URL"); v != "" {
		return v
	}
	return "postgres://blueshift:blueshift@127.0.0.1:5432/blueshift?sslmode=disable"
}

// RedisAddr is the Redis server tests use: $BLUESHIFT_TEST_REDIS_ADDR or
// 127.0.0.1:6379.
func RedisAddr() string {
	if v := os.Getenv("BLUESHIFT_TEST_REDIS_ADDR"); v != "" {
		return v
	}
	return "127.0.0.1:6379"
}
