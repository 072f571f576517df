package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// DockerState snapshots the app's running containers (image, image digest,
// colour, compose project and service, state) into <artifact>.json, and
// copies the rendered compose files the caller names into compose/.
type DockerState struct {
	// Artifact names the source and its file; default "docker-state".
	Artifact string
	// Filters select the app's containers, each a docker ps filter
	// ("label=com.docker.compose.project=shop-blue"); containers matching
	// any of them are included. At least one is required.
	Filters []string
	// ColourLabel is the container label holding the colour; default
	// "blueshift.colour".
	ColourLabel string
	// ComposeFiles are host paths of rendered compose files to keep; their
	// base names must differ. Those that do not exist are skipped.
	ComposeFiles []string
}

// ContainerState is one container in a DockerState snapshot.
type ContainerState struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Image     string   `json:"image"`
	ImageID   string   `json:"image_id"`
	Digests   []string `json:"digests,omitempty"`
	Colour    string   `json:"colour,omitempty"`
	Project   string   `json:"compose_project,omitempty"`
	Service   string   `json:"compose_service,omitempty"`
	State     string   `json:"state"`
	Health    string   `json:"health,omitempty"`
	StartedAt string   `json:"started_at,omitempty"`
}

// Snapshot is the JSON document DockerState writes.
type Snapshot struct {
	TakenAt    time.Time        `json:"taken_at"`
	Containers []ContainerState `json:"containers"`
}

// Name returns Artifact or "docker-state".
func (d *DockerState) Name() string { return orDefault(d.Artifact, "docker-state") }

// dockerStateScript is DockerState's one command: it copies the compose
// files that exist into the directory $1 (when $1 is not empty) and prints
// "--- compose <name>" for each one copied, lists the running containers
// matching any of the $2 filters that follow, and prints "--- containers"
// and their docker container inspect, then "--- images" and the inspect of
// their images. Over SSH each command is a session: this was a docker ps
// per filter, two inspects, a write of the snapshot and the copy. The
// first line marks it for fake hosts in tests.
const dockerStateScript = `# blueshift:docker-state
set -u
cdir=$1 n=$2; shift 2
ids=
while [ "$n" -gt 0 ]; do
	o=$(docker ps --quiet --no-trunc --filter "$1") || exit 70
	ids="$ids $o"; shift; n=$((n-1))
done
if [ -n "$cdir" ] && [ "$#" -gt 0 ]; then
	mkdir -p -- "$cdir" || exit 73
	for f; do
		[ -e "$f" ] || continue
		cp -- "$f" "$cdir/${f##*/}" || exit 74
		printf '%s\n' "--- compose ${f##*/}"
	done
fi
ids=$(printf '%s\n' $ids | sort -u)
[ -n "$ids" ] || exit 0
echo '--- containers'
docker container inspect -- $ids || exit 71
imgs=$(docker container inspect --format '{{.Image}}' -- $ids | sort -u) || exit 71
printf '\n--- images\n'
docker image inspect -- $imgs || exit 72`

// dockerStateArgv is dockerStateScript's command; composeDir "" copies
// nothing.
func dockerStateArgv(composeDir string, filters, composeFiles []string) []string {
	argv := append([]string{"sh", "-c", dockerStateScript, "sh", composeDir, strconv.Itoa(len(filters))}, filters...)
	return append(argv, composeFiles...)
}

type inspectedContainer struct {
	ID     string
	Name   string
	Image  string
	Config struct {
		Image  string
		Labels map[string]string
	}
	State struct {
		Status    string
		StartedAt string
		Health    *struct{ Status string }
	}
}

type inspectedImage struct {
	ID          string
	RepoDigests []string
}

// Snapshot inspects the running containers matching the filters, in one
// command.
func (d *DockerState) Snapshot(ctx context.Context, r host.Runner) (Snapshot, error) {
	snap, _, err := d.run(ctx, r, "")
	return snap, err
}

// run runs dockerStateScript, copying the compose files into composeDir
// unless it is "", and returns the snapshot and the base names copied.
func (d *DockerState) run(ctx context.Context, r host.Runner, composeDir string) (Snapshot, []string, error) {
	if len(d.Filters) == 0 {
		return Snapshot{}, nil, fmt.Errorf("docker state %s: no Filters: name the app's containers (label=com.docker.compose.project=<app>-blue)", d.Name())
	}
	snap := Snapshot{TakenAt: time.Now().UTC(), Containers: []ContainerState{}}
	out, err := output(ctx, r, dockerStateArgv(composeDir, d.Filters, d.ComposeFiles)...)
	var exit *host.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.Code == 70:
		return Snapshot{}, nil, fmt.Errorf("docker state: list containers (%s): %w", strings.Join(d.Filters, ", "), err)
	case errors.As(err, &exit) && exit.Code == 71:
		return Snapshot{}, nil, fmt.Errorf("docker state: inspect containers: %w", err)
	case errors.As(err, &exit) && exit.Code == 72:
		return Snapshot{}, nil, fmt.Errorf("docker state: inspect images: %w", err)
	default:
		return Snapshot{}, nil, fmt.Errorf("docker state: copy compose files %s: %w", strings.Join(d.ComposeFiles, ", "), err)
	}
	var copied []string
	sections := map[string]*strings.Builder{}
	var cur *strings.Builder
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "--- compose "):
			copied = append(copied, strings.TrimPrefix(line, "--- compose "))
		case line == "--- containers" || line == "--- images":
			cur = &strings.Builder{}
			sections[line] = cur
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	if sections["--- containers"] == nil {
		return snap, copied, nil
	}
	var cs []inspectedContainer
	if err := json.Unmarshal([]byte(sections["--- containers"].String()), &cs); err != nil {
		return Snapshot{}, nil, fmt.Errorf("docker state: decode docker container inspect: %w", err)
	}
	var imgs []inspectedImage
	if sec := sections["--- images"]; sec == nil {
		return Snapshot{}, nil, errors.New("docker state: docker image inspect printed nothing")
	} else if err := json.Unmarshal([]byte(sec.String()), &imgs); err != nil {
		return Snapshot{}, nil, fmt.Errorf("docker state: decode docker image inspect: %w", err)
	}
	digests := map[string][]string{}
	for _, im := range imgs {
		digests[im.ID] = im.RepoDigests
	}
	colour := orDefault(d.ColourLabel, "blueshift.colour")
	for _, c := range cs {
		s := ContainerState{
			ID: c.ID, Name: strings.TrimPrefix(c.Name, "/"), Image: c.Config.Image, ImageID: c.Image,
			Digests: digests[c.Image], Colour: c.Config.Labels[colour],
			Project: c.Config.Labels["com.docker.compose.project"], Service: c.Config.Labels["com.docker.compose.service"],
			State: c.State.Status, StartedAt: c.State.StartedAt,
		}
		if c.State.Health != nil {
			s.Health = c.State.Health.Status
		}
		snap.Containers = append(snap.Containers, s)
	}
	sort.Slice(snap.Containers, func(i, j int) bool { return snap.Containers[i].Name < snap.Containers[j].Name })
	return snap, copied, nil
}

// Backup writes the snapshot and copies the compose files.
func (d *DockerState) Backup(ctx context.Context, r host.Runner, dir string) ([]Artifact, error) {
	arts, files, err := d.BackupInline(ctx, r, dir)
	if err != nil {
		return nil, err
	}
	if err := writeFiles(ctx, r, dir, files); err != nil {
		return nil, fmt.Errorf("docker state: %w", err)
	}
	return arts, nil
}

// BackupInline copies the compose files and takes the snapshot in one
// command, and returns the snapshot's file for the Plan to write.
func (d *DockerState) BackupInline(ctx context.Context, r host.Runner, dir string) ([]Artifact, []File, error) {
	seen := map[string]bool{}
	for _, f := range d.ComposeFiles {
		b := path.Base(f)
		if err := checkName("compose file", b); err != nil {
			return nil, nil, fmt.Errorf("docker state: %w", err)
		}
		if seen[b] {
			return nil, nil, fmt.Errorf("docker state: two compose files are named %s: copy them under different names", b)
		}
		seen[b] = true
	}
	snap, copied, err := d.run(ctx, r, path.Join(dir, "compose"))
	if err != nil {
		return nil, nil, err
	}
	data, err := json.MarshalIndent(snap, "", "  ")
	if err != nil {
		return nil, nil, fmt.Errorf("docker state: encode: %w", err)
	}
	file := d.Name() + ".json"
	arts := []Artifact{{Path: file, Kind: KindJSON}}
	for _, b := range copied {
		arts = append(arts, Artifact{Path: "compose/" + b, Kind: KindFile})
	}
	return arts, []File{{Path: file, Data: append(data, '\n')}}, nil
}
