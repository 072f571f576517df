package hosttest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Container is one container of the Model, as docker and compose show it.
type Container struct {
	ID, Name string
	// Project and Service are compose's; Labels include compose's own
	// (com.docker.compose.project, .service, .project.config_files) and the
	// service's from the compose file.
	Project, Service string
	Image            string
	Labels           map[string]string
	// State is Docker's: "running", "exited", "restarting".
	State string
	// Ports are the host ports it publishes on 127.0.0.1.
	Ports []int
	// Volumes are the named volumes it mounts, by full name.
	Volumes []string
	// Logs is what `compose logs` prints for it.
	Logs string
}

// Running reports whether the container runs (a crash-looping one does not serve).
func (c Container) Running() bool { return c.State == "running" }

// ExecFunc answers a command run in a container (`compose exec`, `docker
// exec`, the Engine API's exec): its output and exit code.
type ExecFunc func(c Container, argv []string) (output string, code int)

// Model is the in-memory Docker Engine, Compose and nginx behind a Fake:
// images locally and in a registry, containers per compose project,
// volumes, networks, and the colour nginx serves. Its knobs make commands
// fail the way real ones do. It is safe for concurrent use.
type Model struct {
	mu         sync.Mutex
	containers []*Container
	images     map[string]imageInfo // local, by reference
	registry   map[string]string    // reference -> digest
	volumes    map[string]string    // name -> mountpoint
	networks   map[string]map[string]string
	crashing   map[string]bool // images whose containers crash-loop
	failures   []failure
	commands   [][]string
	seq        int
	volumeRoot string

	// ComposeVersion is what `docker compose version --short` prints
	// ("2.40.3" unless set); "" makes Compose v2 missing. Set it (and
	// DockerVersion) before the fake runs commands, or with SetVersions.
	ComposeVersion string
	// DockerVersion is the Engine's version ("28.5.2" unless set).
	DockerVersion string

	proxyLive string // the colour nginx serves since its last reload
	// colourListen is where the loaded upstream file's colour server
	// listens (traffic.NginxConfig.ColourListen), "" for none.
	colourListen string
	reloads      int
	upstream     string // the upstream file nginx includes (NginxIncludes)

	appHandler http.Handler
	exec       ExecFunc
}

type imageInfo struct {
	id     string
	digest string // repo@sha256:..., "" for an image built locally
}

type failure struct {
	words  []string
	code   int
	stderr string
}

// NewModel returns an empty model: no images, containers or volumes,
// Compose v2 present, every command succeeding.
func NewModel() *Model {
	return &Model{
		images: map[string]imageInfo{}, registry: map[string]string{}, volumes: map[string]string{},
		networks: map[string]map[string]string{}, crashing: map[string]bool{},
		ComposeVersion: "2.40.3", DockerVersion: "28.5.2", volumeRoot: os.TempDir(),
	}
}

// AddImage puts image ref on the engine, as a local build does (no
// registry digest).
func (m *Model) AddImage(ref string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seq++
	m.images[ref] = imageInfo{id: fmt.Sprintf("sha256:%064x", m.seq)}
}

// PushImage puts image ref in its registry, where a pull finds it.
func (m *Model) PushImage(ref string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seq++
	m.registry[ref] = fmt.Sprintf("sha256:%064x", 1<<32+m.seq)
}

// HasImage reports whether ref is on the engine.
func (m *Model) HasImage(ref string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.images[ref]
	return ok
}

// pull copies ref from the registry onto the engine.
func (m *Model) pull(ref string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	dg, ok := m.registry[ref]
	if !ok {
		return false
	}
	m.seq++
	m.images[ref] = imageInfo{id: fmt.Sprintf("sha256:%064x", m.seq), digest: repository(ref) + "@" + dg}
	return true
}

// repository is ref without its tag or digest.
func repository(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

// CrashLoop makes the containers of image ref restart forever: `compose
// up` succeeds (it does not wait), but they never run nor answer.
func (m *Model) CrashLoop(ref string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.crashing[ref] = true
}

// Fail makes every later command whose argv holds all of words (each an
// argument of its own, in any order) exit with code, writing stderr:
// Fail(1, "Error response from daemon: ...", "myapp-green", "up") makes
// starting the green colour fail, Fail(1, "nginx: [emerg] ...", "nginx",
// "-t") nginx's check, Fail(1, "...", "exec", "migrate") a migration.
// Commands that the fake runs for real (sh, test, tar...) never match.
func (m *Model) Fail(code int, stderr string, words ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failures = append(m.failures, failure{words: words, code: code, stderr: stderr})
}

// ClearFailures makes commands succeed again.
func (m *Model) ClearFailures() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failures = nil
}

// SetApp sets the handler answering the containers' published ports
// (ContainerOf tells which container a request reached); the default
// answers 200 "<version> <colour>" with an X-Colour header.
func (m *Model) SetApp(h http.Handler) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.appHandler = h
}

// SetExec sets what commands run in containers answer; the default prints
// nothing and exits 0.
func (m *Model) SetExec(f ExecFunc) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.exec = f
}

// NginxIncludes names the upstream file the fake nginx includes: `nginx
// -T` then shows it and a proxy_pass to each of its upstreams.
func (m *Model) NginxIncludes(file string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.upstream = file
}

// ProxyLive is the colour nginx serves: the upstream file's marker as of
// its last successful reload ("" before any).
func (m *Model) ProxyLive() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.proxyLive
}

// listenRE finds the colour server's listen directive in an upstream file.
var listenRE = regexp.MustCompile(`(?m)^\s*listen\s+([^;\s]+);`)

// colourServer returns where the loaded colour server listens and the
// colour it answers.
func (m *Model) colourServer() (listen, colour string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.colourListen, m.proxyLive
}

// Reloads counts nginx's successful reloads.
func (m *Model) Reloads() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reloads
}

// Containers returns copies of the containers of project ("" for all),
// sorted by name.
func (m *Model) Containers(project string) []Container {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Container
	for _, c := range m.containers {
		if project == "" || c.Project == project {
			out = append(out, c.copy())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Commands returns every command the model answered, in order.
func (m *Model) Commands() [][]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.commands)
}

// Volumes lists the volumes' names, sorted.
func (m *Model) Volumes() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for v := range m.volumes {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

func (c *Container) copy() Container {
	out := *c
	out.Labels = make(map[string]string, len(c.Labels))
	for k, v := range c.Labels {
		out.Labels[k] = v
	}
	out.Ports, out.Volumes = slices.Clone(c.Ports), slices.Clone(c.Volumes)
	return out
}

// Handles reports whether the model answers program argv0.
func (m *Model) Handles(argv0 string) bool {
	switch filepath.Base(argv0) {
	case "docker", "docker-compose", "nginx":
		return true
	}
	return false
}

// Exec answers argv (a docker, compose or nginx command) and returns its
// exit code, writing its output to stdout and stderr.
func (m *Model) Exec(ctx context.Context, argv []string, stdin io.Reader, stdout, stderr io.Writer) int {
	m.mu.Lock()
	m.commands = append(m.commands, slices.Clone(argv))
	for _, f := range m.failures {
		if containsAll(argv, f.words) {
			m.mu.Unlock()
			fmt.Fprintln(stderr, f.stderr)
			return f.code
		}
	}
	m.mu.Unlock()
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, ctx.Err())
		return 130
	}
	args := argv[1:]
	switch filepath.Base(argv[0]) {
	case "nginx":
		return m.nginx(args, stdout, stderr)
	case "docker-compose":
		return m.compose(args, true, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "compose" {
		return m.compose(args[1:], false, stdout, stderr)
	}
	return m.docker(args, stdout, stderr)
}

func containsAll(argv, words []string) bool {
	for _, w := range words {
		if !slices.Contains(argv, w) {
			return false
		}
	}
	return true
}

// unsupported is the exit code of a command the model does not know.
const unsupported = 125

// nginx answers -t, -T and -s reload.
func (m *Model) nginx(args []string, stdout, stderr io.Writer) int {
	switch {
	case slices.Equal(args, []string{"-t"}):
		fmt.Fprintln(stderr, "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok")
		return 0
	case slices.Equal(args, []string{"-T"}):
		m.mu.Lock()
		file := m.upstream
		m.mu.Unlock()
		fmt.Fprintln(stdout, "# configuration file /etc/nginx/nginx.conf:")
		if file != "" {
			data, _ := os.ReadFile(file)
			fmt.Fprintf(stdout, "include %s;\n# configuration file %s:\n%s\n", file, file, data)
			for _, l := range strings.Split(string(data), "\n") {
				if f := strings.Fields(l); len(f) >= 2 && f[0] == "upstream" {
					fmt.Fprintf(stdout, "location / { proxy_pass http://%s; }\n", f[1])
				}
			}
		}
		return 0
	case slices.Equal(args, []string{"-s", "reload"}):
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.upstream != "" {
			data, _ := os.ReadFile(m.upstream)
			if _, rest, ok := strings.Cut(string(data), "# blueshift colour="); ok {
				m.proxyLive = strings.Fields(rest)[0]
			}
			m.colourListen = ""
			if l := listenRE.FindStringSubmatch(string(data)); l != nil {
				m.colourListen = l[1]
			}
		}
		m.reloads++
		return 0
	}
	fmt.Fprintf(stderr, "fake nginx: unsupported arguments %q\n", args)
	return unsupported
}

// composeProject is what the model reads of a compose file.
type composeProject struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]struct {
		Name string `yaml:"name"`
	} `yaml:"volumes"`
}

type composeService struct {
	Image         string            `yaml:"image"`
	ContainerName string            `yaml:"container_name"`
	Labels        map[string]string `yaml:"labels"`
	Ports         []yaml.Node       `yaml:"ports"`
	Volumes       []yaml.Node       `yaml:"volumes"`
}

// composeArgs are a compose command line's global flags and its command.
type composeArgs struct {
	project string
	files   []string
	cmd     string
	rest    []string
}

func parseComposeArgs(args []string) (composeArgs, error) {
	var a composeArgs
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "--project-name", "-p":
			i++
			a.project = args[i]
		case "--file", "-f":
			i++
			a.files = append(a.files, args[i])
		case "--env-file", "--profile":
			i++
		default:
			if strings.HasPrefix(args[i], "-") {
				return a, fmt.Errorf("unsupported flag %s", args[i])
			}
			a.cmd, a.rest = args[i], args[i+1:]
			return a, nil
		}
	}
	return a, fmt.Errorf("no command")
}

// compose answers a compose command; legacy is docker-compose (v1).
func (m *Model) compose(args []string, legacy bool, stdout, stderr io.Writer) int {
	if len(args) == 2 && args[0] == "version" && args[1] == "--short" {
		m.mu.Lock()
		v := m.ComposeVersion
		m.mu.Unlock()
		if legacy || v == "" {
			fmt.Fprintln(stderr, "docker-compose: command not found")
			return 127
		}
		fmt.Fprintln(stdout, v)
		return 0
	}
	a, err := parseComposeArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "fake compose: %v in %q\n", err, args)
		return unsupported
	}
	switch a.cmd {
	case "up":
		return m.composeUp(a, stderr)
	case "start":
		return m.setState(a.project, "start", stderr)
	case "stop":
		return m.setState(a.project, "stop", stderr)
	case "down":
		m.mu.Lock()
		m.containers = slices.DeleteFunc(m.containers, func(c *Container) bool { return c.Project == a.project })
		m.mu.Unlock()
		return 0
	case "config":
		return m.composeConfig(a, stderr)
	case "exec":
		return m.composeExec(a, stdout, stderr)
	case "logs":
		for _, c := range m.Containers(a.project) {
			fmt.Fprint(stdout, c.Logs)
		}
		return 0
	case "ps":
		for _, c := range m.Containers(a.project) {
			fmt.Fprintf(stdout, `{"ID":%q,"Name":%q,"Service":%q,"Project":%q,"State":%q,"Image":%q}`+"\n", c.ID, c.Name, c.Service, c.Project, c.State, c.Image)
		}
		return 0
	}
	fmt.Fprintf(stderr, "fake compose: unsupported command %q\n", a.cmd)
	return unsupported
}

// composeConfig answers `config --quiet`: the one --file must exist and
// parse as a compose project (Fail gives a Compose's refusals).
func (m *Model) composeConfig(a composeArgs, stderr io.Writer) int {
	if len(a.files) != 1 || !slices.Equal(a.rest, []string{"--quiet"}) {
		fmt.Fprintf(stderr, "fake compose: config needs one --file and --quiet, got %v %v\n", a.files, a.rest)
		return unsupported
	}
	p, code := readProject(a.files[0], stderr)
	if code == 0 && len(p.Services) == 0 {
		fmt.Fprintf(stderr, "%s: not a compose project: no services\n", a.files[0])
		return 15
	}
	return code
}

// readProject reads the compose file at file as compose would: exit code
// 14 when it is missing, 15 when it does not parse.
func readProject(file string, stderr io.Writer) (composeProject, int) {
	var p composeProject
	data, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(stderr, "open %s: no such file or directory\n", file)
		return p, 14
	}
	if err := yaml.Unmarshal(data, &p); err != nil {
		fmt.Fprintf(stderr, "%s: yaml: %v\n", file, err)
		return p, 15
	}
	return p, 0
}

// composeUp creates or recreates the project's containers from its file
// and starts them (--no-recreate keeps existing ones as they are, started).
func (m *Model) composeUp(a composeArgs, stderr io.Writer) int {
	if len(a.files) != 1 {
		fmt.Fprintln(stderr, "fake compose: up needs exactly one --file")
		return unsupported
	}
	p, code := readProject(a.files[0], stderr)
	if code != 0 {
		return code
	}
	noRecreate := slices.Contains(a.rest, "--no-recreate")
	names := make([]string, 0, len(p.Services))
	for name := range p.Services {
		names = append(names, name)
	}
	sort.Strings(names)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, name := range names {
		if _, ok := m.images[p.Services[name].Image]; !ok {
			if dg, ok := m.registry[p.Services[name].Image]; ok {
				m.seq++
				ref := p.Services[name].Image
				m.images[ref] = imageInfo{id: fmt.Sprintf("sha256:%064x", m.seq), digest: repository(ref) + "@" + dg}
				continue
			}
			fmt.Fprintf(stderr, "Error response from daemon: pull access denied for %s, repository does not exist or may require 'docker login'\n", repository(p.Services[name].Image))
			return 18
		}
	}
	// Orphans go.
	m.containers = slices.DeleteFunc(m.containers, func(c *Container) bool {
		_, ok := p.Services[c.Service]
		return c.Project == a.project && !ok
	})
	for _, name := range names {
		svc := p.Services[name]
		want := m.newContainer(a, p, name, svc)
		i := slices.IndexFunc(m.containers, func(c *Container) bool { return c.Project == a.project && c.Service == name })
		if i >= 0 {
			old := m.containers[i]
			if noRecreate || old.Image == want.Image && mapsEqual(old.Labels, want.Labels) {
				if old.State != "running" && old.State != "restarting" {
					old.State = m.startState(old.Image)
				}
				continue
			}
			m.containers = slices.Delete(m.containers, i, i+1)
		}
		for _, v := range want.Volumes {
			m.ensureVolume(v, nil)
		}
		m.containers = append(m.containers, want)
	}
	return 0
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// startState is the state a container of image ref reaches when started.
func (m *Model) startState(ref string) string {
	if m.crashing[ref] {
		return "restarting"
	}
	return "running"
}

// newContainer builds service name's container as compose creates it.
func (m *Model) newContainer(a composeArgs, p composeProject, name string, svc composeService) *Container {
	m.seq++
	labels := map[string]string{}
	for k, v := range svc.Labels {
		labels[k] = v
	}
	file, _ := filepath.Abs(a.files[0])
	if filepath.IsAbs(a.files[0]) {
		file = a.files[0]
	}
	labels["com.docker.compose.project"] = a.project
	labels["com.docker.compose.service"] = name
	labels["com.docker.compose.project.config_files"] = file
	labels["com.docker.compose.project.working_dir"] = filepath.Dir(file)
	c := &Container{
		ID: fmt.Sprintf("%064x", 1<<40+m.seq), Name: a.project + "-" + name + "-1", Project: a.project, Service: name,
		Image: svc.Image, Labels: labels, State: m.startState(svc.Image),
	}
	if svc.ContainerName != "" {
		c.Name = svc.ContainerName
	}
	if c.State == "running" {
		c.Logs = fmt.Sprintf("%s  | listening\n", name)
	} else {
		c.Logs = fmt.Sprintf("%s  | panic: the app crashed on start\n", name)
	}
	for _, n := range svc.Ports {
		var port struct {
			Published string `yaml:"published"`
		}
		if n.Kind == yaml.MappingNode && n.Decode(&port) == nil {
			if p, err := strconv.Atoi(port.Published); err == nil {
				c.Ports = append(c.Ports, p)
			}
		}
	}
	for _, n := range svc.Volumes {
		var vol struct {
			Type, Source string
		}
		if n.Kind == yaml.MappingNode && n.Decode(&vol) == nil && vol.Type == "volume" && vol.Source != "" {
			full := a.project + "_" + vol.Source
			if v, ok := p.Volumes[vol.Source]; ok && v.Name != "" {
				full = v.Name
			}
			c.Volumes = append(c.Volumes, full)
		}
	}
	return c
}

// setState starts or stops the project's containers.
func (m *Model) setState(project, verb string, stderr io.Writer) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, c := range m.containers {
		if c.Project != project {
			continue
		}
		n++
		if verb == "stop" {
			c.State = "exited"
		} else if c.State != "running" {
			c.State = m.startState(c.Image)
		}
	}
	if n == 0 && verb == "start" {
		fmt.Fprintf(stderr, "service %q has no container to start\n", project)
		return 1
	}
	return 0
}

// composeExec runs `exec -T [--env K]... SERVICE ARGV...` in the project's
// running container of SERVICE.
func (m *Model) composeExec(a composeArgs, stdout, stderr io.Writer) int {
	rest := a.rest
	for len(rest) > 0 && strings.HasPrefix(rest[0], "-") {
		if rest[0] == "--env" || rest[0] == "-e" {
			rest = rest[1:]
		}
		rest = rest[1:]
	}
	if len(rest) < 2 {
		fmt.Fprintln(stderr, "fake compose: exec needs a service and a command")
		return unsupported
	}
	for _, c := range m.Containers(a.project) {
		if c.Service == rest[0] && c.Running() {
			return m.runIn(c, rest[1:], stdout)
		}
	}
	fmt.Fprintf(stderr, "service %q is not running\n", rest[0])
	return 1
}

// runIn answers argv run in container c.
func (m *Model) runIn(c Container, argv []string, stdout io.Writer) int {
	m.mu.Lock()
	f := m.exec
	m.mu.Unlock()
	if f == nil {
		return 0
	}
	out, code := f(c, argv)
	fmt.Fprint(stdout, out)
	return code
}

// ensureVolume creates volume name (its mountpoint a directory) unless it exists.
func (m *Model) ensureVolume(name string, labels map[string]string) string {
	if mp, ok := m.volumes[name]; ok {
		return mp
	}
	mp := filepath.Join(m.volumeRoot, name, "_data")
	_ = os.MkdirAll(mp, 0o755)
	m.volumes[name] = mp
	return mp
}

// publishes reports whether a container publishes port, running or not.
func (m *Model) publishes(port int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.containers {
		if slices.Contains(c.Ports, port) {
			return true
		}
	}
	return false
}

// containerOnPort is the running container publishing port.
func (m *Model) containerOnPort(port int) (Container, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.containers {
		if slices.Contains(c.Ports, port) && c.Running() {
			return c.copy(), true
		}
	}
	return Container{}, false
}

type containerKey struct{}

func withContainer(ctx context.Context, c Container) context.Context {
	return context.WithValue(ctx, containerKey{}, c)
}

// ContainerOf is the container a request to the model's App reached.
func ContainerOf(r *http.Request) (Container, bool) {
	c, ok := r.Context().Value(containerKey{}).(Container)
	return c, ok
}

// app is the handler of published ports.
func (m *Model) app() http.Handler {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.appHandler != nil {
		return m.appHandler
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := ContainerOf(r)
		w.Header().Set("X-Colour", c.Labels["blueshift.colour"])
		fmt.Fprintf(w, "%s %s\n", c.Labels["blueshift.version"], c.Labels["blueshift.colour"])
	})
}

// VolumePath is the directory holding volume name's files (its
// mountpoint), and whether the volume exists.
func (m *Model) VolumePath(name string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	mp, ok := m.volumes[name]
	return mp, ok
}

// SetVersions sets DockerVersion and ComposeVersion ("" leaves one as it
// is) while commands may be running: commands reach the model from the
// shims' processes, whose ordering the race detector cannot see.
func (m *Model) SetVersions(docker, compose string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if docker != "" {
		m.DockerVersion = docker
	}
	if compose != "" {
		m.ComposeVersion = compose
	}
}
