package backup

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
)

const helperEnv = "BLUESHIFT_BACKUP_TEST_HELPER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		helperMain(dir)
		return
	}
	os.Exit(m.Run())
}

// blockingSource writes part of an artifact, says "ready" and hangs, so
// the test can kill the process mid-backup.
type blockingSource struct{}

func (blockingSource) Name() string { return "slow" }

func (blockingSource) Backup(ctx context.Context, r host.Runner, dir string) ([]Artifact, error) {
	err := r.Run(ctx, host.Cmd{Argv: stdoutToFile(path.Join(dir, "slow.bin"), "head", "-c", "100000", "/dev/urandom")})
	if err != nil {
		return nil, err
	}
	fmt.Println("ready")
	time.Sleep(time.Minute)
	return nil, errors.New("not killed")
}

func helperMain(dir string) {
	plan := &Plan{Options: Options{Dir: dir, Version: "v9"}, Runner: host.NewLocal(),
		Sources: []Source{&Release{Info: ReleaseInfo{Version: "v8"}}, blockingSource{}}}
	_, err := plan.Create(context.Background())
	fmt.Println("create returned:", err)
	os.Exit(3)
}

// TestKilledMidBackup kills a process in the middle of a backup: nothing
// claims to be complete, List shows the temp dir as unfinished and Prune
// removes it once stale.
func TestKilledMidBackup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "backups")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		_ = cmd.Process.Kill()
		t.Fatalf("helper said %q, %v", line, err)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	r := host.NewLocal()
	infos, err := List(ctx, r, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].Complete || !infos[0].Temp || !strings.HasPrefix(infos[0].ID, ".tmp-pre-deploy-v9-") || infos[0].Size < 100000 {
		t.Fatalf("List after kill = %+v: want one unfinished temp dir", infos)
	}
	if pruned, err := Prune(ctx, r, dir, 1, nil); err != nil || len(pruned) != 0 {
		t.Errorf("Prune right after = %v, %v: a fresh temp dir may be a running backup, keep it", pruned, err)
	}
	later := func() time.Time { return time.Now().Add(DefaultStaleAfter + time.Hour) }
	pruned, err := Retention{Now: later}.Prune(ctx, r, dir)
	if err != nil || !slices.Equal(pruned, []string{infos[0].ID}) {
		t.Errorf("Prune when stale = %v, %v: want the temp dir removed", pruned, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("backups dir still holds %v", entries)
	}
}

// noBackupLeft fails unless dir holds no backup at all (complete or temp).
func noBackupLeft(t *testing.T, dir string) {
	t.Helper()
	infos, err := List(context.Background(), host.NewLocal(), dir)
	if err != nil || len(infos) != 0 {
		t.Errorf("List = %+v, %v: want nothing left behind", infos, err)
	}
}

func TestDatabaseUnreachable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "backups")
	plan := &Plan{Options: Options{Dir: dir, Version: "v1"}, Runner: host.NewLocal(),
		Sources: []Source{&Release{}, &Postgres{DSN: "postgres://blueshift:s3cret-pw@127.0.0.1:1/shop?sslmode=disable"}}}
	_, err := plan.Create(ctx)
	t.Logf("unreachable: %v", err)
	if err == nil || !strings.Contains(err.Error(), "pg_dump on the host for postgres://blueshift@127.0.0.1:1/shop") || !strings.Contains(err.Error(), "connection") {
		t.Errorf("Create = %v: want pg_dump's connection error naming the database", err)
	}
	if err != nil && strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error reveals the password: %v", err)
	}
	noBackupLeft(t, dir)
	if _, _, err := plan.Preflight(ctx, 0.1); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Preflight = %v: want an error without the password", err)
	}
	if _, _, err := splitDSN("host=x password=s3cret"); !errors.Is(err, ErrBadDSN) || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("splitDSN(keyword form) = %v", err)
	}
}

// TestPgDumpFailsMidway uses a pg_dump that writes part of a dump and
// fails: the error carries its stderr and nothing claims completeness.
func TestPgDumpFailsMidway(t *testing.T) {
	t.Parallel()
	bin := t.TempDir()
	writeScript(t, bin, "pg_dump", `for a; do case "$a" in --file=*) out=${a#--file=} ;; esac; done
head -c 5000 /dev/urandom >"$out"
echo 'pg_dump: error: Dumping the contents of table "items" failed: server closed the connection unexpectedly' >&2
exit 1
`)
	dir := filepath.Join(t.TempDir(), "backups")
	plan := &Plan{Options: Options{Dir: dir, Version: "v1"}, Runner: &fakeBinRunner{local: host.NewLocal(), dir: bin},
		Sources: []Source{&Release{}, &Postgres{DSN: "postgres://u:pw@127.0.0.1/db"}}}
	_, err := plan.Create(context.Background())
	t.Logf("midway: %v", err)
	var ee *host.ExitError
	if !errors.As(err, &ee) || ee.Code != 1 || !strings.Contains(err.Error(), "server closed the connection") || !strings.Contains(err.Error(), "source database") {
		t.Errorf("Create = %v: want pg_dump's exit error with its stderr", err)
	}
	if ee != nil && slices.ContainsFunc(ee.Argv, func(a string) bool { return strings.Contains(a, ":pw@") }) {
		t.Errorf("argv holds the password: %q", ee.Argv)
	}
	noBackupLeft(t, dir)
}

// TestDiskTooSmall backs up into a 2 MiB tmpfs: Preflight refuses with
// the numbers, and a forced Create fails cleanly.
func TestDiskTooSmall(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := testDB(t)
	fillRandom(t, dsn, 4) // 4 MiB of random bytes
	small := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(small, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", small).CombinedOutput()
	if err != nil {
		err = fmt.Errorf("%w: %s", err, out)
	}
	hosttest.Require(t, "tmpfs mount (root)", err)
	t.Cleanup(func() { _ = exec.Command("umount", small).Run() })

	dir := filepath.Join(small, "backups")
	plan := &Plan{Options: Options{Dir: dir, Version: "v1"}, Runner: host.NewLocal(), Sources: []Source{&Postgres{DSN: dsn}}}
	est, free, err := plan.Preflight(ctx, 0.1)
	var se *SpaceError
	if !errors.Is(err, ErrInsufficientSpace) || !errors.As(err, &se) || se.Free != free || se.Free > 2<<20 || est < 4<<20 {
		t.Errorf("Preflight = %d, %d, %v: want ErrInsufficientSpace with the numbers", est, free, err)
	}
	t.Logf("preflight: %v", err)
	_, err = plan.Create(ctx)
	t.Logf("no space: %v", err)
	if err == nil || !strings.Contains(err.Error(), "No space left on device") {
		t.Errorf("Create = %v: want pg_dump's no-space error", err)
	}
	noBackupLeft(t, dir)
}

func TestVerifyDetectsDamage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := host.NewLocal()
	app := t.TempDir()
	media := filepath.Join(app, "media")
	if err := os.MkdirAll(filepath.Join(media, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	dsn := testDB(t)
	seedDB(t, dsn, 5, 100)
	plan := &Plan{Options: Options{AppDir: app, Version: "v1"}, Runner: r, Sources: []Source{&Postgres{DSN: dsn}, &Media{Path: media}}}
	res, err := plan.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// A flipped byte: the checksum says so.
	archive := filepath.Join(res.Path, "media.tar.gz")
	data, _ := os.ReadFile(archive)
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(archive, data, 0o600); err != nil {
		t.Fatal(err)
	}
	err = Verify(ctx, r, res.Path)
	var ce *ChecksumError
	if !errors.Is(err, ErrChecksum) || !errors.As(err, &ce) || ce.Path != "media.tar.gz" {
		t.Errorf("Verify(flipped byte) = %v, want a ChecksumError for media.tar.gz", err)
	}

	// A dump that is not a dump but matches a rewritten manifest:
	// pg_restore --list says so.
	garbage := []byte("not a custom-format archive")
	if err := os.WriteFile(filepath.Join(res.Path, "database.dump"), garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	m := res.Manifest
	sum := sha256.Sum256(garbage)
	m.Artifacts[0].SHA256, m.Artifacts[0].Size = hex.EncodeToString(sum[:]), int64(len(garbage))
	m.Artifacts = m.Artifacts[:1]
	enc, _ := json.Marshal(m)
	if err := os.WriteFile(filepath.Join(res.Path, ManifestFile), enc, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Verify(ctx, r, res.Path); err == nil || !strings.Contains(err.Error(), "database.dump is not readable as postgres-custom") {
		t.Errorf("Verify(garbage dump) = %v", err)
	}

	// No manifest: incomplete, never verified, never restored.
	if err := os.Remove(filepath.Join(res.Path, ManifestFile)); err != nil {
		t.Fatal(err)
	}
	if err := Verify(ctx, r, res.Path); !errors.Is(err, ErrIncomplete) {
		t.Errorf("Verify(no manifest) = %v, want ErrIncomplete", err)
	}
	if _, err := plan.Restore(ctx, RestoreOptions{ID: res.ID, Confirm: true}); !errors.Is(err, ErrIncomplete) {
		t.Errorf("Restore(no manifest) = %v, want ErrIncomplete", err)
	}
	infos, _ := List(ctx, r, plan.BackupsDir())
	if len(infos) != 1 || infos[0].Complete || infos[0].Temp {
		t.Errorf("List = %+v: want one incomplete, non-temp backup", infos)
	}
}

func TestListAndPrune(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := host.NewLocal()
	dir := filepath.Join(t.TempDir(), "backups")
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 5 {
		now := base.Add(time.Duration(i) * time.Hour)
		plan := &Plan{Options: Options{Dir: dir, Version: fmt.Sprintf("v1.0.%d", i), Now: func() time.Time { return now }},
			Runner: r, Sources: []Source{&Release{Info: ReleaseInfo{Version: "x"}}}}
		res, err := plan.Create(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.ID)
	}
	if ids[0] != "pre-deploy-v1.0.0-20260101_000000" {
		t.Errorf("first ID %s", ids[0])
	}
	// Same second, same version: refused, the existing backup is kept.
	plan := &Plan{Options: Options{Dir: dir, Version: "v1.0.4", Now: func() time.Time { return base.Add(4 * time.Hour) }}, Runner: r}
	if _, err := plan.Create(ctx); !errors.Is(err, ErrExists) {
		t.Errorf("Create twice = %v, want ErrExists", err)
	}
	stale := filepath.Join(dir, ".tmp-pre-deploy-v0-20250101_000000")
	if err := os.Mkdir(stale, 0o700); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "not-a-backup"), 0o700); err != nil {
		t.Fatal(err)
	}

	infos, err := List(ctx, r, dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, in := range infos {
		got = append(got, in.ID)
	}
	want := []string{ids[4], ids[3], ids[2], ids[1], ids[0], ".tmp-pre-deploy-v0-20250101_000000"}
	if !slices.Equal(got, want) {
		t.Errorf("List IDs = %q, want newest first %q", got, want)
	}

	pruned, err := Prune(ctx, r, dir, 2, []string{ids[0]})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{ids[2], ids[1], ".tmp-pre-deploy-v0-20250101_000000"}; !slices.Equal(pruned, want) {
		t.Errorf("Prune = %q, want %q", pruned, want)
	}
	if got := completeBackups(t, r, dir); !slices.Equal(got, []string{ids[4], ids[3], ids[0]}) {
		t.Errorf("left %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "not-a-backup")); err != nil {
		t.Errorf("Prune touched a directory it does not own: %v", err)
	}
	if infos, err := List(ctx, r, filepath.Join(dir, "missing")); err != nil || infos != nil {
		t.Errorf("List(missing dir) = %v, %v", infos, err)
	}
}
