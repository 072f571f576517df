package host

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPreflightResourcesOneCommand: on 1c088c8 preflight asked memory and
// free disk in three to four remote commands (cat /proc/meminfo, a test -e
// per missing path up to an existing parent, df); ProbeResources is one,
// whose argv is pinned here, and run for real on the local host it finds the
// nearest existing parent of a missing directory and parses both parts.
func TestPreflightResourcesOneCommand(t *testing.T) {
	if got, want := strings.Join(resourcesArgv(ProbeOptions{DiskDir: "/srv/app/backups"}), " "), "sh -c "+resourcesScript+" sh /srv/app/backups  "; got != want {
		t.Fatalf("argv %s, want %s", got, want)
	}
	dir := t.TempDir()
	counted := NewCounting(NewLocal())
	res, err := ProbeResources(context.Background(), counted, filepath.Join(dir, "missing", "backups"))
	if err != nil {
		t.Fatal(err)
	}
	if n := counted.Stats().Commands; n != 1 {
		t.Errorf("%d commands, want 1", n)
	}
	if res.FreeAt != dir || res.FreeErr != nil || res.Free == 0 {
		t.Errorf("disk: at %q (want %q), %d free, err %v", res.FreeAt, dir, res.Free, res.FreeErr)
	}
	if res.MemoryErr != nil || res.Memory.Total == 0 || res.Memory.Available == 0 {
		t.Errorf("memory: %+v, err %v", res.Memory, res.MemoryErr)
	}
}

func TestParseResourcesFailures(t *testing.T) {
	res := parseResources("h", "/x", "disk.at=/\ndisk.err=df: /: No such file\nmem.err=cat: /proc/meminfo: Permission denied\n")
	if res.FreeErr == nil || !strings.Contains(res.FreeErr.Error(), "h: free disk at /: df: /: No such file") {
		t.Errorf("disk error: %v", res.FreeErr)
	}
	if res.MemoryErr == nil || !strings.Contains(res.MemoryErr.Error(), "h: memory: cat: /proc/meminfo: Permission denied") {
		t.Errorf("memory error: %v", res.MemoryErr)
	}
}

// TestProbeHostAccess: ProbeHost's one command tells, as the user it runs
// as, whether a directory is writable (or creatable), and gives Compose the
// file (a private copy) with `--file <copy> config --quiet`.
func TestProbeHostAccess(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "blocker")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// A stand-in Compose: succeeds when called as `--file F config --quiet`
	// with F holding the file given.
	compose := []string{"sh", "-c", `[ "$1" = --file ] && [ "$3 $4" = "config --quiet" ] && grep -q '^services:' "$2" || { echo "refused: $*" >&2; exit 1; }`, "sh"}
	counted := NewCounting(NewLocal())
	res, err := ProbeHost(context.Background(), counted, ProbeOptions{DiskDir: dir, WriteDir: filepath.Join(dir, "new", "app"),
		Compose: compose, ComposeFile: []byte("services:\n  web: {image: x}\n")})
	if err != nil {
		t.Fatal(err)
	}
	if n := counted.Stats().Commands; n != 1 {
		t.Errorf("%d commands, want 1", n)
	}
	if res.WriteErr != nil || res.WriteAt != dir || res.ComposeErr != nil || res.User == "" {
		t.Errorf("write at %q (want %q) err %v; compose err %v; user %q", res.WriteAt, dir, res.WriteErr, res.ComposeErr, res.User)
	}

	res, err = ProbeHost(context.Background(), counted, ProbeOptions{DiskDir: dir, WriteDir: filepath.Join(blocker, "app"),
		Compose: compose, ComposeFile: []byte("version: '2'\n")})
	if err != nil {
		t.Fatal(err)
	}
	if res.WriteErr == nil || !strings.Contains(res.WriteErr.Error(), "cannot write to "+blocker) {
		t.Errorf("a path under a file: write err %v", res.WriteErr)
	}
	if res.ComposeErr == nil || !strings.Contains(res.ComposeErr.Error(), "refused: --file ") {
		t.Errorf("a file Compose refuses: compose err %v", res.ComposeErr)
	}
}
