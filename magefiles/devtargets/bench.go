package devtargets

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/blueshift-deploy/blueshift/examples/bench"
)

// Bench measures zero downtime, speed, rollback and backup on this machine and prints one table.
//
// It needs the Docker Engine, docker compose, Debian's nginx and PostgreSQL
// (bash .ci/run sets them up). Knobs: BLUESHIFT_BENCH_RUNS (runs per
// scenario, default 5), BLUESHIFT_BENCH_RATE (requests/s, default 300),
// BLUESHIFT_BENCH_DB_MB (backup database size, default 256; 0 skips it),
// BLUESHIFT_BENCH_BACKUP_RUNS (default 1), BLUESHIFT_BENCH_ONLY (deploy or
// backup), BLUESHIFT_BENCH_SCENARIOS (comma-separated local, ssh, backup,
// thebot; default local,backup: ssh deploys and rolls back through a real
// sshd with a slow login over a slow link, thebot builds the seed's own
// application (examples/thebot) and deploys v1.0.0 then v1.0.1 under load;
// each takes minutes),
// BLUESHIFT_BENCH_SSH_RUNS (default 1), BLUESHIFT_BENCH_OUT (JSON results,
// default bench-results.json). The default run takes about 4 minutes on 2
// cores; it exits 1 if a blueshift deployment or rollback dropped a request.
func Bench(ctx context.Context) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	o, err := bench.OptionsFromEnv(getenv)
	if err != nil {
		return fail(err)
	}
	o.Logger, o.Progress = newLogger(), func(s string) { fmt.Fprintln(stderr, "bench:", s) }
	res, err := bench.Run(ctx, o)
	if res != nil {
		res.WriteTable(stdout)
		if werr := res.WriteJSON(bench.OutputPath(getenv)); werr != nil && err == nil {
			err = werr
		}
		if zerr := res.ZeroDowntime(); zerr != nil && err == nil {
			err = zerr
		}
	}
	return fail(err)
}
