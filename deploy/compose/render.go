package compose

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"

	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// Labels Render puts on every service.
const (
	LabelApp          = "blueshift.app"
	LabelColour       = "blueshift.colour" // "blue", "green" or "shared"
	LabelVersion      = "blueshift.version"
	LabelDeploymentID = "blueshift.deployment-id"
)

// SharedColour is the LabelColour value of shared services.
const SharedColour = "shared"

// PortMap publishes one container port of a stateless service on a loopback
// port of the host, different for each colour.
type PortMap struct {
	// Container is the port the service listens on inside its container.
	Container uint32
	// Host is the port on 127.0.0.1 of the host for this colour.
	Host uint32
}

// RenderOptions describes the deployment a colour project is rendered for.
type RenderOptions struct {
	// App names the application; it prefixes every project, volume and
	// network ("shop" gives projects "shop", "shop-blue", "shop-green",
	// volume "shop_media", network "shop_net"). Lowercase letters, digits,
	// '-' and '_', starting with a letter or digit. Required.
	App string
	// Colour is version.Blue or version.Green. Required.
	Colour version.Colour
	// Version is the image tag deployed ("v1.0.1"). Required.
	Version string
	// DeploymentID is recorded in a label on each colour service.
	DeploymentID string
	// Shared lists the stateful services (database, cache) that live in the
	// shared project "<app>", started once and never recreated by a deploy.
	Shared []string
	// Stateless lists the services each colour runs. Default: every service
	// not in Shared. When set, every service must be in one of the lists.
	Stateless []string
	// Ports maps stateless services to the loopback port they are published
	// on for this colour; the published ports of other stateless services
	// are dropped. Shared services keep their ports.
	Ports map[string]PortMap
	// Images overrides the image of a service with a full reference
	// ("ghcr.io/acme/web@sha256:..."), for pinning a digest.
	Images map[string]string
	// PinnedImages lists stateless services whose image is kept as written
	// (a third-party proxy, "nginx:1.27"); every other stateless service gets
	// its image tag replaced by Version.
	PinnedImages []string
	// HostDir is the application's directory on the server. Relative paths
	// (bind mounts, env_file, secret and config files) are made absolute
	// under it, so the rendered file works wherever it is written. Empty
	// keeps them relative to the rendered file's directory.
	HostDir string
}

// Resource is a Docker volume or network that both colours and the shared
// project use. Rendered projects refer to it as external: create it before
// starting them (deploy/container's EnsureVolume and EnsureNetwork).
type Resource struct {
	// Name is the Docker object's name ("shop_media").
	Name string
	// Driver and DriverOpts are the volume's driver settings from the
	// compose file; empty means Docker's default.
	Driver     string
	DriverOpts map[string]string
	// Labels are set when the object is created.
	Labels map[string]string
}

// Rendered is one deployment's pair of projects.
type Rendered struct {
	// Colour holds the stateless services of the colour being deployed.
	Colour *RenderedProject
	// Shared holds the shared services; it may have no services.
	Shared *RenderedProject
	// Volumes and Networks must exist before either project starts.
	Volumes, Networks []Resource
}

// RenderedProject is a compose project ready to be written to the host.
type RenderedProject struct {
	Project   *types.Project
	sensitive bool
	masks     map[string]string // variable name -> interpolated value
}

// Name is the compose project name ("shop-blue", "shop").
func (r *RenderedProject) Name() string { return r.Project.Name }

// Services returns the project's service names, sorted.
func (r *RenderedProject) Services() []string {
	names := make([]string, 0, len(r.Project.Services))
	for n := range r.Project.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// FileMode is the permission to write the rendered file with: 0600 when
// values from an env file were interpolated into it (they may be secrets),
// 0644 otherwise.
func (r *RenderedProject) FileMode() fs.FileMode {
	if r.sensitive {
		return 0o600
	}
	return 0o644
}

// YAML returns the project as a compose file. The output is deterministic,
// and every '$' in a value is escaped as "$$" so the host's compose does not
// interpolate values a second time. It holds the real values of the
// variables interpolated from env files: write it to the host (with
// FileMode), never print it; MaskedYAML is the one for people.
func (r *RenderedProject) YAML() ([]byte, error) {
	return r.encode(escapeDollars)
}

// MaskedYAML is YAML for printing (deploy:plan, compose:render): every value
// interpolated from an env file or LoadOptions.Env is shown as the
// reference it came from, "${DB_PASSWORD}", so the output can go to a
// terminal or a CI log. The file a deployment writes is YAML, unmasked.
//
// Values are masked wherever they occur in a string value (not only where
// the compose file wrote the reference), longest first; a value shorter
// than MinMaskLen characters is masked only where it is the whole string
// ("80" is not hidden inside "8080"). Mapping keys are left alone.
func (r *RenderedProject) MaskedYAML() ([]byte, error) {
	m := newMasker(r.masks)
	return r.encode(func(n *yaml.Node) { walkValues(n, m.mask) })
}

// encode marshals the project, lets edit change the YAML tree, and writes
// it out with two-space indentation.
func (r *RenderedProject) encode(edit func(*yaml.Node)) ([]byte, error) {
	raw, err := r.Project.MarshalYAML()
	if err != nil {
		return nil, fmt.Errorf("compose: render %s: %w", r.Name(), err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("compose: render %s: %w", r.Name(), err)
	}
	edit(&doc)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("compose: render %s: %w", r.Name(), err)
	}
	return buf.Bytes(), nil
}

// MinMaskLen is the shortest value MaskedYAML masks inside a longer string.
const MinMaskLen = 4

// masker replaces variables' values by their references.
type masker struct {
	names  []string          // longest value first
	values map[string]string // name -> value
	whole  map[string]string // value -> name, for whole-string matches
}

func newMasker(vars map[string]string) *masker {
	m := &masker{values: map[string]string{}, whole: map[string]string{}}
	for _, name := range sortedKeys(vars) {
		v := vars[name]
		if v == "" {
			continue
		}
		m.values[name] = v
		if _, ok := m.whole[v]; !ok {
			m.whole[v] = name
		}
		if len(v) >= MinMaskLen {
			m.names = append(m.names, name)
		}
	}
	sort.SliceStable(m.names, func(i, j int) bool { return len(m.values[m.names[i]]) > len(m.values[m.names[j]]) })
	return m
}

// mask rewrites a string scalar: values become "${NAME}", and every other
// '$' is escaped as "$$", as in YAML's output.
func (m *masker) mask(n *yaml.Node) {
	if n.Tag != "!!str" && n.Tag != "" {
		return
	}
	s := n.Value
	if name, ok := m.whole[s]; ok {
		n.Value, n.Style = "${"+name+"}", n.Style&(yaml.LiteralStyle|yaml.FoldedStyle)
		return
	}
	var b strings.Builder
next:
	for i := 0; i < len(s); {
		for _, name := range m.names {
			if v := m.values[name]; strings.HasPrefix(s[i:], v) {
				b.WriteString("${" + name + "}")
				i += len(v)
				continue next
			}
		}
		if s[i] == '$' {
			b.WriteString("$$")
		} else {
			b.WriteByte(s[i])
		}
		i++
	}
	if b.String() != strings.ReplaceAll(s, "$", "$$") {
		// Quoting was chosen for the value; let the encoder choose again.
		n.Style &= yaml.LiteralStyle | yaml.FoldedStyle
	}
	n.Value = b.String()
}

// walkValues calls fn on every scalar that is not a mapping key.
func walkValues(n *yaml.Node, fn func(*yaml.Node)) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			walkValues(c, fn)
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			walkValues(n.Content[i], fn)
		}
	case yaml.ScalarNode:
		fn(n)
	}
}

// escapeDollars doubles '$' in every string scalar that is not a mapping
// key.
func escapeDollars(doc *yaml.Node) {
	walkValues(doc, func(n *yaml.Node) {
		if n.Tag == "!!str" || n.Tag == "" {
			n.Value = strings.ReplaceAll(n.Value, "$", "$$")
		}
	})
}

// ErrRender is wrapped by every error Render returns: the options do not fit
// the loaded compose file.
var ErrRender = errors.New("compose: render")

var appName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// SharedNetwork is the network colours and shared services meet on:
// "<app>_net".
func SharedNetwork(app string) string { return app + "_net" }

// ColourProject is the compose project name of a colour: "<app>-<colour>".
func ColourProject(app string, colour version.Colour) string { return app + "-" + string(colour) }

// Render splits p into the colour project and the shared project for one
// deployment. p is not modified.
func Render(p *Project, opts RenderOptions) (*Rendered, error) {
	if p == nil || p.Project == nil {
		return nil, fmt.Errorf("%w: no project (call Load first)", ErrRender)
	}
	stateless, shared, err := splitServices(p.Project, opts)
	if err != nil {
		return nil, err
	}
	r := &renderer{p: p.Project, opts: opts, shared: shared}
	colour, err := r.project(ColourProject(opts.App, opts.Colour), stateless, false)
	if err != nil {
		return nil, err
	}
	sharedP, err := r.project(opts.App, sortedKeys(shared), true)
	if err != nil {
		return nil, err
	}
	out := &Rendered{
		Colour:   &RenderedProject{Project: colour, sensitive: p.Interpolated, masks: p.used},
		Shared:   &RenderedProject{Project: sharedP, sensitive: p.Interpolated, masks: p.used},
		Networks: []Resource{{Name: SharedNetwork(opts.App), Labels: map[string]string{LabelApp: opts.App}}},
	}
	for _, key := range sortedKeys(r.volumes) {
		out.Volumes = append(out.Volumes, r.volumes[key])
	}
	return out, nil
}

// splitServices validates opts against p and returns the stateless service
// names (sorted) and the set of shared ones.
func splitServices(p *types.Project, opts RenderOptions) ([]string, map[string]bool, error) {
	if err := checkNames(opts); err != nil {
		return nil, nil, err
	}
	shared := map[string]bool{}
	for _, s := range opts.Shared {
		if err := knownService(p, "shared", s); err != nil {
			return nil, nil, err
		}
		shared[s] = true
	}
	stateless, err := statelessServices(p, opts.Stateless, shared)
	if err != nil {
		return nil, nil, err
	}
	if len(stateless) == 0 {
		return nil, nil, fmt.Errorf("%w: no stateless services: a colour would run nothing", ErrRender)
	}
	if err := checkServiceKeys(p, opts, shared); err != nil {
		return nil, nil, err
	}
	return stateless, shared, nil
}

// checkNames checks opts' app name, colour and version.
func checkNames(opts RenderOptions) error {
	if !appName.MatchString(opts.App) {
		return fmt.Errorf("%w: app %q: use lowercase letters, digits, '-' and '_', starting with a letter or digit", ErrRender, opts.App)
	}
	if !opts.Colour.Valid() {
		return fmt.Errorf("%w: colour %q: must be %q or %q", ErrRender, opts.Colour, version.Blue, version.Green)
	}
	if opts.Version == "" || strings.ContainsAny(opts.Version, " :/@") {
		return fmt.Errorf("%w: version %q: must be a non-empty image tag", ErrRender, opts.Version)
	}
	return nil
}

// knownService says, naming field, when name is not a service of p.
func knownService(p *types.Project, field, name string) error {
	if _, ok := p.Services[name]; !ok {
		return fmt.Errorf("%w: %s: service %q is not in the compose file (services: %s)", ErrRender, field, name, strings.Join(sortedKeys(p.Services), ", "))
	}
	return nil
}

// statelessServices are the stateless services, sorted: those listed
// (each known, not shared, and together with shared covering every
// service), or every service not shared when none is listed.
func statelessServices(p *types.Project, listed []string, shared map[string]bool) ([]string, error) {
	var stateless []string
	if len(listed) == 0 {
		for _, s := range sortedKeys(p.Services) {
			if !shared[s] {
				stateless = append(stateless, s)
			}
		}
		return stateless, nil
	}
	seen := map[string]bool{}
	for _, s := range listed {
		if err := knownService(p, "stateless", s); err != nil {
			return nil, err
		}
		if shared[s] {
			return nil, fmt.Errorf("%w: service %q is both stateless and shared", ErrRender, s)
		}
		if !seen[s] {
			seen[s] = true
			stateless = append(stateless, s)
		}
	}
	sort.Strings(stateless)
	for _, s := range sortedKeys(p.Services) {
		if !shared[s] && !seen[s] {
			return nil, fmt.Errorf("%w: service %q is neither stateless nor shared: add it to one list", ErrRender, s)
		}
	}
	return stateless, nil
}

// checkServiceKeys checks that the services opts' ports, images and pinned
// images name exist, and that ports go to stateless services and are valid.
func checkServiceKeys(p *types.Project, opts RenderOptions, shared map[string]bool) error {
	for _, field := range []struct {
		name string
		keys []string
	}{{"ports", sortedKeys(opts.Ports)}, {"images", sortedKeys(opts.Images)}, {"pinned images", opts.PinnedImages}} {
		for _, s := range field.keys {
			if err := knownService(p, field.name, s); err != nil {
				return err
			}
		}
	}
	for _, s := range sortedKeys(opts.Ports) {
		if shared[s] {
			return fmt.Errorf("%w: ports: service %q is shared; only stateless services get colour ports", ErrRender, s)
		}
		pm := opts.Ports[s]
		if pm.Container == 0 || pm.Host == 0 || pm.Container > 65535 || pm.Host > 65535 {
			return fmt.Errorf("%w: ports: service %q: container and host ports must be 1-65535", ErrRender, s)
		}
	}
	return nil
}

type renderer struct {
	p       *types.Project
	opts    RenderOptions
	shared  map[string]bool
	volumes map[string]Resource // by volume key in the compose file
}

// project renders the services names into a new project called name.
func (r *renderer) project(name string, names []string, isShared bool) (*types.Project, error) {
	app := r.opts.App
	out := &types.Project{
		Name:       name,
		WorkingDir: r.p.WorkingDir,
		Services:   types.Services{},
		Networks:   types.Networks{},
		Volumes:    types.Volumes{},
		Secrets:    types.Secrets{},
		Configs:    types.Configs{},
		Extensions: r.p.Extensions,
	}
	if r.volumes == nil {
		r.volumes = map[string]Resource{}
	}
	sharedNet := SharedNetwork(app)
	for _, sn := range names {
		svc, err := r.service(r.p.Services[sn], isShared)
		if err != nil {
			return nil, err
		}
		// Networks: the service keeps its own networks (scoped to this
		// project) and joins the shared network, carrying its aliases, unless
		// it uses another network mode.
		if svc.NetworkMode == "" {
			nets := map[string]*types.ServiceNetworkConfig{}
			var aliases []string
			if len(svc.Networks) == 0 {
				nets["default"] = nil
			}
			for k, v := range svc.Networks {
				nets[k] = v
				if v != nil {
					aliases = append(aliases, v.Aliases...)
				}
				if _, ok := out.Networks[k]; !ok {
					out.Networks[k] = r.network(k)
				}
			}
			slices.Sort(aliases)
			nets[sharedNet] = &types.ServiceNetworkConfig{Aliases: slices.Compact(aliases)}
			svc.Networks = nets
			out.Networks[sharedNet] = types.NetworkConfig{Name: sharedNet, External: true}
		}
		// Named volumes are shared by every project: explicit name, external.
		for _, v := range svc.Volumes {
			if v.Type != types.VolumeTypeVolume || v.Source == "" {
				continue
			}
			vc, ok := r.p.Volumes[v.Source]
			if !ok {
				return nil, fmt.Errorf("%w: service %q: volume %q is not declared under volumes:", ErrRender, sn, v.Source)
			}
			if _, ok := out.Volumes[v.Source]; !ok {
				out.Volumes[v.Source] = r.volume(v.Source, vc)
			}
		}
		for _, s := range svc.Secrets {
			if c, ok := r.p.Secrets[s.Source]; ok {
				c.File = r.hostPath(c.File)
				out.Secrets[s.Source] = c
			}
		}
		for _, s := range svc.Configs {
			if c, ok := r.p.Configs[s.Source]; ok {
				c.File = r.hostPath(c.File)
				out.Configs[s.Source] = c
			}
		}
		out.Services[sn] = svc
	}
	return out, nil
}

// network returns the project-scoped definition of network key.
func (r *renderer) network(key string) types.NetworkConfig {
	n := r.p.Networks[key]
	if !n.External && n.Name == r.p.Name+"_"+key {
		n.Name = "" // loading baked the original project name in: scope it to this project
	}
	return n
}

// volume returns the external definition of volume key and records the
// Resource to create.
func (r *renderer) volume(key string, vc types.VolumeConfig) types.VolumeConfig {
	if vc.External {
		return vc
	}
	name := vc.Name
	if name == "" || name == r.p.Name+"_"+key {
		name = r.opts.App + "_" + key // the name loading baked in was not the user's
	}
	labels := map[string]string{LabelApp: r.opts.App}
	for k, v := range vc.Labels {
		labels[k] = v
	}
	r.volumes[key] = Resource{Name: name, Driver: vc.Driver, DriverOpts: vc.DriverOpts, Labels: labels}
	return types.VolumeConfig{Name: name, External: true, Extensions: vc.Extensions}
}

// service renders one service; maps and slices it changes are fresh copies.
func (r *renderer) service(svc types.ServiceConfig, isShared bool) (types.ServiceConfig, error) {
	o := r.opts
	name := svc.Name
	svc.Build = nil
	svc.Dockerfile = ""

	labels := types.Labels{}
	for k, v := range svc.Labels {
		labels[k] = v
	}
	labels[LabelApp] = o.App
	if isShared {
		labels[LabelColour] = SharedColour
	} else {
		labels[LabelColour] = string(o.Colour)
		labels[LabelVersion] = o.Version
		if o.DeploymentID != "" {
			labels[LabelDeploymentID] = o.DeploymentID
		}
	}
	svc.Labels = labels

	switch img, ok := o.Images[name]; {
	case ok:
		svc.Image = img
	case isShared || slices.Contains(o.PinnedImages, name):
	case svc.Image == "":
		return svc, fmt.Errorf("%w: service %q has no image: set image: in the compose file (the registry repository it is pushed to)", ErrRender, name)
	default:
		svc.Image = WithTag(svc.Image, o.Version)
	}

	if !isShared {
		svc.ContainerName = ""
		if pm, ok := o.Ports[name]; ok {
			svc.Ports = []types.ServicePortConfig{{
				Mode: "ingress", HostIP: "127.0.0.1", Target: pm.Container,
				Published: fmt.Sprint(pm.Host), Protocol: "tcp",
			}}
		} else {
			svc.Ports = nil
		}
	}

	// depends_on and links only reach services of the same project.
	other := func(dep string) bool { return r.shared[dep] != isShared }
	if len(svc.DependsOn) > 0 {
		deps := types.DependsOnConfig{}
		for dep, cfg := range svc.DependsOn {
			if !other(dep) {
				deps[dep] = cfg
			}
		}
		svc.DependsOn = deps
		if len(deps) == 0 {
			svc.DependsOn = nil
		}
	}
	if len(svc.Links) > 0 {
		var links []string
		for _, l := range svc.Links {
			dep, _, _ := strings.Cut(l, ":")
			if !other(dep) {
				links = append(links, l)
			}
		}
		svc.Links = links
	}

	if len(svc.Volumes) > 0 {
		vols := make([]types.ServiceVolumeConfig, len(svc.Volumes))
		for i, v := range svc.Volumes {
			if v.Type == types.VolumeTypeBind {
				v.Source = r.hostPath(v.Source)
			}
			vols[i] = v
		}
		svc.Volumes = vols
	}
	if len(svc.EnvFiles) > 0 {
		files := make([]types.EnvFile, len(svc.EnvFiles))
		for i, f := range svc.EnvFiles {
			f.Path = r.hostPath(f.Path)
			files[i] = f
		}
		svc.EnvFiles = files
	}
	return svc, nil
}

// hostPath makes a relative path absolute under HostDir (when set).
func (r *renderer) hostPath(p string) string {
	if r.opts.HostDir == "" || p == "" || path.IsAbs(p) || strings.HasPrefix(p, "~") {
		return p
	}
	return path.Join(r.opts.HostDir, p)
}

// WithTag returns image with its tag or digest replaced by tag:
// "ghcr.io/acme/web:latest" -> "ghcr.io/acme/web:v1.0.1". A registry port
// ("localhost:5000/web") is not mistaken for a tag.
func WithTag(image, tag string) string {
	return Repository(image) + ":" + tag
}

// Repository returns image without its tag and digest:
// "ghcr.io/acme/web:v1@sha256:..." -> "ghcr.io/acme/web".
func Repository(image string) string {
	repo, _, _ := strings.Cut(image, "@")
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	return repo
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
