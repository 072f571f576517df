package state

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// LockFormat is the format of lock.json this blueshift writes. Format 0
// (no "format" field) is a lock taken by a blueshift that proved no
// liveness (mkdir only); it is read, never taken over automatically.
const LockFormat = 1

// Lock is the holder of the deploy lock, as lock.json records it.
type Lock struct {
	Format  int    `json:"format"`
	Holder  string `json:"holder"`  // user@machine running the tool
	Machine string `json:"machine"` // hostname of the machine running the tool
	// MachineID and BootID tell this machine from another with the same
	// hostname, and this boot from the last; PIDStart tells the process
	// from a later one with the same PID (see LocalHolderAlive).
	MachineID string `json:"machine_id,omitempty"`
	BootID    string `json:"boot_id,omitempty"`
	PID       int    `json:"pid"`
	PIDStart  uint64 `json:"pid_start,omitempty"`
	// HostPID is the host-side process holding the flock.
	HostPID      int       `json:"host_pid,omitempty"`
	Kind         string    `json:"kind"` // deploy, rollback, restore, reconcile
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

// ErrLockLost is wrapped by Held.Release when the host-side session that
// held the lock ended before the release (connection dropped, process
// killed on the host): the lock may have been taken over, so nothing of it
// was touched.
var ErrLockLost = errors.New("deploy lock lost: its host-side session ended")

// ErrHolderAlive is wrapped by ForceRelease when the lock's holder is
// alive and force was not given.
var ErrHolderAlive = errors.New("the lock's holder is alive")

// ErrNoFlock is wrapped when the host lacks flock(1) (util-linux, or
// BusyBox's flock), which the deploy lock needs.
var ErrNoFlock = errors.New("flock(1) not found on the host: install util-linux (Debian/Ubuntu: it is essential; Alpine: apk add util-linux or busybox's flock)")

// LockedError says who holds the lock.
type LockedError struct {
	Holder Lock
	// Legacy: lock.json was written by a blueshift that proves no liveness
	// (format 0); whether its holder lives cannot be told.
	Legacy bool
}

func (e *LockedError) Error() string {
	msg := "deploy lock is held by " + e.Holder.String()
	if e.Legacy {
		msg += "; it was taken by an older blueshift that cannot show whether it still runs: check, and if it is gone run `go tool mage lock:release`"
	} else {
		msg += "; its holder is alive: wait for it to finish"
	}
	return msg
}

func (e *LockedError) Unwrap() error { return ErrLocked }

// FormatError is returned for a file written by a newer blueshift.
type FormatError struct {
	File   string
	Format int
	Max    int
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%s: written by a newer blueshift (format %d; this one reads up to %d); upgrade blueshift", e.File, e.Format, e.Max)
}

// NewLock describes a lock held by this process on this machine.
func NewLock(kind, version, deploymentID, reason string) Lock {
	machine, _ := os.Hostname()
	who := os.Getenv("GITHUB_ACTOR")
	if who == "" {
		if u, err := user.Current(); err == nil {
			who = u.Username
		}
	}
	pid := os.Getpid()
	return Lock{
		Format: LockFormat, Holder: who + "@" + machine, Machine: machine,
		MachineID: machineID(), BootID: bootID(), PID: pid, PIDStart: processStart(pid),
		Kind: kind, Version: version, DeploymentID: deploymentID, Reason: reason,
		Acquired: time.Now().UTC(),
	}
}

// parseLock reads lock.json; empty data is no lock.
func parseLock(file string, data []byte) (*Lock, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	var l Lock
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("read lock %s: %w (if no run holds it, remove it with `go tool mage lock:release`)", file, err)
	}
	if l.Format > LockFormat {
		return &l, &FormatError{File: file, Format: l.Format, Max: LockFormat}
	}
	return &l, nil
}

// Held is the deploy lock held by this process: a host-side session (one
// long-lived command through the Runner) holding flock(2) on lock.flock.
// It costs no command per beat: the session prints a beat and refreshes
// lock/renewed on the host by itself.
type Held struct {
	// Lock is what lock.json says about this holder.
	Lock Lock
	// Previous is the lock of a holder that died (its host-side lock was
	// free) and was taken over by this one; nil when the lock was free.
	// Its run may need reconciling.
	Previous *Lock
	// Files are the files AcquireReading was asked for, read on the host
	// under the lock in the lock's own command: path -> contents, nil for
	// a file that does not exist; a file that could not be read is absent.
	Files map[string][]byte

	stdin  *os.File
	lines  chan string
	done   chan struct{}
	cancel context.CancelFunc
	runErr error
	once   sync.Once
	relErr error
}

// lineSink passes a session's stdout lines to a channel; beats are dropped
// (the session's liveness is the flock, not what this process sees).
type lineSink struct {
	ch      chan string
	pending []byte
}

func (w *lineSink) Write(p []byte) (int, error) {
	w.pending = append(w.pending, p...)
	for {
		i := bytes.IndexByte(w.pending, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(w.pending[:i])
		w.pending = w.pending[i+1:]
		if line == "beat" {
			continue
		}
		select {
		case w.ch <- line:
		default: // nobody is listening any more
		}
	}
}

// Acquire takes the deploy lock for l, or returns a *LockedError naming the
// live holder. The kernel's flock on the host picks a single winner among
// racing runs. A lock.json left by a holder whose host-side lock is free
// (the process died, its SSH session ended) is taken over atomically, under
// the flock, and returned as Held.Previous; a holder that runs on this
// machine and is alive is never taken over, and neither is a lock written
// by a blueshift that proves no liveness (format 0). The session outlives
// ctx (a cancelled deployment still unlocks at the end); release it with
// Held.Release.
func (s *Store) Acquire(ctx context.Context, l Lock) (*Held, error) {
	return s.acquire(ctx, l, DefaultBeat)
}

// AcquireReading is Acquire that also reads files (absolute paths on the
// host) under the lock, in the lock's own command (Held.Files): what a
// run reads first (the proxy's upstream file) costs no command more.
func (s *Store) AcquireReading(ctx context.Context, l Lock, files ...string) (*Held, error) {
	return s.acquire(ctx, l, DefaultBeat, files...)
}

func (s *Store) acquire(ctx context.Context, l Lock, beat time.Duration, files ...string) (*Held, error) {
	// What a run decides on is state read under its lock (see Store).
	s.forget()
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("acquire lock: %w", err)
	}
	sessCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	h := &Held{stdin: pw, lines: make(chan string, 64), done: make(chan struct{}), cancel: cancel}
	go func() {
		h.runErr = s.r.Run(sessCtx, host.Cmd{Argv: s.holdArgv(beat, files...), Stdin: pr, Stdout: &lineSink{ch: h.lines}})
		pr.Close()
		close(h.done)
	}()
	fail := func(err error) (*Held, error) {
		pw.Close()
		select {
		case <-h.done:
		case <-time.After(10 * time.Second):
		}
		cancel()
		return nil, err
	}
	first, err := h.next(ctx)
	if err != nil {
		return fail(s.sessionErr("acquire lock", err, h))
	}
	evidence, err := h.until(ctx, "--end--")
	if err != nil {
		return fail(s.sessionErr("acquire lock", err, h))
	}
	prev, perr := parseLock(s.lockFile(), []byte(evidence))
	if first == "busy" {
		if prev == nil {
			prev = &Lock{Holder: "a run taking the lock right now"}
		}
		return fail(&LockedError{Holder: *prev})
	}
	f := strings.Fields(first)
	if len(f) != 3 || f[0] != "locked" {
		return fail(fmt.Errorf("acquire lock: unexpected answer from the host: %q", first))
	}
	switch {
	case perr != nil:
		return fail(perr)
	case prev != nil && prev.Format < 1:
		return fail(&LockedError{Holder: *prev, Legacy: true})
	case prev != nil && LocalHolderAlive(*prev):
		return fail(&LockedError{Holder: *prev})
	}
	l.Format = LockFormat
	l.HostPID, _ = strconv.Atoi(f[1])
	line, _ := json.Marshal(l) // one line: the script reads one
	if _, err := pw.Write(append(line, '\n')); err != nil {
		return fail(s.sessionErr("acquire lock", err, h))
	}
	held, err := h.next(ctx)
	if err != nil {
		return fail(s.sessionErr("acquire lock", err, h))
	}
	if !strings.HasPrefix(held, "held ") {
		return fail(fmt.Errorf("acquire lock: unexpected answer from the host: %q", held))
	}
	if err := s.readUnderLock(ctx, h, files); err != nil {
		return fail(err)
	}
	h.Lock, h.Previous = l, prev
	return h, nil
}

// readUnderLock reads what the hold script sends after "held": state.json
// as read under the lock, remembered so the run's first read (Known) costs
// no command (when it is unreadable, the run reads it), then each of files
// into h.Files (nil: absent; left out: unreadable).
func (s *Store) readUnderLock(ctx context.Context, h *Held, files []string) error {
	data, found, err := h.file(ctx, "state ")
	if err != nil {
		return s.sessionErr("acquire lock", err, h)
	}
	if found {
		s.remember(data)
	}
	for _, f := range files {
		data, found, err := h.file(ctx, "file ")
		if err != nil {
			return s.sessionErr("acquire lock", err, h)
		}
		if h.Files == nil {
			h.Files = map[string][]byte{}
		}
		if found {
			h.Files[f] = data
		}
	}
	return nil
}

// file reads one "<prefix>BASE64" line of the hold script: the file's
// bytes, "none" (nil, found), or "unreadable" (not found).
func (h *Held) file(ctx context.Context, prefix string) (data []byte, found bool, err error) {
	line, err := h.next(ctx)
	if err != nil {
		return nil, false, err
	}
	b64, ok := strings.CutPrefix(line, prefix)
	switch {
	case !ok:
		return nil, false, fmt.Errorf("unexpected answer from the host: %q", line)
	case b64 == "none":
		return nil, true, nil
	case b64 == "unreadable":
		return nil, false, nil
	}
	data, err = base64.StdEncoding.DecodeString(b64)
	return data, err == nil, nil
}

// next returns the session's next stdout line.
func (h *Held) next(ctx context.Context) (string, error) {
	select {
	case line := <-h.lines:
		return line, nil
	case <-h.done:
		select { // a line written just before the end
		case line := <-h.lines:
			return line, nil
		default:
		}
		return "", io.ErrUnexpectedEOF
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// until collects lines up to end.
func (h *Held) until(ctx context.Context, end string) (string, error) {
	var b strings.Builder
	for {
		line, err := h.next(ctx)
		if err != nil {
			return "", err
		}
		if line == end {
			return b.String(), nil
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
}

// sessionErr explains a lock session that ended or failed.
func (s *Store) sessionErr(op string, err error, h *Held) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		<-h.done
		switch {
		case errors.Is(h.runErr, host.ErrCommandNotFound):
			return fmt.Errorf("%s: %w", op, ErrNoFlock)
		case h.runErr != nil:
			return fmt.Errorf("%s: %w", op, h.runErr)
		}
		return fmt.Errorf("%s: the host-side lock session ended early", op)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// Lost is closed when the host-side session holding the lock has ended: by
// Release, or because the connection or the session's process died.
func (h *Held) Lost() <-chan struct{} { return h.done }

// Err says why the session ended once Lost is closed (nil before, and
// after a clean Release).
func (h *Held) Err() error {
	select {
	case <-h.done:
		var exit *host.ExitError
		switch {
		case h.runErr == nil:
			return errors.New("the host-side lock session ended")
		case errors.Is(h.runErr, host.ErrConnectionLost):
			return fmt.Errorf("the host-side lock session ended: %w", host.ErrConnectionLost)
		case errors.As(h.runErr, &exit): // its argv is the whole script
			return fmt.Errorf("the host-side lock session ended with exit status %d", exit.Code)
		}
		return h.runErr
	default:
		return nil
	}
}

// Release frees the lock: the host-side session removes lock/ while it
// still holds the flock, so it only ever removes its own. It returns an
// error wrapping ErrLockLost (and touches nothing) when the session had
// already ended. Calling it again returns the first result.
func (h *Held) Release(ctx context.Context) error {
	h.once.Do(func() { h.relErr = h.release(ctx) })
	return h.relErr
}

// lockLost is Release's error when the session had ended: it wraps
// ErrLockLost and the cause (host.ErrConnectionLost when the connection
// dropped), both for errors.Is.
func lockLost(cause error) error {
	if cause == nil {
		return fmt.Errorf("release lock: %w", ErrLockLost)
	}
	return fmt.Errorf("release lock: %w (%w)", ErrLockLost, cause)
}

func (h *Held) release(ctx context.Context) error {
	defer h.cancel()
	select {
	case <-h.done:
		h.stdin.Close()
		return lockLost(h.runErr)
	default:
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_, werr := h.stdin.Write([]byte("release\n"))
	h.stdin.Close()
	if werr != nil {
		return lockLost(werr)
	}
	for {
		line, err := h.next(ctx)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return lockLost(h.runErr)
		}
		if err != nil {
			return fmt.Errorf("release lock: %w", err)
		}
		if line == "released" {
			select {
			case <-h.done:
			case <-ctx.Done():
			}
			return nil
		}
	}
}

// LockStatus is the deploy lock as judged on the host.
type LockStatus struct {
	// Lock is lock.json: the holder, or the evidence a dead one left;
	// nil when there is none.
	Lock *Lock
	// Held: some process holds the host-side flock (a live holder).
	Held bool
	// Alive: the holder lives (Held, or it runs on this machine and its
	// process is alive).
	Alive bool
	// Stale: lock.json names a holder that is gone; the next run takes
	// the lock over and reconciles.
	Stale bool
	// Legacy: lock.json was written by a blueshift that proves no
	// liveness (format 0): alive or not cannot be told.
	Legacy bool
	// HostNow is the host's clock; Renewed the host's clock at the
	// holder's last beat (zero when unknown).
	HostNow, Renewed time.Time
}

// Inspect judges the lock in one host command, without taking or changing
// it: liveness is whether a process holds the flock on the host (never the
// age of the lock, never this machine's clock against the host's).
func (s *Store) Inspect(ctx context.Context) (LockStatus, error) {
	var st LockStatus
	out, err := host.Output(ctx, s.r, s.inspectArgv()...)
	if err != nil {
		return st, fmt.Errorf("inspect lock: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	var rest bytes.Buffer
	for n := 0; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case n == 0:
			if secs, ok := strings.CutPrefix(line, "now "); ok {
				if v, err := strconv.ParseInt(secs, 10, 64); err == nil {
					st.HostNow = time.Unix(v, 0).UTC()
				}
			}
		case n == 1:
			switch {
			case line == "held":
				st.Held = true
			case line == "free":
			case strings.HasPrefix(line, "error 127"):
				return st, fmt.Errorf("inspect lock: %w", ErrNoFlock)
			default:
				return st, fmt.Errorf("inspect lock: flock on the host: %s", line)
			}
		case n == 2:
			if secs, ok := strings.CutPrefix(line, "renewed "); ok && secs != "" {
				if v, err := strconv.ParseInt(strings.TrimSpace(secs), 10, 64); err == nil {
					st.Renewed = time.Unix(v, 0).UTC()
				}
			}
		default:
			rest.WriteString(line)
			rest.WriteByte('\n')
		}
	}
	l, err := parseLock(s.lockFile(), rest.Bytes())
	st.Lock = l
	if err != nil {
		return st, err
	}
	st.Alive = st.Held || (l != nil && LocalHolderAlive(*l))
	if l != nil && !st.Alive {
		st.Legacy = l.Format < 1
		st.Stale = !st.Legacy
	}
	return st, nil
}

// ReadLock returns lock.json: the holder, or the evidence of a holder that
// died; nil when there is none. Use Inspect to know whether it is alive.
func (s *Store) ReadLock(ctx context.Context) (*Lock, error) {
	data, err := host.ReadFile(ctx, s.r, s.lockFile())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read lock: %w", err)
	}
	return parseLock(s.lockFile(), data)
}

// ForceRelease removes the lock for an operator (lock:release) and records
// in history who held it, whether it was alive and why it was released
// (the evidence). It refuses, with an error wrapping ErrHolderAlive, when
// the holder is alive, unless force: then it kills the holder's host-side
// session (the holder's run goes on without the lock, and its own release
// fails with ErrLockLost). The removal happens under the flock, so a run
// that takes the lock meanwhile is never removed. It returns the former
// holder (nil when the lock was free).
func (s *Store) ForceRelease(ctx context.Context, why string, force bool) (*Lock, error) {
	st, err := s.Inspect(ctx)
	var ferr *FormatError
	if err != nil && !errors.As(err, &ferr) {
		return nil, err
	}
	if st.Lock == nil && !st.Held {
		return nil, nil
	}
	if st.Alive && !force {
		who := "a run taking the lock right now"
		if st.Lock != nil {
			who = st.Lock.String()
		}
		return st.Lock, fmt.Errorf("release lock: held by %s: %w%s; refusing: wait for it, or pass -force if it must lose the lock", who, ErrHolderAlive, renewedText(st))
	}
	out, err := host.Output(ctx, s.r, s.removeArgv(force && st.Alive)...)
	if errors.Is(err, host.ErrCommandNotFound) {
		return st.Lock, fmt.Errorf("release lock: %w", ErrNoFlock)
	}
	if err != nil {
		return st.Lock, fmt.Errorf("release lock: %w", err)
	}
	if strings.TrimSpace(string(out)) != "removed" {
		return st.Lock, fmt.Errorf("release lock: %w: a run took the lock meanwhile; check `go tool mage status`", ErrHolderAlive)
	}
	e := Entry{Kind: KindLockRelease, Outcome: OutcomeReleased, Reason: why, Actor: NewLock("", "", "", "").Holder}
	alive := "its holder was gone (host-side lock free)"
	switch {
	case st.Alive:
		alive = "its holder was ALIVE and was forced off (host-side session killed)"
	case st.Legacy:
		alive = "taken by an older blueshift that proves no liveness"
	}
	if l := st.Lock; l != nil {
		e.DeploymentID, e.Version = l.DeploymentID, l.Version
		e.Error = "lock held by " + l.String() + "; " + alive + renewedText(st)
	} else {
		e.Error = "lock held without lock.json; " + alive
	}
	return st.Lock, s.Append(ctx, e)
}

// renewedText says when the holder last beat, by the host's clock.
func renewedText(st LockStatus) string {
	if st.Renewed.IsZero() || st.HostNow.IsZero() {
		return ""
	}
	return fmt.Sprintf("; last renewed %s ago by the host's clock", st.HostNow.Sub(st.Renewed).Round(time.Second))
}
