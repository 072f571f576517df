package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"text/template"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/blueshift-deploy/blueshift/deploy/compose"
	"github.com/blueshift-deploy/blueshift/deploy/traffic"
)

// ProposeOptions says what ProposeConfig writes besides what it reads from
// the Compose file.
type ProposeOptions struct {
	// App is the application's name; default the Compose project's name,
	// reduced to lowercase letters, digits and dashes.
	App string
	// ComposeFile is compose_file: the Compose file's path relative to
	// deploy.yml's directory. Default docker-compose.yml.
	ComposeFile string
	// Proxy is proxy.kind: "nginx" (default) or "caddy".
	Proxy string
}

// Proposal is a first deploy.yml (one environment, production) proposed
// from a Compose file, and the proxy configuration it needs.
type Proposal struct {
	// YAML is the proposed deploy.yml.
	YAML []byte
	// ProxySnippet is what the proxy's own configuration needs: for nginx
	// the include and server block, for Caddy its JSON configuration.
	ProxySnippet string
	// Env is the environment YAML describes, defaults applied.
	Env *Environment
}

// dataImages are the image names (the last path element, without tag) of
// services that keep data: Propose makes them shared.
var dataImages = []string{"postgres", "postgis", "mysql", "mariadb", "mongo", "redis", "valkey", "keydb", "memcached",
	"rabbitmq", "elasticsearch", "opensearch", "clickhouse", "minio", "cassandra", "neo4j", "influxdb", "zookeeper", "kafka", "nats", "etcd", "timescaledb"}

// dataPaths are mount targets that hold a service's data.
var dataPaths = regexp.MustCompile(`^(/var/lib/|/data(/|$)|/bitnami/)`)

// urlInTest finds an HTTP URL in a healthcheck's test.
var urlInTest = regexp.MustCompile(`https?://[^\s'"]+`)

// ProposeConfig proposes deploy.yml for the Compose project p: services
// with a database or cache image, or a volume mounted where data lives
// (/var/lib/..., /data), are shared, the others stateless; every
// stateless service publishing a port gets a blue and a green loopback
// port; health and smoke use the path of the URL in the first web
// service's healthcheck ("/" when it has none).
func ProposeConfig(p *compose.Project, o ProposeOptions) (*Proposal, error) {
	app := o.App
	if app == "" {
		app = strings.Trim(regexp.MustCompile(`[^a-z0-9-]+`).ReplaceAllString(strings.ToLower(p.Name), "-"), "-")
	}
	if o.ComposeFile == "" {
		o.ComposeFile = "docker-compose.yml"
	}
	if o.Proxy == "" {
		o.Proxy = "nginx"
	}
	if o.Proxy != "nginx" && o.Proxy != "caddy" {
		return nil, fmt.Errorf("proxy %q: want nginx or caddy", o.Proxy)
	}
	env := &Environment{Name: "production", Ports: map[string]PortsConfig{}}
	env.Proxy.Kind = o.Proxy
	health := map[string]string{}
	names := make([]string, 0, len(p.Services))
	for name := range p.Services {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		svc := p.Services[name]
		if isDataService(svc.Image, svc.Volumes) {
			env.Services.Shared = append(env.Services.Shared, name)
			continue
		}
		env.Services.Stateless = append(env.Services.Stateless, name)
		if len(svc.Ports) == 0 {
			continue
		}
		blue := 8001 + 10*len(env.Ports)
		env.Ports[name] = PortsConfig{Container: int(svc.Ports[0].Target), Blue: blue, Green: blue + 1}
		if svc.HealthCheck != nil {
			if u, err := url.Parse(urlInTest.FindString(strings.Join(svc.HealthCheck.Test, " "))); err == nil && u.Path != "" {
				health[name] = u.Path
			}
		}
	}
	if len(env.Services.Stateless) == 0 {
		return nil, fmt.Errorf("%s: every service looks like a database or cache: deploy.yml needs at least one stateless service", p.Name)
	}
	if len(env.Ports) == 0 {
		return nil, fmt.Errorf("%s: no stateless service publishes a port: the proxy needs one (add ports: [\"8000\"] to the web service)", p.Name)
	}
	web := ""
	for _, s := range env.Services.Stateless {
		if _, ok := env.Ports[s]; ok {
			web = s
			break
		}
	}
	healthPath := health[web]
	if healthPath == "" {
		healthPath = "/"
	}
	var buf bytes.Buffer
	err := proposalTmpl.Execute(&buf, map[string]any{
		"App": app, "ComposeFile": o.ComposeFile, "Env": env, "Web": web, "Health": healthPath,
		"Ports": sortedPorts(env), "Found": health[web] != "",
	})
	if err != nil {
		return nil, err
	}
	env.defaults(app, func(string) string { return "" }, ".", "")
	snippet, err := proxySnippet(&Engine{App: app, Env: env})
	if err != nil {
		return nil, err
	}
	return &Proposal{YAML: buf.Bytes(), ProxySnippet: snippet, Env: env}, nil
}

// isDataService reports whether a service with image and volumes keeps
// data (dataImages, dataPaths).
func isDataService(image string, volumes []types.ServiceVolumeConfig) bool {
	name := path.Base(compose.Repository(image))
	for _, d := range dataImages {
		if name == d || strings.HasPrefix(name, d+"-") {
			return true
		}
	}
	return slices.ContainsFunc(volumes, func(v types.ServiceVolumeConfig) bool { return v.Type == "volume" && dataPaths.MatchString(v.Target) })
}

// portLine is one entry of deploy.yml's ports.
type portLine struct {
	Service string
	PortsConfig
}

func sortedPorts(env *Environment) []portLine {
	var out []portLine
	for _, s := range env.Services.Stateless {
		if p, ok := env.Ports[s]; ok {
			out = append(out, portLine{s, p})
		}
	}
	return out
}

// proxySnippet is what the proxy's configuration needs for e's routes.
func proxySnippet(e *Engine) (string, error) {
	routes := e.Routes()
	if e.Env.Proxy.Kind == "caddy" {
		cfg, err := traffic.CaddyInitialConfig(traffic.CaddySite{
			App: e.App, Listen: []string{":80"}, Route: routes[0], Dir: e.Env.Proxy.Caddy.Dir, Admin: e.Env.Proxy.Caddy.Admin,
		})
		if err != nil {
			return "", err
		}
		var out bytes.Buffer
		json.Indent(&out, cfg, "", "  ")
		return "// Caddy's configuration (caddy run --config caddy.json): the route blueshift switches.\n" + out.String() + "\n", nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# nginx site for %s: blueshift writes the upstreams into the included file.\n", e.App)
	fmt.Fprintf(&b, "include %s;\n\nserver {\n    listen 80;\n    server_name _;\n", e.Env.Proxy.Nginx.UpstreamFile)
	web := sortedPorts(e.Env) // the routes' services, in order
	for i, r := range routes {
		loc := "/"
		if i > 0 {
			loc = "/" + web[i].Service + "/"
			fmt.Fprintf(&b, "\n    # %s: choose the path it serves", web[i].Service)
		}
		fmt.Fprintf(&b, "\n    location %s {\n        proxy_pass http://%s;\n        proxy_http_version 1.1;\n        proxy_set_header Connection \"\";\n        proxy_set_header Host $host;\n        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n    }\n", loc, r.Name)
	}
	b.WriteString("}\n")
	return b.String(), nil
}

var proposalTmpl = template.Must(template.New("deploy.yml").Parse(`# deploy.yml proposed by ` + "`go tool mage init`" + ` from {{.ComposeFile}}.
# Check it with ` + "`go tool mage config:check`" + `; examples/deploy.yml in blueshift's
# repository documents every field with its default.
app: {{.App}}
environments:
  production:
    host:
      address: ${PRODUCTION_HOST}
      user: ${PRODUCTION_USER:-deploy}
    path: ${PRODUCTION_PATH:-/opt/{{.App}}}
    compose_file: {{.ComposeFile}}
    services:
      stateless: [{{range $i, $s := .Env.Services.Stateless}}{{if $i}}, {{end}}{{$s}}{{end}}]
      shared: [{{range $i, $s := .Env.Services.Shared}}{{if $i}}, {{end}}{{$s}}{{end}}]
    ports:
{{- range .Ports}}
      {{.Service}}: {container: {{.Container}}, blue: {{.Blue}}, green: {{.Green}}}
{{- end}}
    proxy: {kind: {{.Env.Proxy.Kind}}}
    health:
      # {{if .Found}}the path of {{.Web}}'s healthcheck URL{{else}}{{.Web}}'s healthcheck has no URL: set the path that answers 200{{end}}
      backend: {service: {{.Web}}, url: {{.Health}}}
    smoke:
      endpoints:
        - {path: {{.Health}}, expect: [200]}
`))
