package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
)

// makeMedia fills dir with files whose names and modes are awkward.
func makeMedia(t testing.TB, dir string) {
	t.Helper()
	files := map[string]struct {
		data string
		mode os.FileMode
	}{
		"with space.jpg":         {"jpeg\x00bytes", 0o644},
		"new\nline.txt":          {"newline in name", 0o600},
		"ünïcødé/日本.png":         {strings.Repeat("\xff\x00", 5000), 0o640},
		"-leading-dash":          {"dash", 0o755},
		"--help":                 {"not an option", 0o644},
		"deep/a/b/c/empty":       {"", 0o400},
		"quote'and\"double.txt":  {"q", 0o664},
		"star*and?question[1]":   {"glob", 0o644},
		".hidden":                {"hidden", 0o644},
		"uploads/2026/11/x.bin":  {strings.Repeat("x", 100000), 0o644},
		"uploads/2026/11/ro.txt": {"read only", 0o444},
	}
	for name, f := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.data), f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "private dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("with space.jpg", filepath.Join(dir, "link to photo")); err != nil {
		t.Fatal(err)
	}
}

// treeOf describes every entry under dir: path, mode, content hash or link.
func treeOf(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		desc := fmt.Sprintf("%q %v", rel, fi.Mode())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			desc += " -> " + target
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			desc += " " + hex.EncodeToString(sum[:])
		}
		out = append(out, desc)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mutateMedia(t testing.TB, dir string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "with space.jpg"), []byte("overwritten"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "-leading-dash")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "new\nline.txt"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "added after backup"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRoundTripHost backs up a real database (pg_dump on the host with a
// DSN) and a media directory, changes both, restores, and compares
// row-for-row and byte-for-byte; locally and over SSH to a real sshd.
func TestRoundTripHost(t *testing.T) {
	t.Parallel()
	t.Run("local", func(t *testing.T) {
		t.Parallel()
		roundTrip(t, host.NewLocal())
	})
	t.Run("ssh", func(t *testing.T) {
		t.Parallel()
		roundTrip(t, hosttest.NewSSHHost(t))
	})
}

func roundTrip(t *testing.T, h host.Runner) {
	ctx := context.Background()
	dsn := testDB(t)
	seedDB(t, dsn, 50, 2000)
	app := t.TempDir()
	media := filepath.Join(app, "media")
	if err := os.Mkdir(media, 0o755); err != nil {
		t.Fatal(err)
	}
	makeMedia(t, media)
	composeFile := filepath.Join(app, "docker-compose.green.yml")
	if err := os.WriteFile(composeFile, []byte("services: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantDB, wantMedia := snapshotDB(t, dsn), treeOf(t, media)

	cleanDSN, pw, err := splitDSN(dsn)
	if err != nil || pw == "" || strings.Contains(cleanDSN, ":"+pw+"@") {
		t.Fatalf("splitDSN(%s) = %s, %q, %v", dsn, cleanDSN, pw, err)
	}
	rec := &recordingRunner{Runner: h}
	var events []Event
	now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	plan := &Plan{
		Options: Options{AppDir: app, App: "shop", Version: "v1.0.1", Now: func() time.Time { return now },
			Progress: func(e Event) { events = append(events, e) }},
		Runner: rec,
		Sources: []Source{
			&Postgres{DSN: dsn},
			&Media{Path: media},
			&Release{Info: ReleaseInfo{Version: "v1.0.0", Commit: "abc123", Colour: "blue"}},
			&Command{Artifact: "appdump", File: "app.json", Env: []string{"PGPASSWORD=" + pw}, Argv: []string{"psql", "--no-psqlrc", "-XAt", "-d", cleanDSN, "-c", "SELECT json_agg(name) FROM items WHERE id < 4"}},
		},
	}
	est, free, err := plan.Preflight(ctx, 0.2)
	if err != nil {
		t.Fatalf("Preflight: %v", err)
	}
	if est < 100000 || free <= est {
		t.Errorf("Preflight estimate %d, free %d: want estimate >= 100000 and free > estimate", est, free)
	}

	res, err := plan.Create(ctx)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if want := "pre-deploy-v1.0.1-20261125_180000"; res.ID != want || res.Path != filepath.Join(app, "backups", want) {
		t.Errorf("Create = %s at %s, want %s under %s/backups", res.ID, res.Path, want, app)
	}
	var paths []string
	for _, a := range res.Manifest.Artifacts {
		paths = append(paths, a.Source+":"+a.Path+":"+string(a.Kind))
		if len(a.SHA256) != 64 || a.Size <= 0 {
			t.Errorf("artifact %s: sha256 %q size %d", a.Path, a.SHA256, a.Size)
		}
	}
	wantPaths := []string{"database:database.dump:postgres-custom", "media:media.tar.gz:tar.gz", "release:release.json:json", "appdump:app.json:file"}
	if !slices.Equal(paths, wantPaths) {
		t.Errorf("artifacts %v, want %v", paths, wantPaths)
	}
	if !res.Manifest.Complete || res.Manifest.ToolVersion == "" {
		t.Errorf("manifest %+v: want complete with tool version", res.Manifest)
	}
	if data, _ := os.ReadFile(filepath.Join(res.Path, "app.json")); !strings.Contains(string(data), "Grüße") {
		t.Errorf("app.json = %q, want the app-level dump", data)
	}
	if fi, err := os.Stat(filepath.Join(app, "backups", ".tmp-"+res.ID)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("temp dir still there: %v %v", fi, err)
	}
	if len(events) == 0 || events[len(events)-1].Step != "rename" {
		t.Errorf("progress events %v: want the last to be rename", events)
	}
	for _, c := range rec.cmds {
		for _, a := range append(c.Argv, c.Env...) {
			if strings.Contains(a, ":"+pw+"@") {
				t.Errorf("password in argv: %q", c.Argv)
			}
		}
	}

	if err := Verify(ctx, plan.Runner, res.Path); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	infos, err := List(ctx, plan.Runner, plan.BackupsDir())
	if err != nil || len(infos) != 1 || !infos[0].Complete || !infos[0].Verified || infos[0].Size < 100000 || infos[0].Version != "v1.0.1" {
		t.Fatalf("List = %+v, %v: want one complete verified backup", infos, err)
	}

	mutateDB(t, dsn)
	mutateMedia(t, media)
	if snapshotDB(t, dsn) == wantDB || slices.Equal(treeOf(t, media), wantMedia) {
		t.Fatal("mutation changed nothing")
	}

	_, err = plan.Restore(ctx, RestoreOptions{ID: res.ID})
	if !errors.Is(err, ErrNotConfirmed) || !strings.Contains(err.Error(), "BLUESHIFT_CONFIRM_RESTORE="+res.ID) {
		t.Fatalf("Restore without confirm = %v, want ErrNotConfirmed naming the env var", err)
	}
	now = now.Add(time.Minute)
	rr, err := plan.Restore(ctx, RestoreOptions{ID: res.ID, Confirm: true})
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if got := snapshotDB(t, dsn); got != wantDB {
		t.Errorf("database after restore differs:\n got %.500q\nwant %.500q", got, wantDB)
	}
	if got := treeOf(t, media); !slices.Equal(got, wantMedia) {
		t.Errorf("media after restore differs:\n got %q\nwant %q", got, wantMedia)
	}
	if !slices.Equal(rr.Restored, []string{"database", "media"}) || !strings.HasPrefix(rr.Safety.ID, "pre-restore-v1.0.1-") {
		t.Errorf("Restore = %+v: want database and media restored and a pre-restore safety backup", rr)
	}
	// The safety backup holds the mutated state.
	safetyData, err := os.ReadFile(filepath.Join(rr.Safety.Path, "app.json"))
	if err != nil || !strings.Contains(string(safetyData), "changed") {
		t.Errorf("safety backup app.json = %q, %v: want the state before the restore", safetyData, err)
	}
	if ids := completeBackups(t, plan.Runner, plan.BackupsDir()); len(ids) != 2 {
		t.Errorf("complete backups %v, want the backup and the safety backup", ids)
	}
}

// TestRestoreOnlyDatabase restores a subset and rejects unknown sources.
func TestRestoreRejects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	app := t.TempDir()
	plan := &Plan{Options: Options{AppDir: app, Version: "v1"}, Runner: host.NewLocal(),
		Sources: []Source{&Release{Info: ReleaseInfo{Version: "v0"}}}}
	res, err := plan.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plan.Restore(ctx, RestoreOptions{ID: "pre-deploy-nope-20200101_000000", Confirm: true}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Restore(missing) = %v, want ErrNotFound", err)
	}
	if _, err := plan.Restore(ctx, RestoreOptions{ID: "../etc", Confirm: true}); err == nil {
		t.Error("Restore(../etc) succeeded")
	}
	if _, err := plan.Restore(ctx, RestoreOptions{ID: res.ID, Confirm: true, Only: []string{"database"}}); err == nil || !strings.Contains(err.Error(), `no source named "database"`) {
		t.Errorf("Restore(Only unknown) = %v", err)
	}
	if _, err := plan.Restore(ctx, RestoreOptions{ID: res.ID, Confirm: true}); err == nil || !strings.Contains(err.Error(), "no source of the plan can restore") {
		t.Errorf("Restore(nothing restorable) = %v", err)
	}
}
