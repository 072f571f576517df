package backup

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"sort"
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

// psArgv lists running container IDs matching filter.
func psArgv(filter string) []string {
	return []string{"docker", "ps", "--quiet", "--no-trunc", "--filter", filter}
}

func containerInspectArgv(ids []string) []string {
	return append([]string{"docker", "container", "inspect", "--"}, ids...)
}

func imageInspectArgv(ids []string) []string {
	return append([]string{"docker", "image", "inspect", "--"}, ids...)
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

// Snapshot inspects the running containers matching the filters.
func (d *DockerState) Snapshot(ctx context.Context, r host.Runner) (Snapshot, error) {
	if len(d.Filters) == 0 {
		return Snapshot{}, fmt.Errorf("docker state %s: no Filters: name the app's containers (label=com.docker.compose.project=<app>-blue)", d.Name())
	}
	snap := Snapshot{TakenAt: time.Now().UTC(), Containers: []ContainerState{}}
	seen := map[string]bool{}
	var ids []string
	for _, f := range d.Filters {
		out, err := output(ctx, r, psArgv(f)...)
		if err != nil {
			return Snapshot{}, fmt.Errorf("docker state: list containers (%s): %w", f, err)
		}
		for _, id := range strings.Fields(out) {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		return snap, nil
	}
	out, err := output(ctx, r, containerInspectArgv(ids)...)
	if err != nil {
		return Snapshot{}, fmt.Errorf("docker state: inspect containers: %w", err)
	}
	var cs []inspectedContainer
	if err := json.Unmarshal([]byte(out), &cs); err != nil {
		return Snapshot{}, fmt.Errorf("docker state: decode docker container inspect: %w", err)
	}
	var imageIDs []string
	seenImg := map[string]bool{}
	for _, c := range cs {
		if !seenImg[c.Image] {
			seenImg[c.Image] = true
			imageIDs = append(imageIDs, c.Image)
		}
	}
	digests := map[string][]string{}
	if out, err := output(ctx, r, imageInspectArgv(imageIDs)...); err != nil {
		return Snapshot{}, fmt.Errorf("docker state: inspect images: %w", err)
	} else {
		var imgs []inspectedImage
		if err := json.Unmarshal([]byte(out), &imgs); err != nil {
			return Snapshot{}, fmt.Errorf("docker state: decode docker image inspect: %w", err)
		}
		for _, im := range imgs {
			digests[im.ID] = im.RepoDigests
		}
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
	return snap, nil
}

// Backup writes the snapshot and copies the compose files.
func (d *DockerState) Backup(ctx context.Context, r host.Runner, dir string) ([]Artifact, error) {
	seen := map[string]bool{}
	for _, f := range d.ComposeFiles {
		b := path.Base(f)
		if err := checkName("compose file", b); err != nil {
			return nil, fmt.Errorf("docker state: %w", err)
		}
		if seen[b] {
			return nil, fmt.Errorf("docker state: two compose files are named %s: copy them under different names", b)
		}
		seen[b] = true
	}
	snap, err := d.Snapshot(ctx, r)
	if err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(snap, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("docker state: encode: %w", err)
	}
	file := d.Name() + ".json"
	if err := writeJSON(ctx, r, path.Join(dir, file), append(data, '\n')); err != nil {
		return nil, fmt.Errorf("docker state: %w", err)
	}
	arts := []Artifact{{Path: file, Kind: KindJSON}}
	if len(d.ComposeFiles) == 0 {
		return arts, nil
	}
	var out strings.Builder
	if err := r.Run(ctx, host.Cmd{Argv: copyComposeArgv(path.Join(dir, "compose"), d.ComposeFiles), Stdout: &out}); err != nil {
		return nil, fmt.Errorf("docker state: copy compose files %s: %w", strings.Join(d.ComposeFiles, ", "), err)
	}
	for _, b := range strings.Fields(out.String()) {
		arts = append(arts, Artifact{Path: "compose/" + b, Kind: KindFile})
	}
	return arts, nil
}

// copyComposeScript copies the compose files that exist into its first
// argument's directory and prints the base name of each one copied.
//
// Why one script, skipping missing files: over SSH each command is a
// session; the copy was a mkdir and one cp per file, and the caller asked
// the host beforehand which colour files exist (a `test -e` each). A
// colour never rendered simply has no file to keep.
const copyComposeScript = `d=$1; shift
mkdir -p -- "$d" || exit 73
for f; do
	[ -e "$f" ] || continue
	cp -- "$f" "$d/${f##*/}" || exit 74
	printf '%s\n' "${f##*/}"
done`

func copyComposeArgv(dir string, files []string) []string {
	return append([]string{"sh", "-c", copyComposeScript, "sh", dir}, files...)
}
