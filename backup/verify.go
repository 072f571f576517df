package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// ErrChecksum is returned by Verify when an artifact's size or SHA-256 no
// longer matches its manifest.
var ErrChecksum = errors.New("artifact does not match its manifest")

// ChecksumError names the artifact that failed.
type ChecksumError struct {
	Backup, Path      string
	WantSHA, GotSHA   string
	WantSize, GotSize int64
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("backup %s: %s: sha256 %s size %d, manifest says sha256 %s size %d: the backup is damaged, use another one",
		e.Backup, e.Path, e.GotSHA, e.GotSize, e.WantSHA, e.WantSize)
}

func (e *ChecksumError) Unwrap() error { return ErrChecksum }

// Verification is what verified.json records.
type Verification struct {
	VerifiedAt  time.Time `json:"verified_at"`
	ToolVersion string    `json:"tool_version"`
}

// Verify checks the backup at dir (a backup directory, not the backups dir):
// its manifest is complete, every artifact's size and SHA-256 (computed on
// the host) match it, pg_restore --list reads each database dump and tar
// lists each archive. On success it records the time in verified.json.
func Verify(ctx context.Context, r host.Runner, dir string) error {
	m, err := ReadManifest(ctx, r, dir)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	id := path.Base(dir)
	got := make([]Artifact, len(m.Artifacts))
	copy(got, m.Artifacts)
	if err := checksum(ctx, r, dir, got); err != nil {
		return fmt.Errorf("verify %s: %w", id, err)
	}
	for i, a := range m.Artifacts {
		if a.SHA256 != got[i].SHA256 || a.Size != got[i].Size {
			return &ChecksumError{Backup: id, Path: a.Path, WantSHA: a.SHA256, GotSHA: got[i].SHA256, WantSize: a.Size, GotSize: got[i].Size}
		}
	}
	for _, a := range m.Artifacts {
		file := path.Join(dir, a.Path)
		var argv []string
		switch a.Kind {
		case KindPostgres:
			argv = listArgv(a.Container, file)
		case KindTarGz:
			argv = tarListArgv(file)
		default:
			continue
		}
		if err := r.Run(ctx, host.Cmd{Argv: argv}); err != nil {
			return fmt.Errorf("verify %s: %s is not readable as %s: %w", id, a.Path, a.Kind, err)
		}
	}
	data, err := json.Marshal(Verification{VerifiedAt: time.Now().UTC(), ToolVersion: ToolVersion()})
	if err != nil {
		return fmt.Errorf("verify %s: %w", id, err)
	}
	if err := writeJSON(ctx, r, path.Join(dir, VerifiedFile), append(data, '\n')); err != nil {
		return fmt.Errorf("verify %s: record result: %w", id, err)
	}
	return nil
}
