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
//   - Over SSH (Options.Scenarios "ssh", not in the default run): the
//     demo app deployed and rolled back through a real OpenSSH sshd on
//     127.0.0.1 whose sessions start SSHLoginDelay late (ForceCommand
//     sleeps, as a login shell reading slow start-up files does), reached
//     through a proxy adding SSHLinkDelay each way, under the same load
//     through nginx: failed requests, the remote commands per deployment
//     and per rollback (from the reports' per-phase counts, and all
//     commands the host ran), blueshift's overhead (the whole command,
//     connecting included, minus the health phase and the configured
//     waits; the images are local), and the time from the start of the
//     rollback (before connecting) to the first answer from the old
//     version through nginx. The fixed link makes the number of round
//     trips visible: that is what a real server's shell and network cost.
//   - Backup: throughput and memory of a PostgreSQL backup through the
//     backup package against a plain `pg_dump -Fc > file` of the same
//     database.
//
// The pure parts (Median, Overhead, StreakStart, the table) are tested
// without Docker; Run needs the Docker Engine, Compose v2, Debian's nginx
// and PostgreSQL (bash .ci/run installs them).
package bench
