package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/blueshift-deploy/blueshift/backup"
	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// BenchBackup creates a database of mb MiB of incompressible bytea on the
// server at serverURL (a role allowed to create databases), backs it up
// with backup.Plan (pg_dump on this host) and with a plain
// `pg_dump -Fc > file`, alternately runs times each, and drops it again.
// Files go under dir.
func BenchBackup(ctx context.Context, serverURL string, mb, runs int, dir string, progress func(string, ...any)) (*BackupResult, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	admin, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL at %s (set %s): %w", redact(serverURL), PostgresEnv, err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	res := &BackupResult{}
	_ = admin.QueryRow(ctx, "SHOW server_version").Scan(&res.server)
	name := fmt.Sprintf("blueshift_bench_%d", rand.IntN(1e9))
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return nil, fmt.Errorf("create database %s (the role needs CREATEDB): %w", name, err)
	}
	defer func() {
		_, _ = admin.Exec(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}()
	u, err := url.Parse(serverURL)
	if err != nil {
		return nil, err
	}
	u.Path = "/" + name
	dsn := u.String()

	progress("backup: filling %s with %d MiB of random bytea", name, mb)
	if err := fillRandom(ctx, dsn, mb); err != nil {
		return nil, err
	}
	if err := admin.QueryRow(ctx, "SELECT pg_database_size($1)", name).Scan(&res.DBBytes); err != nil {
		return nil, err
	}

	dumpDir := filepath.Join(dir, "backups")
	var tool, raw []time.Duration
	for i := 0; i < runs; i++ {
		progress("backup: run %d/%d: backup.Plan.Create, then pg_dump -Fc > file", i+1, runs)
		d, err := toolBackup(ctx, dsn, dumpDir, res)
		if err != nil {
			return res, err
		}
		tool = append(tool, d)
		if d, err = rawDump(ctx, u, filepath.Join(dir, "raw.dump"), res); err != nil {
			return res, err
		}
		raw = append(raw, d)
	}
	res.Runs, res.ToolRuns, res.RawRuns = runs, tool, raw
	res.Tool, res.Raw = Median(tool), Median(raw)
	return res, nil
}

// toolBackup runs backup.Plan.Create once, sampling this process's memory,
// and records the dump's size and the memory peaks in res.
func toolBackup(ctx context.Context, dsn, dir string, res *BackupResult) (time.Duration, error) {
	plan := &backup.Plan{Options: backup.Options{Dir: dir, App: "bench", Version: "bench"},
		Runner: host.NewLocal(), Sources: []backup.Source{&backup.Postgres{DSN: dsn}}}
	runtime.GC()
	stop := sampleMemory()
	start := time.Now()
	br, err := plan.Create(ctx)
	took := time.Since(start)
	heap, rss := stop()
	if err != nil {
		return 0, fmt.Errorf("backup.Plan.Create: %w", err)
	}
	res.ToolHeapPeak, res.ToolRSSPeak = max(res.ToolHeapPeak, heap), max(res.ToolRSSPeak, rss)
	res.DumpBytes = 0
	for _, a := range br.Manifest.Artifacts {
		res.DumpBytes += a.Size
	}
	return took, os.RemoveAll(br.Path)
}

// rawDump runs plain pg_dump into a file, as the seed does; the password
// goes through PGPASSWORD, not argv. It records pg_dump's peak RSS in res.
func rawDump(ctx context.Context, u *url.URL, file string, res *BackupResult) (time.Duration, error) {
	out, err := os.Create(file)
	if err != nil {
		return 0, err
	}
	defer os.Remove(file)
	defer out.Close()
	argv := PgDumpArgv(u)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout = out
	cmd.Env = os.Environ()
	if pw, ok := u.User.Password(); ok {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+pw)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	err = cmd.Run()
	took := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("pg_dump: %w: %s", err, stderr.String())
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.RawRSS = max(res.RawRSS, ru.Maxrss*1024)
	}
	return took, nil
}

// PgDumpArgv is the plain pg_dump command the backup is compared with:
// `pg_dump -Fc <url without password>` (its output goes to a file).
func PgDumpArgv(u *url.URL) []string {
	c := *u
	if c.User != nil {
		c.User = url.User(c.User.Username())
	}
	return []string{"pg_dump", "-Fc", c.String()}
}

// redact removes the password from a URL for messages.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// sampleMemory samples this process's Go heap and resident set every 5 ms
// until the returned function is called, which returns the peaks in bytes.
func sampleMemory() func() (heap, rss int64) {
	var heapPeak, rssPeak atomic.Int64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if h := int64(ms.HeapAlloc); h > heapPeak.Load() {
				heapPeak.Store(h)
			}
			if r := rssBytes(); r > rssPeak.Load() {
				rssPeak.Store(r)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return func() (int64, int64) {
		close(stop)
		<-done
		return heapPeak.Load(), rssPeak.Load()
	}
}

// rssBytes is this process's resident set (VmRSS), or 0.
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

// fillRandom writes mb MiB of random bytea (64 KiB rows) with COPY, stored
// uncompressed.
func fillRandom(ctx context.Context, dsn string, mb int) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, q := range []string{
		"CREATE TABLE blobs (id int PRIMARY KEY, data bytea)",
		"ALTER TABLE blobs ALTER COLUMN data SET STORAGE EXTERNAL",
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return err
		}
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
		return fmt.Errorf("fill the bench database: %w", err)
	}
	return nil
}
