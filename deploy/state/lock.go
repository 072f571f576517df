package state

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// Lock is the holder of the deploy lock.
type Lock struct {
	Holder       string    `json:"holder"`  // user@machine running the tool
	Machine      string    `json:"machine"` // hostname of the machine running the tool
	PID          int       `json:"pid"`
	Kind         string    `json:"kind"` // deploy, rollback, restore
	Version      string    `json:"version,omitempty"`
	DeploymentID string    `json:"deployment_id,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	Acquired     time.Time `json:"acquired"`
}

func (l Lock) String() string {
	s := fmt.Sprintf("%s (pid %d on %s) since %s: %s", l.Holder, l.PID, l.Machine, l.Acquired.UTC().Format(time.RFC3339), l.Kind)
	if l.Version != "" {
		s += " " + l.Version
	}
	if l.DeploymentID != "" {
		s += " [" + l.DeploymentID + "]"
	}
	if l.Reason != "" {
		s += fmt.Sprintf(" (reason: %q)", l.Reason)
	}
	return s
}

// ErrLocked is wrapped by the error returned when another run holds the lock.
var ErrLocked = errors.New("deploy lock is held")

// LockedError says who holds the lock.
type LockedError struct {
	Holder Lock
	Stale  bool
}

func (e *LockedError) Error() string {
	msg := "deploy lock is held by " + e.Holder.String()
	if e.Stale {
		msg += "; it looks stale (holder gone or older than the deployment timeout): check, then run `go tool mage lock:release`"
	} else {
		msg += "; wait for it to finish, or if it is dead run `go tool mage lock:release`"
	}
	return msg
}

func (e *LockedError) Unwrap() error { return ErrLocked }

// NewLock describes a lock held by this process.
func NewLock(kind, version, deploymentID, reason string) Lock {
	machine, _ := os.Hostname()
	who := os.Getenv("GITHUB_ACTOR")
	if who == "" {
		if u, err := user.Current(); err == nil {
			who = u.Username
		}
	}
	return Lock{
		Holder: who + "@" + machine, Machine: machine, PID: os.Getpid(),
		Kind: kind, Version: version, DeploymentID: deploymentID, Reason: reason,
		Acquired: time.Now().UTC(),
	}
}

func (s *Store) lockDir() string { return path.Join(s.dir, "lock") }

// Acquire takes the deploy lock. mkdir is atomic on every filesystem, so two
// runs racing for the lock cannot both win. If the lock is held, the error is
// a *LockedError naming the holder; staleAfter (the deployment timeout) marks
// it stale when older.
func (s *Store) Acquire(ctx context.Context, l Lock, staleAfter time.Duration) error {
	if err := s.ensureDir(ctx); err != nil {
		return err
	}
	err := s.r.Run(ctx, host.Cmd{Argv: []string{"mkdir", s.lockDir()}})
	if err != nil {
		var exit *host.ExitError
		if !errors.As(err, &exit) {
			return fmt.Errorf("acquire lock: %w", err)
		}
		held, rerr := s.ReadLock(ctx)
		if rerr != nil || held == nil {
			// mkdir lost the race to a holder still writing lock.json, or the
			// holder died between mkdir and the write.
			return &LockedError{Holder: Lock{Holder: "unknown (lock directory without lock.json)"}, Stale: true}
		}
		return &LockedError{Holder: *held, Stale: IsStale(*held, s.now(), staleAfter)}
	}
	data, _ := json.MarshalIndent(l, "", "  ")
	if err := host.WriteFileAtomic(ctx, s.r, path.Join(s.lockDir(), "lock.json"), bytes.NewReader(data), 0o600); err != nil {
		_ = host.RemoveAll(context.WithoutCancel(ctx), s.r, s.lockDir())
		return fmt.Errorf("acquire lock: %w", err)
	}
	return nil
}

// ReadLock returns the current holder, or nil when the lock is free.
func (s *Store) ReadLock(ctx context.Context) (*Lock, error) {
	data, err := host.ReadFile(ctx, s.r, path.Join(s.lockDir(), "lock.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read lock: %w", err)
	}
	var l Lock
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("read lock: %w", err)
	}
	return &l, nil
}

// Release frees the lock if it is held by the same deployment (or by nobody).
func (s *Store) Release(ctx context.Context, l Lock) error {
	held, err := s.ReadLock(ctx)
	if err != nil {
		return err
	}
	if held != nil && (held.PID != l.PID || held.Machine != l.Machine || held.DeploymentID != l.DeploymentID) {
		return fmt.Errorf("release lock: held by someone else: %s", held)
	}
	return s.removeLock(ctx)
}

func (s *Store) removeLock(ctx context.Context) error {
	if err := host.RemoveAll(ctx, s.r, s.lockDir()); err != nil {
		return fmt.Errorf("remove lock: %w", err)
	}
	return nil
}

// ForceRelease removes the lock whoever holds it and records in history who
// held it and why it was released (the evidence). It returns the former
// holder (nil when the lock was free).
func (s *Store) ForceRelease(ctx context.Context, why string) (*Lock, error) {
	held, err := s.ReadLock(ctx)
	if err != nil {
		return nil, err
	}
	exists, err := host.Exists(ctx, s.r, s.lockDir())
	if err != nil {
		return nil, err
	}
	if held == nil && !exists {
		return nil, nil
	}
	if err := s.removeLock(ctx); err != nil {
		return held, err
	}
	e := Entry{Kind: KindLockRelease, Outcome: OutcomeReleased, Reason: why, Actor: NewLock("", "", "", "").Holder}
	if held != nil {
		e.DeploymentID, e.Version = held.DeploymentID, held.Version
		e.Error = "lock held by " + held.String()
	}
	return held, s.Append(ctx, e)
}

// IsStale reports whether a lock should be considered abandoned: its holder
// process is gone (checked when it ran on this machine), or it is older than
// staleAfter.
func IsStale(l Lock, now time.Time, staleAfter time.Duration) bool {
	if staleAfter > 0 && now.Sub(l.Acquired) > staleAfter {
		return true
	}
	if machine, _ := os.Hostname(); machine == l.Machine && l.PID > 0 {
		return !processAlive(l.PID)
	}
	return false
}
