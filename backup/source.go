package backup

import (
	"context"
	"fmt"
	"path"
	"regexp"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// Kind says what an artifact is, so Verify knows how to check it beyond its
// checksum.
type Kind string

const (
	// KindPostgres is a pg_dump custom-format archive; Verify lists it with
	// pg_restore --list.
	KindPostgres Kind = "postgres-custom"
	// KindTarGz is a gzip-compressed tar archive; Verify lists it with tar.
	KindTarGz Kind = "tar.gz"
	// KindJSON is a JSON document written by blueshift.
	KindJSON Kind = "json"
	// KindFile is any other file; Verify checks only its checksum.
	KindFile Kind = "file"
)

// Artifact is one file of a backup, as recorded in its manifest.
type Artifact struct {
	// Source is the Name of the Source that wrote it.
	Source string `json:"source"`
	// Path is relative to the backup directory ("database.dump").
	Path string `json:"path"`
	Kind Kind   `json:"kind"`
	// Container, for KindPostgres, is the container whose pg_restore can
	// read the archive when the host has none; empty means the host.
	Container string `json:"container,omitempty"`
	// Size and SHA256 are computed on the host once every source is done.
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Source is one thing a backup saves.
type Source interface {
	// Name identifies the source within a backup ("database", "media");
	// it must be unique in a Plan and is also how Restore matches a
	// source to its artifacts.
	Name() string
	// Backup writes the source's artifacts into dir, a directory on the
	// host reached through r, and describes them (Size and SHA256 are
	// filled in by the Plan). Data should be produced on the host (for
	// example pg_dump --file, or a command's stdout redirected there), not
	// copied through the caller.
	Backup(ctx context.Context, r host.Runner, dir string) ([]Artifact, error)
}

// Inliner is a Source some of whose files blueshift makes itself (JSON it
// encodes). BackupInline does what Backup does but returns those files
// instead of writing them: the Plan writes them with the manifest, in the
// command that finishes the backup, where each was a command of its own
// (over SSH a session). Their artifacts are among those it returns.
type Inliner interface {
	Source
	BackupInline(ctx context.Context, r host.Runner, dir string) ([]Artifact, []File, error)
}

// File is the content of an artifact an Inliner made; Path is a plain
// file name in the backup directory.
type File struct {
	Path string
	Data []byte
}

// writeFiles writes files into dir on the host, one command each: Backup
// of an Inliner used outside a Plan.
func writeFiles(ctx context.Context, r host.Runner, dir string, files []File) error {
	for _, f := range files {
		if err := writeJSON(ctx, r, path.Join(dir, f.Path), f.Data); err != nil {
			return err
		}
	}
	return nil
}

// Restorer is a Source that can put its artifacts back.
type Restorer interface {
	Source
	// Restore replaces the live state with the artifacts (paths are under
	// dir on the host).
	Restore(ctx context.Context, r host.Runner, dir string, artifacts []Artifact) error
}

// Estimator is a Source that knows roughly how many bytes it will write;
// Plan.Preflight compares the sum with the free space.
type Estimator interface {
	Source
	Estimate(ctx context.Context, r host.Runner) (int64, error)
}

// ToolChecker is a Source that checks its programs (pg_dump, tar, docker)
// are reachable where they must run.
type ToolChecker interface {
	Source
	CheckTools(ctx context.Context, r host.Runner) error
}

// Prober is a Source that does what CheckTools and Estimate do in one
// remote command (over SSH each is a session: a round trip and a login
// shell). toolErr is CheckTools' error; err is Estimate's.
type Prober interface {
	Source
	Probe(ctx context.Context, r host.Runner) (estimate int64, toolErr, err error)
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// checkName rejects names that are unsafe as file names on the host.
func checkName(what, name string) error {
	if !namePattern.MatchString(name) || len(name) > 128 {
		return fmt.Errorf("%s %q: must start with a letter or digit and hold only letters, digits, '.', '_' and '-'", what, name)
	}
	return nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
