package backup

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
)

// TestVolumeRoundTrip backs up a real Docker volume through its mountpoint
// and restores it in place.
func TestVolumeRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hosttest.Require(t, "Docker Engine", exec.Command("docker", "version").Run())
	vol := "bs-backup-test-" + randHex(4)
	if out, err := exec.Command("docker", "volume", "create", vol).CombinedOutput(); err != nil {
		t.Fatalf("docker volume create: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "volume", "rm", "-f", vol).Run() })
	out, err := exec.Command("docker", "volume", "inspect", "--format", "{{.Mountpoint}}", vol).Output()
	if err != nil {
		t.Fatal(err)
	}
	mp := strings.TrimSpace(string(out))
	makeMedia(t, mp)
	want := treeOf(t, mp)

	m := &Media{Artifact: "uploads", Volume: vol}
	plan := &Plan{Options: Options{AppDir: t.TempDir(), Version: "v3"}, Runner: host.NewLocal(), Sources: []Source{m}}
	if err := plan.CheckTools(ctx); err != nil {
		t.Fatalf("CheckTools: %v", err)
	}
	if n, _, err := plan.Estimate(ctx); err != nil || n < 110000 {
		t.Errorf("Estimate = %d, %v: want du -sb of the volume", n, err)
	}
	res, err := plan.Create(ctx)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if res.Manifest.Artifacts[0].Path != "uploads.tar.gz" {
		t.Errorf("artifacts %+v", res.Manifest.Artifacts)
	}
	mutateMedia(t, mp)
	if _, err := plan.Restore(ctx, RestoreOptions{ID: res.ID, Confirm: true}); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if got := treeOf(t, mp); !slices.Equal(got, want) {
		t.Errorf("volume after restore differs:\n got %q\nwant %q", got, want)
	}

	missing := &Media{Volume: "bs-no-such-volume-" + randHex(4)}
	if _, err := missing.Backup(ctx, host.NewLocal(), t.TempDir()); err == nil || !strings.Contains(err.Error(), "does it exist?") {
		t.Errorf("Backup of a missing volume = %v", err)
	}
}

// TestVolumeFallbackCommands runs the volume backup's one command (under
// sh, with a fake docker) where the mountpoint is not readable: it archives
// through tar inside a container that mounts the volume; and pins the
// restore's commands. Before, the backup was five commands (volume inspect,
// test -r, docker ps, container inspect, tar), each a session over SSH.
func TestVolumeFallbackCommands(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bin, dir := t.TempDir(), t.TempDir()
	log := filepath.Join(bin, "log")
	writeScript(t, bin, "docker", `echo "$*" >>`+log+`
case "$1 $2" in
"volume inspect") echo /nonexistent/media/_data ;;
"ps --quiet") [ -e `+bin+`/none ] || printf 'c0ffee\nbeef\n' ;;
"container inspect") echo /app/media ;;
"exec c0ffee") echo archive ;;
esac`)
	r := &recordingRunner{Runner: &fakeBinRunner{local: host.NewLocal(), dir: bin}}
	m := &Media{Volume: "media"}
	if _, err := m.Backup(ctx, r, dir); err != nil {
		t.Fatal(err)
	}
	if got := r.argvs(); len(got) != 1 || !slices.Equal(got[0], mediaBackupArgv("media", filepath.Join(dir, "media.tar.gz"))) {
		t.Errorf("Backup ran %q, want one command", got)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "media.tar.gz")); err != nil || string(data) != "archive\n" {
		t.Errorf("archive = %q, %v: want the container's tar output", data, err)
	}
	calls, _ := os.ReadFile(log)
	if want := "volume inspect --format {{.Mountpoint}} -- media\nps --quiet --filter volume=media\n" +
		"container inspect --format {{range .Mounts}}{{if eq .Name \"media\"}}{{.Destination}}{{end}}{{end}} -- c0ffee\n" +
		"exec c0ffee tar -czf - -C /app/media .\n"; string(calls) != want {
		t.Errorf("docker calls:\n%s\nwant:\n%s", calls, want)
	}
	writeScript(t, bin, "none", "")
	if _, err := m.Backup(ctx, r, dir); !errors.Is(err, ErrNoContainer) {
		t.Errorf("Backup with no container = %v, want ErrNoContainer", err)
	}

	sr := &scriptRunner{answer: func(argv []string) (string, error) {
		switch {
		case argv[0] == "docker" && argv[1] == "volume":
			return "/var/lib/docker/volumes/media/_data\n", nil
		case argv[0] == "test":
			return "", &host.ExitError{Host: "fake", Argv: argv, Code: 1}
		case argv[0] == "docker" && argv[1] == "ps":
			return "c0ffee\nbeef\n", nil
		case argv[0] == "docker" && argv[1] == "container":
			return "/app/media\n", nil
		}
		return "", nil
	}}
	if err := m.Restore(ctx, sr, "/srv/app/backups/x", []Artifact{{Path: "media.tar.gz", Kind: KindTarGz}}); err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"docker", "volume", "inspect", "--format", "{{.Mountpoint}}", "--", "media"},
		{"test", "-r", "/var/lib/docker/volumes/media/_data", "-a", "-x", "/var/lib/docker/volumes/media/_data"},
		{"docker", "ps", "--quiet", "--filter", "volume=media"},
		{"docker", "container", "inspect", "--format", `{{range .Mounts}}{{if eq .Name "media"}}{{.Destination}}{{end}}{{end}}`, "--", "c0ffee"},
		{"docker", "exec", "c0ffee", "find", "/app/media", "-mindepth", "1", "-delete"},
		{"sh", "-c", `in=$1; shift; exec "$@" <"$in"`, "sh", "/srv/app/backups/x/media.tar.gz", "docker", "exec", "-i", "c0ffee", "tar", "-xzpf", "-", "-C", "/app/media"},
	}
	if !slices.EqualFunc(sr.cmds, want, slices.Equal) {
		t.Errorf("restore commands:\n got %q\nwant %q", sr.cmds, want)
	}
}

// TestMediaCommands pins tar and the restore sequence.
func TestMediaCommands(t *testing.T) {
	t.Parallel()
	if got, want := tarCreateArgv("/srv/app/media", "/b/media.tar.gz"), []string{"tar", "--create", "--gzip", "--numeric-owner", "--file=/b/media.tar.gz", "--directory=/srv/app/media", "."}; !slices.Equal(got, want) {
		t.Errorf("tarCreateArgv = %q, want %q", got, want)
	}
	got := restoreSteps("/b/media.tar.gz", "/srv/app/media", "/srv/app/.blueshift-restore-1")
	want := [][]string{
		{"tar", "--extract", "--gzip", "--numeric-owner", "--same-owner", "--preserve-permissions", "--file=/b/media.tar.gz", "--directory=/srv/app/.blueshift-restore-1"},
		{"find", "/srv/app/media", "-mindepth", "1", "-delete"},
		{"find", "/srv/app/.blueshift-restore-1", "-mindepth", "1", "-maxdepth", "1", "-exec", "mv", "-t", "/srv/app/media", "--", "{}", "+"},
		{"chmod", "--reference=/srv/app/.blueshift-restore-1", "--", "/srv/app/media"},
		{"rmdir", "--", "/srv/app/.blueshift-restore-1"},
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("restoreSteps = %q\nwant %q", got, want)
	}
	if err := (&Media{Path: "/a", Volume: "b"}).check(); err == nil {
		t.Error("Media with Path and Volume accepted")
	}
}

// TestMediaPreflightOneCommand: on 1c088c8 a deployment's preflight asked a
// media source's tools, its volume's mountpoint, whether that was readable
// and its size in four remote commands (five before); Plan.Preflight now
// asks them in one (Media.Probe), and still names what failed.
func TestMediaPreflightOneCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	media := filepath.Join(dir, "media")
	if err := os.MkdirAll(media, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(media, "a.bin"), make([]byte, 5000), 0o644); err != nil {
		t.Fatal(err)
	}
	counted := host.NewCounting(host.NewLocal())
	n, toolErr, err := (&Media{Path: media}).Probe(context.Background(), counted)
	if toolErr != nil || err != nil || n < 5000 {
		t.Fatalf("probe: %d bytes, tools %v, err %v", n, toolErr, err)
	}
	if got := counted.Stats().Commands; got != 1 {
		t.Errorf("%d remote commands, want 1", got)
	}
	_, toolErr, err = (&Media{Path: filepath.Join(dir, "missing")}).Probe(context.Background(), host.NewLocal())
	if toolErr != nil || err == nil || !strings.Contains(err.Error(), "estimate size of "+filepath.Join(dir, "missing")+": du:") {
		t.Errorf("missing path: tools %v, err %v", toolErr, err)
	}
}
