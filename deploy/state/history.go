package state

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// Kinds of history entries.
const (
	KindDeploy      = "deploy"
	KindRollback    = "rollback"
	KindReconcile   = "reconcile"
	KindLockRelease = "lock-release"
)

// Outcomes of a history entry.
const (
	OutcomeSucceeded   = "succeeded"
	OutcomeFailed      = "failed"      // failed before anything changed for users
	OutcomeRolledBack  = "rolled-back" // failed, and the previous version was restored
	OutcomeInterrupted = "interrupted" // the tool died; found and reconciled later
	OutcomeReleased    = "released"
)

// Entry is one line of the audit log.
type Entry struct {
	Time         time.Time          `json:"time"`
	Kind         string             `json:"kind"`
	Outcome      string             `json:"outcome"`
	DeploymentID string             `json:"deployment_id,omitempty"`
	Version      string             `json:"version,omitempty"`
	FromVersion  string             `json:"from_version,omitempty"`
	Colour       string             `json:"colour,omitempty"` // live colour afterwards
	Phase        string             `json:"phase,omitempty"`  // the phase that failed
	Error        string             `json:"error,omitempty"`
	Logs         string             `json:"logs,omitempty"` // last log lines of a failing container
	Actor        string             `json:"actor,omitempty"`
	Reason       string             `json:"reason,omitempty"`
	TestsSkipped bool               `json:"tests_skipped,omitempty"`
	Automatic    bool               `json:"automatic,omitempty"`
	Phases       map[string]float64 `json:"phases_seconds,omitempty"`
	Duration     float64            `json:"duration_seconds,omitempty"`
}

// Append adds e to history.jsonl in a single write(2), so that appends
// never interleave and readers never see half an entry from a live writer.
//
// Why one write: dd reads its input in whatever pieces the pipe (or the SSH
// channel) delivers and writes each piece as it comes, so a plain
// `dd bs=1M` or `cat >> file` can turn one line into several writes, and two
// appends running at once interleave them. dd with iflag=fullblock, bs set to
// the line's exact length and count=1 waits for the whole line and then
// issues exactly one write with O_APPEND, which Linux performs atomically for
// regular files on local filesystems (the file's lock is held for the whole
// write; NFS gives no such guarantee). A crash can still cut the file short
// mid-line (a short write on a full disk, a power loss before the fsync):
// History resynchronises after such a torn line.
func (s *Store) Append(ctx context.Context, e Entry) error {
	if e.Time.IsZero() {
		e.Time = s.now().UTC()
	}
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	err = s.r.Run(ctx, host.Cmd{
		Argv:  inDirArgv(s.dir, dirMode, appendArgv(s.file("history.jsonl"), len(line))),
		Stdin: bytes.NewReader(line),
	})
	if err != nil {
		return fmt.Errorf("append history: %w", err)
	}
	return nil
}

// appendArgv appends exactly n bytes of stdin to path in one write(2)
// (iflag=fullblock: one full block of n bytes, count=1) and syncs it.
func appendArgv(path string, n int) []string {
	return []string{"dd", "of=" + path, "oflag=append", "conv=notrunc,fsync", "iflag=fullblock",
		"bs=" + strconv.Itoa(n), "count=1", "status=none"}
}

// inDirArgv runs argv after creating dir (mode, when missing): one remote
// command where there were two (mkdir, then argv).
func inDirArgv(dir string, mode os.FileMode, argv []string) []string {
	return append([]string{"sh", "-c", `mkdir -p -m "$1" -- "$2" || exit; shift 2; exec "$@"`, "sh",
		fmt.Sprintf("%04o", uint32(mode.Perm())), dir}, argv...)
}

// History returns the last n entries, oldest first (n <= 0: all).
func (s *Store) History(ctx context.Context, n int) ([]Entry, error) {
	data, err := host.ReadFile(ctx, s.r, s.file("history.jsonl"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	out := parseHistory(data)
	if n > 0 && len(out) > n {
		out = out[len(out)-n:]
	}
	return out, nil
}

// parseHistory reads history.jsonl, resynchronising after a torn line: a
// line that is not one JSON object (a crash cut an entry short, and the
// next append went on the same line) is searched for an entry that starts
// part-way, so a torn line never swallows the good entry after it.
func parseHistory(data []byte) []Entry {
	var out []Entry
	for _, line := range bytes.Split(data, []byte{'\n'}) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if e, ok := decodeEntry(line); ok {
			out = append(out, e)
			continue
		}
		for i := 1; i < len(line); i++ {
			j := bytes.Index(line[i:], []byte(`{"`))
			if j < 0 {
				break
			}
			i += j
			if e, ok := decodeEntry(line[i:]); ok {
				out = append(out, e)
				break
			}
		}
	}
	return out
}

// decodeEntry decodes b when it is exactly one JSON object that looks like
// an entry (it has a time and a kind).
func decodeEntry(b []byte) (Entry, bool) {
	var e Entry
	if err := json.Unmarshal(b, &e); err != nil {
		return e, false
	}
	return e, !e.Time.IsZero() && e.Kind != ""
}
