package backup

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
)

// cutAfterSecret runs commands over the link and cuts it right after the
// first command whose stdin carried token has finished.
type cutAfterSecret struct {
	host.Runner
	link  *hosttest.TCPProxy
	token string
	cut   bool
}

func (r *cutAfterSecret) Run(ctx context.Context, c host.Cmd) error {
	if r.cut {
		return r.Runner.Run(ctx, c)
	}
	carries := false
	if c.Stdin != nil {
		data, err := io.ReadAll(c.Stdin)
		if err != nil {
			return err
		}
		carries = bytes.Contains(data, []byte(r.token))
		c.Stdin = bytes.NewReader(data)
	}
	err := r.Runner.Run(ctx, c)
	if carries {
		r.cut = true
		r.link.Cut()
	}
	return err
}

// filesHolding lists regular files directly in the temporary directories
// (where mktemp puts them) changed since since, that contain secret.
func filesHolding(t *testing.T, secret string, since time.Time) []string {
	t.Helper()
	var found []string
	seen := map[string]bool{}
	for _, dir := range []string{os.TempDir(), "/tmp", "/var/tmp"} {
		if seen[dir] {
			continue
		}
		seen[dir] = true
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			info, err := e.Info()
			if err != nil || !info.Mode().IsRegular() || info.Size() > 1<<20 || info.ModTime().Before(since.Add(-time.Second)) {
				continue
			}
			p := filepath.Join(dir, e.Name())
			if data, err := os.ReadFile(p); err == nil && bytes.Contains(data, []byte(secret)) {
				found = append(found, p)
			}
		}
	}
	return found
}

// TestNoPasswordFileLeftOnTheHost: on 239a55e runSecret made a file on the
// host with mktemp, wrote the database password into it with a second
// command, and deleted it from a third (or from a deferred rm): a connection
// dropped in between left /tmp/tmp.XXXXXXXXXX holding
// PGPASSWORD='<password>' on the server for good. Now the password travels
// on the stdin of the one command that uses it, and no file is made; after
// a backup over a real sshd, and after the connection is cut mid-backup,
// right after the command that received the password, the temporary
// directories hold no file with it.
func TestNoPasswordFileLeftOnTheHost(t *testing.T) {
	dsn := testDB(t)
	cleanDSN, pw, err := splitDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	// The test server's password is shared by every test; a token of this
	// test's own travels with it (the same runSecret path, the same file on
	// 239a55e), so a file found holding it is this test's.
	password := "tok" + randHex(12)
	d := hosttest.StartSSHD(t, hosttest.SSHDOptions{})
	start := time.Now()

	plan := func(r host.Runner, app string) *Plan {
		return &Plan{
			Options: Options{AppDir: app, App: "shop", Version: "v1.0.1"},
			Runner:  r,
			Sources: []Source{
				&Command{Artifact: "appdump", File: "app.txt", Env: []string{"PGPASSWORD=" + pw, "APP_DB_TOKEN=" + password},
					Argv: []string{"psql", "--no-psqlrc", "-XAt", "-d", cleanDSN, "-c", "SELECT 1"}},
				&Postgres{DSN: dsn},
			},
		}
	}

	t.Run("complete backup", func(t *testing.T) {
		h := d.Connect(d.Config())
		res, err := plan(h, t.TempDir()).Create(context.Background())
		if err != nil {
			t.Fatalf("Create over SSH: %v", err)
		}
		if !res.Manifest.Complete {
			t.Errorf("manifest %+v: want complete", res.Manifest)
		}
		if files := filesHolding(t, password, start); len(files) > 0 {
			t.Errorf("the database password is on the host in %v", files)
		}
	})

	t.Run("connection cut mid-backup", func(t *testing.T) {
		link := hosttest.StartTCPProxy(t, d.Addr)
		h := d.Connect(d.ConfigVia(link.Addr))
		r := &cutAfterSecret{Runner: h, link: link, token: password}
		_, err := plan(r, t.TempDir()).Create(context.Background())
		if !r.cut {
			t.Fatalf("no command carried the password (err %v)", err)
		}
		if err == nil {
			t.Error("Create succeeded over a cut connection")
		}
		if files := filesHolding(t, password, start); len(files) > 0 {
			t.Errorf("the database password is left on the host in %v after the connection was cut", files)
		}
	})
}
