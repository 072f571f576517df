package hosttest

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// docker answers the docker CLI commands blueshift runs on a host: version,
// volume inspect, ps with a filter, container and image inspect, exec.
func (m *Model) docker(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) >= 1 && args[0] == "version":
		m.mu.Lock()
		v := m.DockerVersion
		m.mu.Unlock()
		fmt.Fprintln(stdout, v)
		return 0
	case len(args) == 6 && args[0] == "volume" && args[1] == "inspect" && args[2] == "--format" && args[4] == "--":
		return m.volumeInspect(args[5], stdout, stderr)
	case len(args) >= 1 && args[0] == "ps":
		return m.dockerPs(args[1:], stdout, stderr)
	case len(args) >= 3 && args[0] == "container" && args[1] == "inspect" && args[2] == "--":
		return m.inspectContainers(args[3:], stdout, stderr)
	case len(args) >= 3 && args[0] == "image" && args[1] == "inspect" && args[2] == "--":
		return m.inspectImages(args[3:], stdout, stderr)
	case len(args) >= 3 && args[0] == "exec":
		return m.dockerExec(args, stdout, stderr)
	}
	fmt.Fprintf(stderr, "fake docker: unsupported command %q\n", args)
	return unsupported
}

// volumeInspect answers `volume inspect --format ... -- NAME`: the
// volume's mount point.
func (m *Model) volumeInspect(name string, stdout, stderr io.Writer) int {
	m.mu.Lock()
	mp, ok := m.volumes[name]
	m.mu.Unlock()
	if !ok {
		fmt.Fprintf(stderr, "Error response from daemon: get %s: no such volume\n", name)
		return 1
	}
	fmt.Fprintln(stdout, mp)
	return 0
}

// dockerExec answers `exec [-e K=V]... CONTAINER CMD...` in a running
// container of the model.
func (m *Model) dockerExec(args []string, stdout, stderr io.Writer) int {
	rest := args[1:]
	for len(rest) > 0 && strings.HasPrefix(rest[0], "-") {
		if rest[0] == "-e" || rest[0] == "--env" {
			rest = rest[1:]
		}
		rest = rest[1:]
	}
	if len(rest) < 2 {
		fmt.Fprintf(stderr, "fake docker: unsupported command %q\n", args)
		return unsupported
	}
	for _, c := range m.Containers("") {
		if (c.ID == rest[0] || c.Name == rest[0]) && c.Running() {
			return m.runIn(c, rest[1:], stdout)
		}
	}
	fmt.Fprintf(stderr, "Error response from daemon: container %s is not running\n", rest[0])
	return 1
}

// dockerPs answers `ps --quiet [--no-trunc] --filter label=K=V|volume=NAME`:
// the running containers matching.
func (m *Model) dockerPs(args []string, stdout, stderr io.Writer) int {
	var filter string
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "--quiet", "-q", "--no-trunc":
		case "--filter":
			i++
			filter = args[i]
		default:
			fmt.Fprintf(stderr, "fake docker: ps: unsupported argument %q\n", args[i])
			return unsupported
		}
	}
	for _, c := range m.Containers("") {
		if c.Running() && matchesFilter(c, filter) {
			fmt.Fprintln(stdout, c.ID)
		}
	}
	return 0
}

// matchesFilter is docker's label=K=V, label=K and volume=NAME filters.
func matchesFilter(c Container, filter string) bool {
	kind, val, _ := strings.Cut(filter, "=")
	switch kind {
	case "":
		return true
	case "label":
		k, v, hasValue := strings.Cut(val, "=")
		got, ok := c.Labels[k]
		return ok && (!hasValue || got == v)
	case "volume":
		return slices.Contains(c.Volumes, val)
	}
	return false
}

// inspectedContainer is the part of `docker container inspect` the model gives.
type inspectedContainer struct {
	ID     string `json:"Id"`
	Name   string `json:"Name"`
	Image  string `json:"Image"`
	Config struct {
		Image  string            `json:"Image"`
		Labels map[string]string `json:"Labels"`
	} `json:"Config"`
	State struct {
		Status  string `json:"Status"`
		Running bool   `json:"Running"`
	} `json:"State"`
}

func (m *Model) inspectContainers(ids []string, stdout, stderr io.Writer) int {
	var out []inspectedContainer
	all := m.Containers("")
	for _, id := range ids {
		i := slices.IndexFunc(all, func(c Container) bool { return c.ID == id || c.Name == id })
		if i < 0 {
			fmt.Fprintf(stderr, "Error: No such container: %s\n", id)
			return 1
		}
		c := all[i]
		ic := inspectedContainer{ID: c.ID, Name: "/" + c.Name, Image: m.imageID(c.Image)}
		ic.Config.Image, ic.Config.Labels = c.Image, c.Labels
		ic.State.Status, ic.State.Running = c.State, c.Running()
		out = append(out, ic)
	}
	return writeJSON(out, stdout, stderr)
}

// imageID is the ID of local image ref ("" when absent).
func (m *Model) imageID(ref string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.images[ref].id
}

func (m *Model) inspectImages(ids []string, stdout, stderr io.Writer) int {
	type inspectedImage struct {
		ID          string   `json:"Id"`
		RepoTags    []string `json:"RepoTags"`
		RepoDigests []string `json:"RepoDigests"`
	}
	var out []inspectedImage
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range ids {
		found := false
		for ref, img := range m.images {
			if img.id == id || ref == id {
				ii := inspectedImage{ID: img.id, RepoTags: []string{ref}, RepoDigests: []string{}}
				if img.digest != "" {
					ii.RepoDigests = []string{img.digest}
				}
				out = append(out, ii)
				found = true
				break
			}
		}
		if !found {
			fmt.Fprintf(stderr, "Error: No such image: %s\n", id)
			return 1
		}
	}
	return writeJSON(out, stdout, stderr)
}

func writeJSON(v any, stdout, stderr io.Writer) int {
	data, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s\n", data)
	return 0
}
