package state

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
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
	Updated  time.Time `json:"updated"`
}

// Store reads and writes the state of one app on one host.
type Store struct {
	r   host.Runner
	dir string
	now func() time.Time
}

// New returns the store for the app installed at appPath on the host r runs on.
func New(r host.Runner, appPath string) *Store {
	return &Store{r: r, dir: path.Join(appPath, Dir), now: time.Now}
}

// Path returns the directory the store keeps its files in.
func (s *Store) Path() string { return s.dir }

func (s *Store) file(name string) string { return path.Join(s.dir, name) }

func (s *Store) ensureDir(ctx context.Context) error {
	if err := host.MkdirAll(ctx, s.r, s.dir, 0o700); err != nil {
		return fmt.Errorf("create state directory %s: %w", s.dir, err)
	}
	return nil
}

// Load returns the app's state; a host that was never deployed to gives a
// zero State and no error.
func (s *Store) Load(ctx context.Context) (State, error) {
	var st State
	data, err := host.ReadFile(ctx, s.r, s.file("state.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read state: %w", err)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return st, fmt.Errorf("read state %s: %w (move it aside to start afresh)", s.file("state.json"), err)
	}
	if st.Format > StateFormat {
		return State{}, &FormatError{File: s.file("state.json"), Format: st.Format, Max: StateFormat}
	}
	return st, nil
}

// Save replaces state.json atomically.
func (s *Store) Save(ctx context.Context, st State) error {
	if err := s.ensureDir(ctx); err != nil {
		return err
	}
	st.Format = StateFormat
	st.Updated = s.now().UTC()
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := host.WriteFileAtomic(ctx, s.r, s.file("state.json"), bytes.NewReader(append(data, '\n')), 0o600); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

// Update loads the state, applies fn and saves the result.
func (s *Store) Update(ctx context.Context, fn func(*State)) (State, error) {
	st, err := s.Load(ctx)
	if err != nil {
		return st, err
	}
	fn(&st)
	return st, s.Save(ctx, st)
}

// UpdateOwned is Update for a run's own changes: fn is applied only while
// the deployment in flight is deploymentID's; otherwise nothing is written
// and the error wraps ErrNotOwner.
func (s *Store) UpdateOwned(ctx context.Context, deploymentID string, fn func(*State)) (State, error) {
	st, err := s.Load(ctx)
	if err != nil {
		return st, err
	}
	if deploymentID == "" || st.InFlight == nil || st.InFlight.DeploymentID != deploymentID {
		in := "nothing"
		if st.InFlight != nil {
			in = st.InFlight.DeploymentID
		}
		return st, fmt.Errorf("update state for %s: %w (in flight: %s)", deploymentID, ErrNotOwner, in)
	}
	fn(&st)
	return st, s.Save(ctx, st)
}
