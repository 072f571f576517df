package backup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
)

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// psql runs sql against dsn and returns its unaligned output.
func psql(t testing.TB, dsn, sql string) string {
	t.Helper()
	out, err := exec.Command("psql", "--no-psqlrc", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-c", sql).CombinedOutput()
	if err != nil {
		t.Fatalf("psql %q: %v: %s", sql, err, out)
	}
	return string(out)
}

// testDB creates a unique database and returns its URL; it is dropped at
// the end of the test.
func testDB(t testing.TB) string {
	t.Helper()
	admin := hosttest.PostgresURL()
	err := exec.Command("psql", "--no-psqlrc", "-X", "-q", "-d", admin, "-c", "SELECT 1").Run()
	hosttest.Require(t, "PostgreSQL", err)
	name := "bs_backup_" + randHex(6)
	psql(t, admin, "CREATE DATABASE "+name)
	t.Cleanup(func() {
		_ = exec.Command("psql", "--no-psqlrc", "-X", "-q", "-d", admin, "-c", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)").Run()
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// dbName returns the database name of a test DSN.
func dbName(dsn string) string {
	u, _ := url.Parse(dsn)
	return strings.TrimPrefix(u.Path, "/")
}

// seedDB fills dsn with tables holding text, non-ASCII text, NULLs and
// random bytea (rows x bytes).
func seedDB(t testing.TB, dsn string, rows, bytes int) {
	t.Helper()
	psql(t, dsn, fmt.Sprintf(`
CREATE TABLE items (id serial PRIMARY KEY, name text, data bytea, price numeric(10,2));
INSERT INTO items (name, data, price) VALUES
  ('plain', '\x00ff10'::bytea, 1.50),
  ('Grüße, 日本語, emoji 🚀, quote '' and tab	end', '\xdeadbeef'::bytea, NULL),
  (NULL, NULL, 0),
  (E'multi\nline', ''::bytea, 99999999.99);
INSERT INTO items (name, data, price)
  SELECT 'row ' || g, decode(string_agg(lpad(to_hex((random()*255)::int), 2, '0'), ''), 'hex'), g
  FROM generate_series(1, %d) g, generate_series(1, %d) b GROUP BY g;
CREATE TABLE notes (id int PRIMARY KEY, item int REFERENCES items(id), body text);
INSERT INTO notes VALUES (1, 1, 'first'), (2, 2, 'zweite Notiz');
`, rows, bytes))
}

// snapshotDB returns every row of the seeded tables, ordered.
func snapshotDB(t testing.TB, dsn string) string {
	t.Helper()
	return psql(t, dsn, "COPY (SELECT * FROM items ORDER BY id) TO STDOUT") +
		"--\n" + psql(t, dsn, "COPY (SELECT * FROM notes ORDER BY id) TO STDOUT")
}

// mutateDB changes, deletes and adds data.
func mutateDB(t testing.TB, dsn string) {
	t.Helper()
	psql(t, dsn, `UPDATE items SET name = 'changed', data = '\x01' WHERE id = 2;
DELETE FROM notes WHERE id = 2; DELETE FROM items WHERE id > 3 AND id NOT IN (SELECT item FROM notes);
INSERT INTO items (name) VALUES ('new');`)
}

// recordingRunner wraps a Runner and records every argv and env.
type recordingRunner struct {
	host.Runner
	mu   sync.Mutex
	cmds []host.Cmd
}

func (r *recordingRunner) Run(ctx context.Context, c host.Cmd) error {
	r.mu.Lock()
	r.cmds = append(r.cmds, host.Cmd{Argv: slices.Clone(c.Argv), Env: slices.Clone(c.Env)})
	r.mu.Unlock()
	t0 := time.Now()
	err := r.Runner.Run(ctx, c)
	if d := time.Since(t0); d > 300*time.Millisecond && os.Getenv("BS_TIMING") != "" {
		fmt.Fprintf(os.Stderr, "SLOW %v %q\n", d, c.Argv)
	}
	return err
}

func (r *recordingRunner) argvs() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out [][]string
	for _, c := range r.cmds {
		out = append(out, c.Argv)
	}
	return out
}

// fakeBinRunner runs commands locally with fake programs from dir first in
// PATH (for argv[0] and for programs a shell started by argv runs), and
// extra environment.
type fakeBinRunner struct {
	local host.Runner
	dir   string
	env   []string
}

func (f *fakeBinRunner) Run(ctx context.Context, c host.Cmd) error {
	c.Argv = slices.Clone(c.Argv)
	if p := filepath.Join(f.dir, c.Argv[0]); fileExists(p) {
		c.Argv[0] = p
	}
	c.Env = append(append([]string{"PATH=" + f.dir + ":" + os.Getenv("PATH")}, f.env...), c.Env...)
	return f.local.Run(ctx, c)
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// writeScript writes an executable shell script into dir.
func writeScript(t testing.TB, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
}

// scriptRunner answers commands from a function; nothing runs.
type scriptRunner struct {
	mu     sync.Mutex
	answer func(argv []string) (string, error)
	cmds   [][]string
}

func (s *scriptRunner) Run(_ context.Context, c host.Cmd) error {
	s.mu.Lock()
	s.cmds = append(s.cmds, slices.Clone(c.Argv))
	s.mu.Unlock()
	out, err := s.answer(c.Argv)
	if c.Stdout != nil && out != "" {
		_, _ = c.Stdout.Write([]byte(out))
	}
	return err
}

// completeBackups returns the IDs of complete backups in dir.
func completeBackups(t testing.TB, r host.Runner, dir string) []string {
	t.Helper()
	infos, err := List(context.Background(), r, dir)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	var ids []string
	for _, in := range infos {
		if in.Complete {
			ids = append(ids, in.ID)
		}
	}
	return ids
}

var testTime = time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
