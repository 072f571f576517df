package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/compose"
	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
	"github.com/blueshift-deploy/blueshift/deploy/traffic"
	"github.com/blueshift-deploy/blueshift/deploy/version"
	"github.com/blueshift-deploy/blueshift/examples/demoapp/demoimage"
)

// Versions the bench deploys (built locally from examples/demoapp).
var Versions = []string{"v1.0.0", "v1.0.1"}

// NginxBinary is the nginx the bench starts with its own prefix.
const NginxBinary = "/usr/sbin/nginx"

const composeFile = `# The demo app as blueshift deploys it in the bench.
services:
  web:
    image: %s:%s
    environment:
      MEDIA_DIR: /media
      FAIL_AFTER: ${FAIL_AFTER:-}
    ports: ["8000"]
    volumes: [media:/media]
volumes:
  media: {}
`

const configFile = `app: %[1]s
environments:
  production:
    host: %[10]s
    path: %[2]s
    public_url: %[3]s
    services: {stateless: [web]}
    ports:
      web: {container: 8000, blue: %[4]d, green: %[5]d}
    proxy:
      kind: nginx
      nginx:
        upstream_file: %[6]s
        command: [%[7]s]
    hooks:
      migrate: [/demoapp, migrate]
    health:
      backend: {url: /api/health/, service: web, attempts: 120, interval: 250ms, timeout: 60s, attempt_timeout: 2s}
    monitor: {window: %[8]s, interval: 250ms, max_errors: 2}
    backup:
      enabled: true
      keep: 2
      media: {volume: media}
    timeouts: {drain: %[9]s}
`

// The seed's layout: one project whose port is published directly.
const seedComposeFile = `services:
  web:
    image: %s
    ports: ["127.0.0.1:%d:8000"]
`

// rig is the bench's environment: the images, the workspace, nginx.
type rig struct {
	o                  Options
	app, repo          string
	dir, appPath       string
	cfgFile            string
	seedFile           string
	blue, green        int
	seedPort           int
	nginx              *nginxProc
	dockerVersion      string // the Engine's, for the results
	composeCLI         compose.CLI
	composeVersion     string
	cleanupDir         bool
	upstream           string // the upstream file nginx includes
	images             []string
	publicURL, seedURL string
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func newRig(ctx context.Context, o Options) (_ *rig, err error) {
	r := &rig{o: o, app: fmt.Sprintf("bsbench%d", rand.IntN(1e6))}
	r.repo = "blueshift-bench/" + r.app
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	r.dir = o.Dir
	if r.dir == "" {
		if r.dir, err = os.MkdirTemp("", "blueshift-bench-"); err != nil {
			return nil, err
		}
		r.cleanupDir = true
	}
	r.appPath = filepath.Join(r.dir, "srv")
	if err := os.MkdirAll(r.appPath, 0o755); err != nil {
		return nil, err
	}
	if err := r.setEnv(); err != nil {
		return nil, err
	}
	local := host.NewLocal()
	docker, err := host.NewDockerClient(local, o.DockerSocket)
	if err != nil {
		return nil, fmt.Errorf("bench needs the Docker Engine: %w", err)
	}
	defer docker.Close()
	ver, err := docker.ServerVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("bench needs the Docker Engine: %w", err)
	}
	r.dockerVersion = ver.Version
	r.composeCLI, r.composeVersion, err = compose.DetectCLI(ctx, local)
	if err != nil {
		return nil, fmt.Errorf("bench needs docker compose: %w", err)
	}
	if _, err := exec.LookPath(NginxBinary); err != nil {
		return nil, fmt.Errorf("bench needs nginx (%s; apt-get install nginx-light): %w", NginxBinary, err)
	}
	for _, v := range Versions {
		o.progress("building image %s:%s", r.repo, v)
		ref, err := demoimage.Build(ctx, docker, r.repo, v)
		if err != nil {
			return nil, err
		}
		r.images = append(r.images, ref)
	}
	for _, p := range []*int{&r.blue, &r.green, &r.seedPort} {
		if *p, err = freePort(); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(r.dir, "docker-compose.yml"), []byte(fmt.Sprintf(composeFile, r.repo, Versions[0])), 0o644); err != nil {
		return nil, err
	}
	// The upstream file nginx includes starts pointing at blue, where
	// nothing runs yet; blueshift rewrites it at every switch.
	upstream := filepath.Join(r.dir, "nginx-upstream.conf")
	r.upstream = upstream
	r.cfgFile = filepath.Join(r.dir, "deploy.yml")
	if err := r.writeConfig("http://127.0.0.1:1", upstream, NginxBinary); err != nil {
		return nil, err
	}
	eng, err := r.engine(ctx)
	if err != nil {
		return nil, err
	}
	sw, ok := eng.Switcher.(*traffic.Nginx)
	if !ok {
		return nil, errors.New("bench: the engine's switcher is not nginx")
	}
	initial, err := sw.Render(string(version.Blue))
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(upstream, initial, 0o644); err != nil {
		return nil, err
	}
	route := eng.Routes()[0].Name
	eng.Close()
	r.nginx, err = startNginx(ctx, filepath.Join(r.dir, "nginx"), upstream, route, r.seedPort)
	if err != nil {
		return nil, err
	}
	r.publicURL = fmt.Sprintf("http://127.0.0.1:%d", r.nginx.ports[0])
	r.seedURL = fmt.Sprintf("http://127.0.0.1:%d", r.nginx.ports[1])
	return r, r.writeConfig(r.publicURL, upstream, strings.Join(r.nginx.command, ", "))
}

func (r *rig) writeConfig(public, upstream, command string) error {
	return r.writeConfigTo(r.cfgFile, "{address: local}", public, upstream, command)
}

// writeConfigTo writes the bench's deploy.yml to file, its environment's
// host being hostYAML (a flow mapping).
func (r *rig) writeConfigTo(file, hostYAML, public, upstream, command string) error {
	body := fmt.Sprintf(configFile, r.app, r.appPath, public, r.blue, r.green, upstream, command, r.o.Monitor, r.o.Drain, hostYAML)
	return os.WriteFile(file, []byte(body), 0o644)
}

// engine opens the environment; the caller closes it.
func (r *rig) engine(ctx context.Context) (*deploy.Engine, error) {
	return deploy.NewFromFile(ctx, r.cfgFile, "production", deploy.Options{
		Logger: r.o.Logger, DockerSocket: r.o.DockerSocket, Getenv: r.getenv,
	})
}

// getenv is the environment the bench's deployments see: USER=bench,
// nothing else (no PRODUCTION_* variable of the caller's leaks in).
func (r *rig) getenv(k string) string {
	if k == "USER" {
		return "bench"
	}
	return ""
}

// setEnv writes the app's env file (FAIL_AFTER empty unless lines set
// it): the next colour rendered reads it.
func (r *rig) setEnv(lines ...string) error {
	if len(lines) == 0 {
		lines = []string{"FAIL_AFTER="}
	}
	return os.WriteFile(filepath.Join(r.appPath, ".env.production"), []byte(strings.Join(lines, "\n")+"\n"), 0o600)
}

// deploy runs the standard pipeline for v; edit, if set, may change the
// engine's environment and the pipeline first.
func (r *rig) deploy(ctx context.Context, v string, edit func(*deploy.Engine, *deploy.Pipeline) error, observe func(deploy.Event)) (*deploy.Deployment, error) {
	eng, err := r.engine(ctx)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	p := eng.Pipeline()
	if edit != nil {
		if err := edit(eng, p); err != nil {
			return nil, err
		}
	}
	d := eng.NewDeployment(version.MustParse(v))
	d.Reason = "blueshift bench"
	d.Observe = observe
	err = p.Run(ctx, d)
	return d, err
}

// close removes everything the bench created: nginx, the compose projects,
// volumes, network, images and the temporary workspace.
func (r *rig) close() {
	if r.nginx != nil {
		r.nginx.stop()
	}
	projects := []string{compose.ColourProject(r.app, version.Blue), compose.ColourProject(r.app, version.Green), r.app, r.app + "-seed"}
	for _, p := range projects {
		c := r.composeCLI
		c.ProjectName, c.Files = p, nil
		_ = host.NewLocal().Run(context.Background(), c.Down(true))
	}
	_ = exec.Command("docker", "volume", "rm", "-f", r.app+"_media").Run()
	_ = exec.Command("docker", "network", "rm", r.app+"_net").Run()
	for _, img := range r.images {
		_ = exec.Command("docker", "rmi", "-f", img).Run()
	}
	if r.cleanupDir {
		_ = os.RemoveAll(r.dir)
	}
}

// nginxProc is the bench's own nginx: a temporary prefix, two servers
// (blueshift's route, and the seed's fixed port), run in the foreground.
type nginxProc struct {
	cmd     *exec.Cmd
	done    chan struct{}
	ports   [2]int
	command []string
}

// nginxConf is the configuration of the bench's nginx: the first server
// proxies to blueshift's upstream `route` (defined in the upstream file),
// the second to the seed's fixed port.
func nginxConf(prefix, upstreamFile, route string, ports [2]int, seedPort int) string {
	return hosttest.NginxConfig(prefix, []string{upstreamFile},
		hosttest.NginxServer{Port: ports[0], ProxyTo: route},
		hosttest.NginxServer{Port: ports[1], ProxyTo: fmt.Sprintf("127.0.0.1:%d", seedPort)})
}

func startNginx(ctx context.Context, prefix, upstreamFile, route string, seedPort int) (*nginxProc, error) {
	if err := os.MkdirAll(filepath.Join(prefix, "tmp"), 0o755); err != nil {
		return nil, err
	}
	n := &nginxProc{done: make(chan struct{})}
	for i := range n.ports {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		n.ports[i] = p
	}
	conf := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxConf(prefix, upstreamFile, route, n.ports, seedPort)), 0o644); err != nil {
		return nil, err
	}
	n.command = []string{NginxBinary, "-p", prefix + "/", "-c", conf, "-e", filepath.Join(prefix, "error.log")}
	n.cmd = exec.Command(n.command[0], n.command[1:]...)
	logf, err := os.Create(filepath.Join(prefix, "stderr.log"))
	if err != nil {
		return nil, err
	}
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	if err := n.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start nginx: %w", err)
	}
	go func() { _ = n.cmd.Wait(); logf.Close(); close(n.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-n.done:
			out, _ := os.ReadFile(filepath.Join(prefix, "stderr.log"))
			log, _ := os.ReadFile(filepath.Join(prefix, "error.log"))
			return nil, fmt.Errorf("nginx exited at start: %s%s", out, log)
		default:
		}
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", n.ports[0]), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return n, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			n.stop()
			return nil, fmt.Errorf("nginx did not listen on %d", n.ports[0])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (n *nginxProc) stop() {
	_ = n.cmd.Process.Signal(os.Interrupt)
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
	}
}

// getVersion asks base for /api/version and returns the X-App-Version
// header; ok is false on a transport error or a non-2xx status.
func getVersion(ctx context.Context, c *http.Client, base string) (string, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/version", nil)
	if err != nil {
		return "", false
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Header.Get("X-App-Version"), resp.StatusCode < 300
}
