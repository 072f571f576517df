package state

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
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

// Append adds e to history.jsonl. One line is written with O_APPEND in a
// single write, so concurrent readers never see half an entry.
func (s *Store) Append(ctx context.Context, e Entry) error {
	if err := s.ensureDir(ctx); err != nil {
		return err
	}
	if e.Time.IsZero() {
		e.Time = s.now().UTC()
	}
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	err = s.r.Run(ctx, host.Cmd{
		Argv:  appendArgv(s.file("history.jsonl")),
		Stdin: bytes.NewReader(line),
	})
	if err != nil {
		return fmt.Errorf("append history: %w", err)
	}
	return nil
}

// appendArgv appends stdin to path in one write and syncs it.
func appendArgv(path string) []string {
	return []string{"dd", "of=" + path, "oflag=append", "conv=notrunc,fsync", "bs=1M", "status=none"}
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
	var out []Entry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		var e Entry
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			continue // a torn last line from a crash is skipped, not fatal
		}
		out = append(out, e)
	}
	if n > 0 && len(out) > n {
		out = out[len(out)-n:]
	}
	return out, nil
}
