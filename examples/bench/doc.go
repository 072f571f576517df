// Package bench is the benchmark harness behind `go tool mage bench`: it
// measures blueshift on this machine's Docker Engine with the demo app
// (examples/demoapp) behind a real nginx, and prints one table.
//
// What it measures (Run):
//
//   - Zero downtime: requests sent through nginx at a fixed rate during full
//     deployments, automatic rollbacks after the switch and manual
//     rollbacks: failed requests and p50/p99 latency per scenario.
//   - The seed's method under the same load: `docker compose stop`, then
//     `docker compose up` of the next version on the same published port,
//     with its failed requests and outage.
//   - Speed: every phase's wall time (medians over Options.Runs
//     deployments), blueshift's own overhead (total minus image pull, the
//     app's readiness and the configured waits), the time from `rollback`
//     to the old version answering every request, and from an injected
//     failure to the rollback completed.
//   - Backup: throughput and memory of a PostgreSQL backup through the
//     backup package against a plain `pg_dump -Fc > file` of the same
//     database.
//
// The pure parts (Median, Overhead, StreakStart, the table) are tested
// without Docker; Run needs the Docker Engine, Compose v2, Debian's nginx
// and PostgreSQL (bash .ci/run installs them).
package bench
