package hosttest

import (
	"context"
	"flag"
	"os"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// InCI reports whether the tests run in CI, where nothing may be skipped.
func InCI() bool { return os.Getenv("CI") == "true" }

// Require fails (in CI) or skips (elsewhere) the test when err is non-nil:
// the component the test needs is missing. Under -short it skips the test
// whatever err is, in CI too: `go test -short` is the unit tests alone,
// which need no Docker, sshd, nginx or database (the fake host stands in).
func Require(t TB, component string, err error) {
	t.Helper()
	if short() {
		t.Skipf("needs %s: skipped under -short", component)
	}
	if err == nil {
		return
	}
	if InCI() {
		t.Fatalf("%s is required but unavailable (bash .ci/run installs and starts it): %v", component, err)
	}
	t.Skipf("%s unavailable (run bash .ci/run to install it): %v", component, err)
}

// short reports whether a test binary runs with -short; false in a program
// that is not a test (the bench starts components through TB too).
func short() bool {
	return flag.Lookup("test.short") != nil && testing.Short()
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

// Docker returns a client for the local Docker Engine (through the local
// host's dialer, with API version negotiation), closed at cleanup; the test
// fails in CI, and skips elsewhere, when no daemon answers a ping.
func Docker(t testing.TB) *client.Client {
	t.Helper()
	cli, err := host.NewDockerClient(host.NewLocal(), host.DefaultDockerSocket)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = cli.Ping(ctx)
		cancel()
	}
	Require(t, "Docker Engine", err)
	t.Cleanup(func() { cli.Close() })
	return cli
}
