package backup

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/jackc/pgx/v5"
)

// BenchmarkPostgresDump compares Plan.Create with a Postgres source (pg_dump
// on the host) against a plain `pg_dump -Fc > file`, on a database of
// $BLUESHIFT_BENCH_DB_MB megabytes (default 64) of incompressible bytea, and
// reports blueshift's own memory while the dump runs:
//
//	go test ./backup -run '^$' -bench PostgresDump -benchtime 1x
//	BLUESHIFT_BENCH_DB_MB=1024 go test ./backup -run '^$' -bench PostgresDump -benchtime 1x -timeout 30m
//
// Metrics: tool-MB/s and raw-MB/s (database size / wall time), ratio
// (tool time / raw time), heap-peak-MB (Go heap sampled every 5 ms during
// Create), alloc-MB (bytes allocated during Create), maxrss-MB (peak RSS of
// the test process).
func BenchmarkPostgresDump(b *testing.B) {
	ctx := context.Background()
	mb := 64
	if v := os.Getenv("BLUESHIFT_BENCH_DB_MB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("BLUESHIFT_BENCH_DB_MB=%q: want a positive number of megabytes", v)
		}
		mb = n
	}
	dsn := testDB(b)
	t0 := time.Now()
	fillRandom(b, dsn, mb)
	dbSize, err := strconv.ParseInt(psqlTrim(b, dsn, sizeQuery), 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %d MB of random bytea in %v; pg_database_size %d MB", mb, time.Since(t0).Round(time.Second), dbSize>>20)

	dir := b.TempDir()
	var toolDur, rawDur time.Duration
	var heapPeak, alloc uint64
	var dumpSize int64
	i := 0
	for b.Loop() {
		i++
		// The tool.
		plan := &Plan{Options: Options{Dir: filepath.Join(dir, "backups"), Version: "bench" + strconv.Itoa(i)},
			Runner: host.NewLocal(), Sources: []Source{&Postgres{DSN: dsn}}}
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		var peak atomic.Uint64
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			var ms runtime.MemStats
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapAlloc > peak.Load() {
					peak.Store(ms.HeapAlloc)
				}
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
			}
		}()
		start := time.Now()
		res, err := plan.Create(ctx)
		toolDur += time.Since(start)
		close(stop)
		<-done
		if err != nil {
			b.Fatal(err)
		}
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		heapPeak = max(heapPeak, peak.Load())
		alloc = max(alloc, after.TotalAlloc-before.TotalAlloc)
		dumpSize = res.Manifest.Artifacts[0].Size
		if err := os.RemoveAll(res.Path); err != nil {
			b.Fatal(err)
		}

		// Plain pg_dump into a file, as the seed does.
		out := filepath.Join(dir, "raw.dump")
		start = time.Now()
		raw := exec.Command("sh", "-c", `pg_dump -Fc "$1" >"$2"`, "sh", dsn, out)
		if msg, err := raw.CombinedOutput(); err != nil {
			b.Fatalf("pg_dump: %v: %s", err, msg)
		}
		rawDur += time.Since(start)
		_ = os.Remove(out)
	}
	n := float64(i)
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	mbs := func(d time.Duration) float64 { return float64(dbSize) / (1 << 20) / (d.Seconds() / n) }
	b.ReportMetric(mbs(toolDur), "tool-MB/s")
	b.ReportMetric(mbs(rawDur), "raw-MB/s")
	b.ReportMetric(toolDur.Seconds()/rawDur.Seconds(), "ratio")
	b.ReportMetric(float64(heapPeak)/(1<<20), "heap-peak-MB")
	b.ReportMetric(float64(alloc)/(1<<20), "alloc-MB")
	b.ReportMetric(float64(ru.Maxrss)/1024, "maxrss-MB")
	b.Logf("db %d MB, dump %d MB; tool %v/op, raw pg_dump %v/op", dbSize>>20, dumpSize>>20,
		(toolDur / time.Duration(i)).Round(time.Millisecond), (rawDur / time.Duration(i)).Round(time.Millisecond))
}

func psqlTrim(b testing.TB, dsn, sql string) string {
	out := psql(b, dsn, sql)
	for len(out) > 0 && (out[len(out)-1] == '\n' || out[len(out)-1] == ' ') {
		out = out[:len(out)-1]
	}
	return out
}

// fillRandom writes mb megabytes of random bytea (64 KiB rows) with COPY.
func fillRandom(b testing.TB, dsn string, mb int) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE TABLE blobs (id int PRIMARY KEY, data bytea)"); err != nil {
		b.Fatal(err)
	}
	// Random bytes do not compress: keep them out of TOAST compression.
	if _, err := conn.Exec(ctx, "ALTER TABLE blobs ALTER COLUMN data SET STORAGE EXTERNAL"); err != nil {
		b.Fatal(err)
	}
	const rowSize = 64 << 10
	rows := mb * (1 << 20) / rowSize
	rng := rand.NewChaCha8([32]byte{1})
	buf := make([]byte, rowSize)
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if rows == 0 {
			return nil, nil
		}
		rows--
		_, _ = rng.Read(buf)
		return []any{rows, buf}, nil
	})
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"blobs"}, []string{"id", "data"}, src); err != nil {
		b.Fatal(fmt.Errorf("fill: %w", err))
	}
}
