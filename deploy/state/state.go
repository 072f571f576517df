package state

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sync"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// Dir is the directory under the app path that holds blueshift's state.
const Dir = ".blueshift"

// Release is one version of the app as it was (or is) deployed.
type Release struct {
	Version      string            `json:"version"`
	Colour       string            `json:"colour"`
	DeploymentID string            `json:"deployment_id"`
	Commit       string            `json:"commit,omitempty"`
	Images       map[string]string `json:"images,omitempty"` // service -> image reference, pinned by digest when known
	DeployedAt   time.Time         `json:"deployed_at"`
	// EnvFileSHA256 is the SHA-256 (hex) of the host's env file
	// (environments.X.env_file) as the release was started with it,
	// NoEnvFile when the environment names one that did not exist, and
	// empty when unknown (no env_file, or recorded by an older blueshift).
	// Only the hash is kept: the file holds secrets.
	EnvFileSHA256 string `json:"env_file_sha256,omitempty"`
}

// NoEnvFile is Release.EnvFileSHA256 when the env file did not exist.
const NoEnvFile = "absent"

// EnvFileChanged reports whether two recorded env file hashes differ; an
// unknown one (empty) differs from nothing.
func EnvFileChanged(a, b string) bool { return a != "" && b != "" && a != b }

// EnvFileLabel is an env file hash as printed: "sha256 " and its first 12
// hex digits, "absent" (NoEnvFile) or "unknown" (empty).
func EnvFileLabel(sum string) string {
	switch sum {
	case "":
		return "unknown"
	case NoEnvFile:
		return "absent"
	}
	return "sha256 " + sum[:min(12, len(sum))]
}

// InFlight is a deployment or rollback that has started and not finished.
// A run that finds one left behind (the tool was killed, SSH dropped)
// reconciles before doing anything else.
type InFlight struct {
	Kind         string    `json:"kind"` // "deploy" or "rollback"
	DeploymentID string    `json:"deployment_id"`
	Version      string    `json:"version"`
	From         string    `json:"from,omitempty"` // live colour when it started
	To           string    `json:"to,omitempty"`   // colour being brought up
	Phase        string    `json:"phase"`          // last phase started
	Started      time.Time `json:"started"`
	Holder       string    `json:"holder"`
	// Release is what the run knew of the release it deploys (images and
	// digests once started), kept so a reconcile that keeps it loses nothing.
	Release *Release `json:"release,omitempty"`
}

// StateFormat is the format of state.json this blueshift writes; files
// without a "format" field (format 0) are read the same way.
const StateFormat = 1

// ErrNotOwner is returned by UpdateOwned when the deployment in flight is
// not the caller's (another run reconciled it away or took over).
var ErrNotOwner = errors.New("state belongs to another run")

// State is the content of state.json.
type State struct {
	// Format is the file's format (StateFormat when written by this
	// blueshift); a newer one is refused instead of misread.
	Format   int       `json:"format"`
	App      string    `json:"app"`
	Live     string    `json:"live,omitempty"` // "blue", "green", or "" before the first deployment
	Current  *Release  `json:"current,omitempty"`
	Previous *Release  `json:"previous,omitempty"`
	InFlight *InFlight `json:"in_flight,omitempty"`
	// Standby is the colour left warm by the last deployment (environment
	// standby), nil when none.
	Standby *Standby  `json:"standby,omitempty"`
	Updated time.Time `json:"updated"`
}

// Standby is a colour whose proxied services a deployment left running,
// unrouted, until a deadline: a rollback before it is a proxy switch. A
// job on the host stops it then; it reads the StandbyColourKey and StandbyUntilKey
// lines of state.json with the shell, which is why they are named apart.
type Standby struct {
	Colour  string `json:"standby_colour"`
	Release string `json:"standby_release"` // the version it runs
	// Until is the deadline; UntilUnix the same in Unix seconds.
	Until     time.Time `json:"until"`
	UntilUnix int64     `json:"standby_until_unix"`
}

// JSON keys of Standby the host's job reads (see Standby).
const (
	StandbyColourKey = "standby_colour"
	StandbyUntilKey  = "standby_until_unix"
)

// Active reports whether the standby's window is still open at now.
func (s *Standby) Active(now time.Time) bool { return s != nil && now.Before(s.Until) }

// Store reads and writes the state of one app on one host.
//
// A Store remembers state.json as it last read or wrote it, so that a run
// holding the deploy lock updates state in one remote command instead of
// two (read, then write): Update and UpdateOwned apply their change to the
// remembered copy and write it on condition that the file on the host is
// still exactly that copy (host.WriteOptions.IfSHA256). When it is not (a
// run that took the lock away wrote it, or someone edited it), they read
// the file again and decide on what it holds now, as they always did.
// Acquire forgets the copy: what a run decides on is read under its lock.
type Store struct {
	r   host.Runner
	dir string
	now func() time.Time
	// busyTries, when set, replaces busyTries (the state tests' refusals
	// need not wait 2 s).
	busyTries int

	mu    sync.Mutex
	known *knownState // state.json as this store last read or wrote it
}

// knownState is state.json's contents and their SHA-256 (host.NoFile when
// there was no file).
type knownState struct {
	data []byte
	sum  string
}

// New returns the store for the app installed at appPath on the host r runs on.
func New(r host.Runner, appPath string) *Store {
	return &Store{r: r, dir: path.Join(appPath, Dir), now: time.Now}
}

// Path returns the directory the store keeps its files in.
func (s *Store) Path() string { return s.dir }

func (s *Store) file(name string) string { return path.Join(s.dir, name) }

// dirMode is the mode of the state directory.
const dirMode = 0o700

// remember records data (nil: no file) as state.json's contents on the host.
func (s *Store) remember(data []byte) {
	k := &knownState{data: data, sum: host.NoFile}
	if data != nil {
		sum := sha256.Sum256(data)
		k.sum = hex.EncodeToString(sum[:])
	}
	s.mu.Lock()
	s.known = k
	s.mu.Unlock()
}

// forget drops the remembered state.json: the next update reads it.
func (s *Store) forget() {
	s.mu.Lock()
	s.known = nil
	s.mu.Unlock()
}

func (s *Store) remembered() *knownState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.known
}

// Load returns the app's state; a host that was never deployed to gives a
// zero State and no error.
func (s *Store) Load(ctx context.Context) (State, error) {
	data, err := host.ReadFile(ctx, s.r, s.file("state.json"))
	if errors.Is(err, fs.ErrNotExist) {
		s.remember(nil)
		return State{}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("read state: %w", err)
	}
	st, err := s.decode(data)
	if err == nil {
		s.remember(data)
	}
	return st, err
}

// Known returns the state as this store last read or wrote it since the
// lock was acquired (Acquire), without a remote command; a store that
// has not read it since loads it (Load).
func (s *Store) Known(ctx context.Context) (State, error) {
	if k := s.remembered(); k != nil {
		return s.decode(k.data)
	}
	return s.Load(ctx)
}

// decode parses state.json's contents (nil: no file, the zero State).
func (s *Store) decode(data []byte) (State, error) {
	var st State
	if data == nil {
		return st, nil
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return st, fmt.Errorf("read state %s: %w (move it aside to start afresh)", s.file("state.json"), err)
	}
	if st.Format > StateFormat {
		return State{}, &FormatError{File: s.file("state.json"), Format: st.Format, Max: StateFormat}
	}
	return st, nil
}

// Save replaces state.json atomically (creating the state directory when
// missing), in one remote command.
func (s *Store) Save(ctx context.Context, st State) error {
	return s.save(ctx, st, "")
}

// save writes st; ifSum, when set, is the SHA-256 the file must still
// have (host.WriteOptions.IfSHA256).
func (s *Store) save(ctx context.Context, st State, ifSum string) error {
	st.Format = StateFormat
	st.Updated = s.now().UTC()
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	err = host.WriteFile(ctx, s.r, s.file("state.json"), bytes.NewReader(data),
		host.WriteOptions{Mode: 0o600, DirMode: dirMode, IfSHA256: ifSum})
	if err != nil {
		s.forget()
		return fmt.Errorf("write state: %w", err)
	}
	s.remember(data)
	return nil
}

// Update applies fn to the state and saves the result. With the state
// remembered (see Store) that is one remote command.
func (s *Store) Update(ctx context.Context, fn func(*State)) (State, error) {
	return s.update(ctx, "", fn)
}

// UpdateOwned is Update for a run's own changes: fn is applied only while
// the deployment in flight is deploymentID's; otherwise nothing is written
// and the error wraps ErrNotOwner.
func (s *Store) UpdateOwned(ctx context.Context, deploymentID string, fn func(*State)) (State, error) {
	if deploymentID == "" {
		deploymentID = "(none)" // owns nothing
	}
	return s.update(ctx, deploymentID, fn)
}

// update is Update (owner empty) and UpdateOwned. It first tries the
// remembered state, written on condition that the host's file is unchanged;
// when the file changed it reads it again and decides on that.
func (s *Store) update(ctx context.Context, owner string, fn func(*State)) (State, error) {
	if k := s.remembered(); k != nil {
		st, err := s.decode(k.data)
		if err == nil {
			if err := checkOwner(st, owner); err != nil {
				return st, err
			}
			fn(&st)
			err = s.save(ctx, st, k.sum)
			if !errors.Is(err, host.ErrChanged) {
				return st, err
			}
		}
	}
	st, err := s.Load(ctx)
	if err != nil {
		return st, err
	}
	if err := checkOwner(st, owner); err != nil {
		return st, err
	}
	fn(&st)
	return st, s.Save(ctx, st)
}

// checkOwner returns an error wrapping ErrNotOwner unless owner is empty or
// the deployment in flight is owner's.
func checkOwner(st State, owner string) error {
	if owner == "" || st.InFlight != nil && st.InFlight.DeploymentID == owner {
		return nil
	}
	in := "nothing"
	if st.InFlight != nil {
		in = st.InFlight.DeploymentID
	}
	return fmt.Errorf("update state for %s: %w (in flight: %s)", owner, ErrNotOwner, in)
}
