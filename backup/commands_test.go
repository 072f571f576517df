package backup

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// TestPostgresCommands pins the pg_dump / pg_restore / psql command lines.
func TestPostgresCommands(t *testing.T) {
	t.Parallel()
	hostT, err := (&Postgres{DSN: "postgres://app:pa%40ss@db.internal:5433/shop?sslmode=require&password=also"}).target()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(hostT.env, []string{"PGPASSWORD=also"}) {
		t.Errorf("env = %q", hostT.env)
	}
	dsn := "--dbname=postgres://app@db.internal:5433/shop?sslmode=require"
	ctr, err := (&Postgres{Container: "shop-db-1", Password: "x"}).target()
	if err != nil {
		t.Fatal(err)
	}
	noPw, _ := (&Postgres{Container: "db", User: "app", Database: "shop"}).target()
	cases := []struct {
		name      string
		got, want []string
	}{
		{"host dump", hostT.dumpArgv("/b/database.dump"), []string{"pg_dump", "--format=custom", "--file=/b/database.dump", "--no-password", dsn}},
		{"host restore", hostT.restoreArgv("/b/database.dump"), []string{"pg_restore", "--clean", "--if-exists", "--single-transaction", "--exit-on-error", "--no-password", dsn, "/b/database.dump"}},
		{"host size", hostT.sizeArgv(), []string{"psql", "--no-psqlrc", "--tuples-only", "--no-align", "--quiet", "--command=SELECT pg_database_size(current_database())", "--no-password", dsn}},
		{"host version", hostT.versionArgv(), []string{"pg_dump", "--version"}},
		{"container dump", ctr.dumpArgv("/b/database.dump"), []string{"sh", "-c", `out=$1; shift; exec "$@" >"$out"`, "sh", "/b/database.dump",
			"docker", "exec", "-e", "PGPASSWORD", "shop-db-1", "pg_dump", "--format=custom", "--no-password", "--username=postgres", "--dbname=postgres"}},
		{"container dump, no password", noPw.dumpArgv("/b/d"), []string{"sh", "-c", `out=$1; shift; exec "$@" >"$out"`, "sh", "/b/d",
			"docker", "exec", "db", "pg_dump", "--format=custom", "--no-password", "--username=app", "--dbname=shop"}},
		{"container restore", noPw.restoreArgv("/b/d"), []string{"sh", "-c", `in=$1; shift; exec "$@" <"$in"`, "sh", "/b/d",
			"docker", "exec", "-i", "db", "pg_restore", "--clean", "--if-exists", "--single-transaction", "--exit-on-error", "--no-password", "--username=app", "--dbname=shop"}},
		{"container version", noPw.versionArgv(), []string{"docker", "exec", "db", "pg_dump", "--version"}},
		{"list on host", listArgv("", "/b/d"), []string{"pg_restore", "--list", "--", "/b/d"}},
		{"list in container", listArgv("db", "/b/d"), []string{"sh", "-c", `in=$1; shift; exec "$@" <"$in"`, "sh", "/b/d", "docker", "exec", "-i", "db", "pg_restore", "--list"}},
		{"sync", syncArgv("/b/t", []Artifact{{Path: "database.dump"}, {Path: "compose/a.yml"}, {Path: "compose/b.yml"}}),
			[]string{"sync", "--", "database.dump", "compose/a.yml", "compose", "compose/b.yml", "manifest.json", "/b/t"}},
		// The manifest and the inline files written from stdin in the
		// finish step (the manifest its own command on 1c088c8, each
		// inline file one until now).
		{"finish", finishArgv("/b/.tmp-x", "/b/x", "/b", []string{"sync", "--", "manifest.json", "/b/.tmp-x"}),
			[]string{"sh", "-c", finishScript, "sh", "/b/.tmp-x", "/b/x", "/b", "sync", "--", "manifest.json", "/b/.tmp-x"}},
		// Checksums and sizes in one command (two on 1c088c8).
		{"checksum", checksumArgv([]string{"a.dump", "compose/x.yml"}), []string{"sh", "-c", checksumScript, "sh", "a.dump", "compose/x.yml"}},
		// Both tools in one command (two on 5078919).
		{"media tools", mediaToolsArgv(true), []string{"sh", "-c", mediaToolsScript, "sh", "docker"}},
		// Tools, mountpoint, readability and size in one command (five on 1c088c8).
		{"media probe, volume", mediaProbeArgv("app_media", ""), []string{"sh", "-c", mediaProbeScript, "sh", "volume", "app_media"}},
		{"media probe, path", mediaProbeArgv("", "/srv/media"), []string{"sh", "-c", mediaProbeScript, "sh", "path", "/srv/media"}},
		// Containers, images and the compose copies in one command (a
		// docker ps per filter, two inspects, a write and a copy until now).
		{"docker state", dockerStateArgv("/b/t/compose", []string{"label=a"}, []string{"/srv/a.yml", "/srv/b.yml"}),
			[]string{"sh", "-c", dockerStateScript, "sh", "/b/t/compose", "1", "label=a", "/srv/a.yml", "/srv/b.yml"}},
		{"list backups", listBackupsArgv("/b"), []string{"sh", "-c", listScript, "sh", "/b"}},
	}
	for _, c := range cases {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s:\n got %q\nwant %q", c.name, c.got, c.want)
		}
	}
	for _, bad := range []Postgres{{}, {DSN: "x", Container: "y"}, {DSN: "mysql://a@b/c"}} {
		if _, err := bad.target(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if (&Postgres{Artifact: "analytics"}).file() != "analytics.dump" {
		t.Error("Artifact does not name the file")
	}
}

// TestSecretsStayOutOfArgv runs a command whose environment holds a value
// full of shell metacharacters: it arrives intact and appears in no argv.
func TestSecretsStayOutOfArgv(t *testing.T) {
	t.Parallel()
	const secret = `it's "$HOME" $(reboot) ` + "`x`\\ \n;|&"
	rec := &recordingRunner{Runner: host.NewLocal()}
	dir := t.TempDir()
	c := &Command{Artifact: "env", Argv: []string{"printenv", "SECRET"}, Env: []string{"SECRET=" + secret}}
	arts, err := c.Backup(context.Background(), rec, dir)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, arts[0].Path))
	if string(got) != secret+"\n" {
		t.Errorf("command saw %q, want %q", got, secret)
	}
	for _, cmd := range rec.cmds {
		for _, a := range append(cmd.Argv, cmd.Env...) {
			if strings.Contains(a, "reboot") {
				t.Errorf("secret in argv or env: %q", cmd.Argv)
			}
		}
	}
	if entries, _ := filepath.Glob(filepath.Join(os.TempDir(), "tmp.*")); len(entries) > 0 {
		for _, e := range entries {
			if data, _ := os.ReadFile(e); strings.Contains(string(data), "reboot") {
				t.Errorf("credentials file %s left behind", e)
			}
		}
	}
	failing := &Command{Artifact: "f", Argv: []string{"sh", "-c", "exit 7"}, Env: []string{"SECRET=" + secret}}
	_, err = failing.Backup(context.Background(), rec, dir)
	var ee *host.ExitError
	if !errors.As(err, &ee) || ee.Code != 7 || strings.Contains(err.Error(), "reboot") || !strings.Contains(err.Error(), "sh -c exit 7") {
		t.Errorf("failing command = %v: want exit 7 naming the command, not the secret", err)
	}
	if _, err := secretEnvInput([]string{"BAD NAME=x"}); err == nil {
		t.Error("bad env name accepted")
	}
}

const inspectJSON = `[{"Id":"aaa","Name":"/shop-blue-web-1","Image":"sha256:img1",
 "Config":{"Image":"ghcr.io/acme/shop:v1.0.0","Labels":{"blueshift.colour":"blue","com.docker.compose.project":"shop-blue","com.docker.compose.service":"web"}},
 "State":{"Status":"running","StartedAt":"2026-11-25T10:00:00Z","Health":{"Status":"healthy"}}},
 {"Id":"bbb","Name":"/shop-db-1","Image":"sha256:img2",
 "Config":{"Image":"postgres:15","Labels":{"com.docker.compose.project":"shop"}},
 "State":{"Status":"running","StartedAt":"2026-11-20T10:00:00Z"}}]`

const imagesJSON = `[{"Id":"sha256:img1","RepoDigests":["ghcr.io/acme/shop@sha256:d1"]},{"Id":"sha256:img2","RepoDigests":[]}]`

// TestDockerState runs DockerState's one command under sh with a fake
// docker: the containers matching either filter, inspected once, their
// images, the snapshot it returns and the files Backup writes. Before, it
// was five commands (a docker ps per filter, two inspects, the snapshot's
// write and the compose copy), each a session over SSH.
func TestDockerState(t *testing.T) {
	t.Parallel()
	bin := t.TempDir()
	log := filepath.Join(bin, "log")
	if err := os.WriteFile(filepath.Join(bin, "containers.json"), []byte(inspectJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "images.json"), []byte(imagesJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	writeScript(t, bin, "docker", `echo "$*" >>`+log+`
case "$*" in
"ps --quiet --no-trunc --filter label=com.docker.compose.project=shop-blue") echo aaa ;;
"ps --quiet --no-trunc --filter label=com.docker.compose.project=shop") printf 'bbb\naaa\n' ;;
"container inspect -- aaa bbb") cat `+bin+`/containers.json ;;
"container inspect --format {{.Image}} -- aaa bbb") printf 'sha256:img2\nsha256:img1\nsha256:img1\n' ;;
"image inspect -- sha256:img1 sha256:img2") cat `+bin+`/images.json ;;
*) exit 9 ;;
esac`)
	r := &recordingRunner{Runner: &fakeBinRunner{local: host.NewLocal(), dir: bin}}
	d := &DockerState{Filters: []string{"label=com.docker.compose.project=shop-blue", "label=com.docker.compose.project=shop"}}
	snap, err := d.Snapshot(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.argvs(); len(got) != 1 {
		t.Errorf("Snapshot ran %d commands, want 1: %q", len(got), got)
	}
	got, _ := json.Marshal(snap.Containers)
	want := `[{"id":"aaa","name":"shop-blue-web-1","image":"ghcr.io/acme/shop:v1.0.0","image_id":"sha256:img1","digests":["ghcr.io/acme/shop@sha256:d1"],"colour":"blue","compose_project":"shop-blue","compose_service":"web","state":"running","health":"healthy","started_at":"2026-11-25T10:00:00Z"},` +
		`{"id":"bbb","name":"shop-db-1","image":"postgres:15","image_id":"sha256:img2","compose_project":"shop","state":"running","started_at":"2026-11-20T10:00:00Z"}]`
	if string(got) != want {
		t.Errorf("snapshot\n got %s\nwant %s", got, want)
	}

	// Backup writes the snapshot and copies compose files, on a real host.
	app := t.TempDir()
	compose := filepath.Join(app, "docker-compose.blue.yml")
	if err := os.WriteFile(compose, []byte("services:\n  web: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A colour never rendered has no file: the copy skips it in the same
	// command (on 5078919 the caller asked the host with a `test -e` per
	// colour, and the copy was a mkdir plus a cp per file).
	d.ComposeFiles = []string{compose, filepath.Join(app, "docker-compose.green.yml")}
	out := t.TempDir()
	arts, err := d.Backup(context.Background(), r, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(arts) != 2 || arts[0].Path != "docker-state.json" || arts[1].Path != "compose/docker-compose.blue.yml" {
		t.Errorf("artifacts %+v", arts)
	}
	if data, _ := os.ReadFile(filepath.Join(out, "compose", "docker-compose.blue.yml")); string(data) != "services:\n  web: {}\n" {
		t.Errorf("compose copy = %q", data)
	}
	var written Snapshot
	data, _ := os.ReadFile(filepath.Join(out, "docker-state.json"))
	if err := json.Unmarshal(data, &written); err != nil || len(written.Containers) != 2 {
		t.Errorf("docker-state.json = %s, %v", data, err)
	}
	if _, err := (&DockerState{}).Snapshot(context.Background(), r); err == nil {
		t.Error("DockerState without filters accepted")
	}
	writeScript(t, bin, "docker", "exit 1")
	if _, err := d.Snapshot(context.Background(), r); err == nil || !strings.Contains(err.Error(), "list containers") {
		t.Errorf("Snapshot with docker ps failing = %v, want it named", err)
	}
}

func TestCheckSpace(t *testing.T) {
	t.Parallel()
	if err := CheckSpace(1000, 800, 0.2); err != nil {
		t.Errorf("960 of 1000: %v", err)
	}
	err := CheckSpace(1000, 900, 0.2)
	var se *SpaceError
	if !errors.As(err, &se) || se.Need != 1080 || se.Free != 1000 || !errors.Is(err, ErrInsufficientSpace) {
		t.Errorf("CheckSpace = %v", err)
	}
	if got := humanBytes(3 << 30); got != "3.0 GiB" {
		t.Errorf("humanBytes = %s", got)
	}
}

func TestPlanValidation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, p := range map[string]*Plan{
		"relative dir":   {Options: Options{AppDir: "srv/app"}, Runner: host.NewLocal()},
		"no runner":      {Options: Options{AppDir: "/srv/app"}},
		"bad version":    {Options: Options{AppDir: "/srv/app", Version: "../v1"}, Runner: host.NewLocal()},
		"duplicate name": {Options: Options{AppDir: "/srv/app"}, Runner: host.NewLocal(), Sources: []Source{&Release{}, &Release{}}},
	} {
		if _, err := p.Create(ctx); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if got := BackupID(PrefixPreDeploy, "", testTime); got != "pre-deploy-unknown-20261125_180000" {
		t.Errorf("BackupID = %s", got)
	}
}

// TestOddAppPath backs up into an app directory whose path a shell would
// mangle if anything were quoted into a script.
func TestOddAppPath(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	app := filepath.Join(t.TempDir(), `-odd dir 'q' "d" $HOME *`)
	media := filepath.Join(app, "média files")
	if err := os.MkdirAll(media, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(media, "a b"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	plan := &Plan{Options: Options{AppDir: app, Version: "v1"}, Runner: host.NewLocal(), Sources: []Source{
		&Media{Path: media}, &Release{},
		&Command{Artifact: "cmd", Argv: []string{"echo", "hello"}, Env: []string{"A=1"}},
	}}
	res, err := plan.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(ctx, plan.Runner, res.Path); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(res.Path, "cmd.out")); string(data) != "hello\n" {
		t.Errorf("cmd.out = %q", data)
	}
	if err := os.WriteFile(filepath.Join(media, "a b"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := plan.Restore(ctx, RestoreOptions{ID: res.ID, Confirm: true}); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(media, "a b")); string(data) != "x" {
		t.Errorf("after restore %q", data)
	}
}
