package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// trickyEnvFile is a host env file using what Compose's env-file syntax
// allows beyond KEY=VALUE.
const trickyEnvFile = `# a comment line
PLAIN=value # an inline comment
  INDENTED=indented
SPACED = spaced value
DQ="double \"quoted\" # not a comment\tTAB"
SQ='single ${PLAIN} \n stays literal'
REF=${PLAIN}-suffix
REF_BRACED="${DQ:-x}!"
DEFAULT=${NOT_DEFINED_ANYWHERE:-fallback}
export EXPORTED=yes
EMPTY=
HASH=abc#def
MULTI="line1
line2"
DOLLAR='pa$$word'
URL=postgres://app:p%40ss@db:5432/app?sslmode=disable
`

// envFileKeys are the variables of trickyEnvFile the compose file uses.
var envFileKeys = []string{"PLAIN", "INDENTED", "SPACED", "DQ", "SQ", "REF", "REF_BRACED", "DEFAULT", "EXPORTED", "EMPTY", "HASH", "MULTI", "DOLLAR", "URL"}

// envFileApp writes a compose file whose service's environment is ${KEY} for
// each key, a deploy.yml with one local environment, the host env file, and
// the given files beside the compose file; it returns the config path and
// the app directory (the environment's path).
func envFileApp(t *testing.T, keys []string, envFile string, beside map[string]string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	app := filepath.Join(dir, "app")
	var compose strings.Builder
	compose.WriteString("services:\n  web:\n    image: blueshift-envfile-test:latest\n    ports: [\"80\"]\n    environment:\n")
	for _, k := range keys {
		compose.WriteString("      " + k + ": ${" + k + "}\n")
	}
	yml := "app: envfile\nenvironments:\n  production:\n    host: {address: local}\n    path: " + app + "\n" +
		"    services: {stateless: [web]}\n    ports: {web: {container: 80, blue: 18471, green: 18472}}\n    proxy: {kind: none}\n"
	files := map[string]string{"docker-compose.yml": compose.String(), "deploy.yml": yml, "app/.env.production": envFile}
	for k, v := range beside {
		files[k] = v
	}
	if err := os.Mkdir(app, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "deploy.yml"), app
}

// renderedEnv opens config's production (over h when not nil) and returns
// the environment of service web in the blue colour it renders.
func renderedEnv(t *testing.T, config string, edit func(*Environment), h host.Host) map[string]string {
	t.Helper()
	ctx := context.Background()
	cfg, err := Load(config, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(cfg.Environments["production"])
	}
	eng, err := Open(ctx, cfg, "production", Options{Host: h, Getenv: func(string) string { return "" }})
	hosttest.Require(t, "Docker Engine with Compose v2", err)
	t.Cleanup(func() { eng.Close() })
	r, err := eng.render(ctx, version.Blue, version.MustParse("v1.0.0"), "id")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, v := range r.Colour.Project.Services["web"].Environment {
		if v != nil && k != "BLUESHIFT_COLOUR" {
			out[k] = *v
		}
	}
	return out
}

// TestHostEnvFileParsedLikeDockerCompose: on 239a55e the host's env file
// went through a hand-written parser: "value # an inline comment" kept the
// comment, "\"" and "\t" stayed escaped, ${PLAIN} references and
// ${X:-default} stayed unexpanded, and a multi-line value was cut to its
// first line (`"line1`). Now it is parsed with
// compose-go's dotenv, and the values equal what `docker compose config`
// gives for the same file on this machine.
func TestHostEnvFileParsedLikeDockerCompose(t *testing.T) {
	config, app := envFileApp(t, envFileKeys, trickyEnvFile, nil)
	got := renderedEnv(t, config, nil, nil)

	// docker compose, in a clean environment so nothing but the file counts.
	cmd := exec.Command("docker", "compose", "-p", "envfile", "-f", filepath.Join(filepath.Dir(config), "docker-compose.yml"),
		"--env-file", filepath.Join(app, ".env.production"), "config", "--format", "json")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	hosttest.Require(t, "docker compose", err)
	var dc struct {
		Services map[string]struct {
			Environment map[string]*string `json:"environment"`
		} `json:"services"`
	}
	if err := json.Unmarshal(out, &dc); err != nil {
		t.Fatalf("docker compose config: %v\n%s", err, out)
	}
	want := map[string]string{}
	for k, v := range dc.Services["web"].Environment {
		if v != nil {
			want[k] = strings.ReplaceAll(*v, "$$", "$") // config escapes '$' in its output
		}
	}
	if len(want) != len(envFileKeys) {
		t.Fatalf("docker compose config gave %d variables, want %d: %v\n%s", len(want), len(envFileKeys), want, stderr.String())
	}
	for _, k := range envFileKeys {
		if got[k] != want[k] {
			t.Errorf("%s = %q, docker compose says %q", k, got[k], want[k])
		}
	}
	// Spot checks, so the test means something even if compose changed.
	for k, v := range map[string]string{"PLAIN": "value", "REF": "value-suffix", "SQ": `single ${PLAIN} \n stays literal`,
		"DQ": "double \"quoted\" # not a comment\tTAB", "MULTI": "line1\nline2", "DEFAULT": "fallback", "DOLLAR": "pa$$word"} {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

// TestLocalDotEnvDoesNotFillARemoteRender: on 239a55e compose.Load read the
// .env beside the compose file on the deploying machine for every
// environment, so a developer's local DATABASE_PASSWORD (or a CI runner's
// .env) silently filled a variable that the remote host's env file leaves
// unset, and the rendered file sent to the server carried it. Now a remote
// (SSH) environment never reads it: the variable is empty, as on the host.
// A local environment still reads it (this machine is the host there).
func TestLocalDotEnvDoesNotFillARemoteRender(t *testing.T) {
	const laptop = "laptop-only-secret-4242"
	config, _ := envFileApp(t, []string{"PLAIN", "ONLY_IN_LOCAL_DOTENV"}, "PLAIN=from-host\n",
		map[string]string{".env": "ONLY_IN_LOCAL_DOTENV=" + laptop + "\nPLAIN=from-laptop\n"})

	d := hosttest.StartSSHD(t, hosttest.SSHDOptions{})
	h := d.Connect(d.Config())
	t.Cleanup(func() { h.Close() })
	remote := renderedEnv(t, config, func(e *Environment) {
		e.Host.Address, e.Host.User = d.Addr, d.User
	}, h)
	if remote["ONLY_IN_LOCAL_DOTENV"] != "" || remote["PLAIN"] != "from-host" {
		t.Errorf("remote render: %v: the deploying machine's .env leaked into it", remote)
	}

	local := renderedEnv(t, config, nil, nil)
	if local["ONLY_IN_LOCAL_DOTENV"] != laptop || local["PLAIN"] != "from-host" {
		t.Errorf("local render: %v: want .env read and the host env file overriding it", local)
	}
}
