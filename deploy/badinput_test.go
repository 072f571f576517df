package deploy_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
)

// updateBadInput rewrites testdata/badinput/messages.txt, the transcript of
// what a user sees for every bad input (reviewed like a golden file).
var updateBadInput = flag.Bool("update-badinput", false, "rewrite testdata/badinput/messages.txt")

// badCase is one bad input and what the user must be told about it.
type badCase struct {
	name string
	// args are the mage target and its arguments ("deploy:plan", "v1.0").
	args []string
	// config and compose edit the working deploy.yml and docker-compose.yml;
	// nil keeps them as they are.
	config, compose edit
	// env is added to the target's environment; a key with value "-" is
	// removed instead.
	env map[string]string
	// want are substrings stderr must contain (case-insensitive): the
	// problem named with its field path, version, host or file.
	want []string
	// secret must not appear anywhere in the output.
	secret string
}

// edit turns a working file into a broken one.
type edit func(t *testing.T, s string) string

// sub replaces old (which must occur in the file: a case whose edit no
// longer applies fails rather than silently testing a valid file) by new.
func sub(pairs ...string) edit {
	return func(t *testing.T, s string) string {
		t.Helper()
		for i := 0; i+1 < len(pairs); i += 2 {
			require.Contains(t, s, pairs[i], "the edit's anchor is missing from the file")
			s = strings.Replace(s, pairs[i], pairs[i+1], 1)
		}
		return s
	}
}

// whole replaces the file by body.
func whole(body string) edit { return func(*testing.T, string) string { return body } }

// sshFixture is a real sshd and the files the host cases point at.
type sshFixture struct {
	sshd          *hosttest.SSHD
	clientKey     string // file with the authorized client key
	otherKey      string // file with a key sshd does not know
	knownHosts    string // known_hosts with all of sshd's keys
	emptyKnown    string // an empty known_hosts
	otherHostKey  string // an ed25519 public key that is not sshd's
	clientKeyText string
	otherKeyText  string
}

func newSSHFixture(t *testing.T) *sshFixture {
	d := hosttest.StartSSHD(t, hosttest.SSHDOptions{})
	dir := t.TempDir()
	f := &sshFixture{sshd: d, clientKeyText: string(d.ClientKeyPEM)}
	write := func(name string, body []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, body, 0o600))
		return p
	}
	f.clientKey = write("id_client", d.ClientKeyPEM)
	other, _ := hosttest.NewClientKey(t, "")
	f.otherKey = write("id_other", other)
	f.otherKeyText = string(other)
	f.knownHosts = d.WriteKnownHosts(d.KnownHostsLines()...)
	f.emptyKnown = write("known_hosts_empty", nil)
	_, pub := hosttest.NewClientKey(t, "")
	f.otherHostKey = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	return f
}

// hostBlock is the host: line of an SSH environment.
func hostBlock(addr, user, key, known, pinned string) string {
	s := fmt.Sprintf("host: {address: %q, user: %s, connect_timeout: 3s", addr, user)
	if key != "" {
		s += ", ssh_key_file: " + key
	}
	if known != "" {
		s += ", known_hosts: " + known
	}
	if pinned != "" {
		s += fmt.Sprintf(", host_key: %q", pinned)
	}
	return s + "}"
}

// badInputCases is the corpus: every way a user can get the input wrong
// that blueshift must refuse before it touches the host.
func badInputCases(a *e2eApp, f *sshFixture) []badCase {
	plan := func(v string) []string { return []string{"deploy:plan", v} }
	prod := func(v string) []string { return []string{"deploy:production", v} }
	check := []string{"config:check"}
	const localHost = "host: {address: local}"
	ports := "web: {container: 8000, "
	sshHost := func(addr, key, known, pinned string) edit {
		return sub(localHost, hostBlock(addr, f.sshd.User, key, known, pinned))
	}
	cases := []badCase{
		// Versions.
		{name: "version/missing patch v1.0 (issue 7)", args: plan("v1.0"), want: []string{`"v1.0"`, "missing patch version"}},
		{name: "version/no v prefix 1.0.0", args: plan("1.0.0"), want: []string{`"1.0.0"`, "add the v prefix (v1.0.0)"}},
		{name: "version/leading zero v01.0.0", args: plan("v01.0.0"), want: []string{`"v01.0.0"`, "leading zero"}},
		{name: "version/latest is not a version", args: plan("latest"), want: []string{`"latest"`, "not a semantic version"}},
		{name: "version/empty pre-release v1.0.0-", args: plan("v1.0.0-"), want: []string{`"v1.0.0-"`, "pre-release is empty"}},
		{name: "version/empty build metadata v1.0.0+", args: plan("v1.0.0+"), want: []string{`"v1.0.0+"`, "build metadata is empty"}},
		// On 239a55e valid semver that is no Docker tag ran until the image tag failed.
		{name: "version/build metadata is no Docker tag v1.0.0+build.7", args: prod("v1.0.0+build.7"), want: []string{`"v1.0.0+build.7"`, "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", "use v1.0.0, or v1.0.0-build.7"}},
		{name: "version/empty string", args: plan(""), want: []string{`""`, "empty"}},
		{name: "version/auto with trailing space", args: plan("auto "), want: []string{`"auto "`, `whitespace; did you mean "auto"?`}},
		{name: "version/newline from a VERSION file", args: prod("v1.0.1\n"), want: []string{`"v1.0.1\n"`, `did you mean "v1.0.1"?`}},
		{name: "version/uppercase V1.0.0", args: plan("V1.0.0"), want: []string{`"V1.0.0"`, "lowercase v"}},
		{name: "version/shell metacharacters", args: plan("v1.0.0;rm -rf /"), want: []string{`"v1.0.0;rm -rf /"`}},
		{name: "version/deploy:production latest", args: prod("latest"), want: []string{`"latest"`, "not a semantic version"}},
		{name: "version/deploy:production four numbers v1.0.0.1", args: prod("v1.0.0.1"), want: []string{`"v1.0.0.1"`, "more than three"}},

		// deploy.yml.
		{name: "config/unknown top-level key", args: check, config: sub("app: ", "apps_dir: /srv\napp: "),
			want: []string{"apps_dir", "unknown"}},
		{name: "config/unknown nested key (typo intervall)", args: plan("v1.0.0"), config: sub("interval: 250ms, timeout", "intervall: 250ms, timeout"),
			want: []string{"environments.production.health.backend.intervall", "unknown"}},
		{name: "config/bad duration 250 msec", args: check, config: sub("interval: 250ms, timeout", "interval: 250 msec, timeout"),
			want: []string{"environments.production.health.backend.interval", "250 msec"}},
		{name: "config/missing host", args: plan("v1.0.0"), config: sub("    "+localHost+"\n", ""),
			want: []string{"environments.production.host.address", "PRODUCTION_HOST"}},
		{name: "config/missing path", args: plan("v1.0.0"), config: sub("    path: "+a.appPath+"\n", ""),
			want: []string{"environments.production.path", "PRODUCTION_PATH"}},
		{name: "config/relative path", args: check, config: sub("path: "+a.appPath, "path: srv/app"),
			want: []string{"environments.production.path", "srv/app", "absolute"}},
		{name: "config/port out of range", args: check, config: sub(ports, "web: {container: 80000, "),
			want: []string{"environments.production.ports.web.container", "80000"}},
		{name: "config/blue port equals green port", args: plan("v1.0.0"), config: func(t *testing.T, s string) string {
			re := regexp.MustCompile(`blue: \d+, green: \d+`)
			require.Regexp(t, re, s)
			return re.ReplaceAllString(s, "blue: 23456, green: 23456")
		}, want: []string{"environments.production.ports.web", "23456"}},
		{name: "config/unknown proxy kind haproxy", args: check, config: sub("kind: nginx", "kind: haproxy"),
			want: []string{"environments.production.proxy.kind", "haproxy"}},
		{name: "config/empty stateless list", args: check, config: sub("stateless: [web]", "stateless: []"),
			want: []string{"environments.production.services.stateless"}},
		{name: "config/unset ${VAR}", args: plan("v1.0.0"), config: sub("path: "+a.appPath, "path: ${APP_ROOT}/srv"),
			env: map[string]string{"APP_ROOT": "-"}, want: []string{"environments.production.path", "APP_ROOT"}},
		{name: "config/unknown environment via BLUESHIFT_ENV (issue 7)", args: plan("v1.0.0"), env: map[string]string{"BLUESHIFT_ENV": "prod"},
			want: []string{`"prod"`, "production"}},
		{name: "config/deploy:staging without a staging environment", args: []string{"deploy:staging", "v1.0.0"},
			want: []string{`"staging"`, "production"}},
		{name: "config/YAML syntax error", args: plan("v1.0.0"), config: sub("services: {stateless: [web]}", "services: {stateless: [web}"),
			want: []string{"$CASE/deploy.yml", "yaml: line 6"}},
		{name: "config/tab indentation", args: check, config: sub("    path: ", "\tpath: "),
			want: []string{"$CASE/deploy.yml", "line 5 is indented with a tab", "spaces"}},
		{name: "config/wrong type attempts many", args: check, config: sub("attempts: 40", "attempts: many"),
			want: []string{"environments.production.health.backend.attempts", "many"}},
		{name: "config/wrong type stateless string", args: check, config: sub("stateless: [web]", "stateless: {web: true}"),
			want: []string{"environments.production.services.stateless"}},
		{name: "config/duplicate key app", args: check, config: sub("app: ", "app: other\napp: "),
			want: []string{"app", "line 2"}},
		{name: "config/negative attempts", args: check, config: sub("attempts: 40", "attempts: -3"),
			want: []string{"environments.production.health.backend.attempts", "must be >= 1"}},
		{name: "config/negative drain timeout", args: check, config: sub("drain: 500ms", "drain: -1s"),
			want: []string{"environments.production.timeouts.drain"}},
		{name: "config/app name with capitals and space", args: check, config: sub("app: ", "app: My App #"),
			want: []string{"app:", "My App"}},
		{name: "config/public_url ftp scheme", args: check, config: sub("public_url: ", "public_url: ftp://example.com/#"),
			want: []string{"environments.production.public_url", "ftp"}},
		{name: "config/ports for a service that is not stateless", args: check, config: sub(ports, "worker: {container: 9000, blue: 9001, green: 9002}\n      "+ports),
			want: []string{"environments.production.ports.worker"}},
		{name: "config/empty file", args: check, config: whole(""),
			want: []string{"app"}},
		{name: "config/registry password never printed", args: check,
			config: sub("    "+localHost+"\n", "    "+localHost+"\n    registry: {username: ci, password: hunter2-registry-secret}\n", "kind: nginx", "kind: haproxy"),
			want:   []string{"environments.production.proxy.kind"}, secret: "hunter2-registry-secret"},

		// docker-compose.yml.
		{name: "compose/YAML syntax error (issue 7)", args: plan("v1.0.0"), compose: sub("ports: [\"8000:8000\"]", "ports: [\"8000:8000\""),
			want: []string{"docker-compose.yml"}},
		{name: "compose/stateless service missing from compose", args: plan("v1.0.0"), config: sub("stateless: [web]", "stateless: [web, worker]"),
			want: []string{"worker"}},
		{name: "compose/unknown top-level key", args: plan("v1.0.0"), compose: sub("volumes:\n  media: {}", "volumes:\n  media: {}\nservicez: {}"),
			want: []string{"servicez"}},
		{name: "compose/service without image or build", args: plan("v1.0.0"), compose: func(t *testing.T, s string) string {
			return regexp.MustCompile(`(?m)^    image: .*\n`).ReplaceAllString(s, "")
		}, want: []string{"web", "image"}},
		{name: "compose/bad port mapping", args: plan("v1.0.0"), compose: sub(`"8000:8000"`, `"80000:8000"`),
			want: []string{"80000"}},
		{name: "compose/undefined volume", args: plan("v1.0.0"), compose: sub("[media:/media]", "[media:/media, uploads:/uploads]"),
			want: []string{"uploads"}},
		{name: "compose/missing compose file", args: plan("v1.0.0"), config: sub("    path: ", "    compose_file: no-such-compose.yml\n    path: "),
			want: []string{"no-such-compose.yml"}},
		{name: "compose/image never built v9.9.9 (issue 7)", args: plan("v9.9.9"),
			want: []string{a.repo + ":v9.9.9", "push"}},

		// The environment.
		{name: "env/DEPLOY_CONFIG points at a missing file", args: plan("v1.0.0"), env: map[string]string{"DEPLOY_CONFIG": "/no/such/dir/deploy.yml"},
			want: []string{"/no/such/dir/deploy.yml", "does not exist", "DEPLOY_CONFIG"}},
		{name: "env/PRODUCTION_HOST empty for ${PRODUCTION_HOST}", args: prod("v1.0.0"), config: sub(localHost, "host: {address: \"${PRODUCTION_HOST}\"}"),
			env: map[string]string{"PRODUCTION_HOST": ""}, want: []string{"environments.production.host.address", "PRODUCTION_HOST"}},
		{name: "env/SKIP_TESTS=maybe", args: plan("v1.0.0"), env: map[string]string{"SKIP_TESTS": "maybe"},
			want: []string{"SKIP_TESTS", "maybe"}},

		// Hosts.
		{name: "host/SSH port closed 127.0.0.1:1", args: plan("v1.0.0"), config: sshHost("127.0.0.1:1", f.clientKey, f.knownHosts, ""),
			want: []string{"environments.production.host", "refused"}, secret: "127.0.0.1"},
		{name: "host/name does not resolve", args: plan("v1.0.0"), config: sshHost("no-such-host.invalid", f.clientKey, f.knownHosts, ""),
			want: []string{"environments.production.host", "no such host"}, secret: "no-such-host.invalid"},
		{name: "host/unknown host with empty known_hosts", args: prod("v1.0.0"), config: sshHost(f.sshd.Addr, f.clientKey, f.emptyKnown, ""),
			want: []string{"environments.production.host", "known_hosts"}, secret: f.clientKeyText},
		{name: "host/wrong pinned host key", args: plan("v1.0.0"), config: sshHost(f.sshd.Addr, f.clientKey, "", f.otherHostKey),
			want: []string{"environments.production.host", "host key"}, secret: f.clientKeyText},
		{name: "host/wrong user key", args: plan("v1.0.0"), config: sshHost(f.sshd.Addr, f.otherKey, f.knownHosts, ""),
			want: []string{"environments.production.host", "authentication failed"}, secret: f.sshd.Addr},
		{name: "host/wrong user key from PRODUCTION_SSH_KEY", args: prod("v1.0.0"), config: sshHost(f.sshd.Addr, "", f.knownHosts, ""),
			env:  map[string]string{"PRODUCTION_SSH_KEY": f.otherKeyText},
			want: []string{"environments.production.host", "authentication failed", "authorized_keys"}, secret: f.otherKeyText},
		{name: "host/missing SSH key file", args: plan("v1.0.0"), config: sshHost(f.sshd.Addr, "/no/such/id_ed25519", f.knownHosts, ""),
			want: []string{"/no/such/id_ed25519"}},
	}
	return cases
}

// TestBadInputCorpus runs every bad input through the real frontend (the
// compiled mage binary) against a live deployment behind nginx, and checks
// that each one exits non-zero, says what is wrong, and changes nothing on
// the host. testdata/badinput/messages.txt is what users see for each
// (go test -run TestBadInputCorpus -update-badinput rewrites it).
func TestBadInputCorpus(t *testing.T) {
	start := time.Now()
	a := newE2E(t, "v1.0.0")

	// Compile the frontend while v1.0.0 goes live.
	bin := filepath.Join(t.TempDir(), "mage-bin")
	compiled := make(chan error, 1)
	go func() { compiled <- compileMage(bin) }()

	_, err := a.deploy("v1.0.0", nil)
	require.NoError(t, err)
	require.NoError(t, <-compiled)
	f := newSSHFixture(t)
	t.Logf("setup (demo image, nginx, first deployment, mage binary, sshd) took %s", time.Since(start).Round(time.Millisecond))

	r := &corpusRunner{a: a, bin: bin}
	r.config, err = os.ReadFile(a.cfgFile)
	require.NoError(t, err)
	r.compose, err = os.ReadFile(filepath.Join(a.dir, "docker-compose.yml"))
	require.NoError(t, err)

	before := a.snapshot()
	require.Regexp(t, `container /`+a.app+`-blue-web-1 \S+ running`, before, "the live colour runs before the corpus")

	// Controls: the unedited inputs plan fine, so each case fails for its
	// own edit; and the snapshot sees a change when there is one.
	code, stdout, stderr, _ := r.run(t, badCase{args: []string{"deploy:plan", "v1.0.0"}})
	require.Zero(t, code, "the unedited deploy.yml must plan fine:\n%s\n%s", stdout, stderr)
	require.Contains(t, stdout, "ok     image web")
	probe := filepath.Join(a.appPath, ".blueshift", "probe")
	require.NoError(t, os.WriteFile(probe, nil, 0o600))
	require.NotEqual(t, before, a.snapshot(), "the snapshot sees a new file in the app path")
	require.NoError(t, os.Remove(probe))
	require.Equal(t, before, a.snapshot(), "the control plan changed the host")

	var transcript bytes.Buffer
	cases := badInputCases(a, f)
	require.GreaterOrEqual(t, len(cases), 40)
	names := map[string]bool{}
	corpusStart := time.Now()
	for _, c := range cases {
		require.False(t, names[c.name], "duplicate case name %q", c.name)
		names[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			t0 := time.Now()
			code, stdout, stderr, dir := r.run(t, c)
			took := time.Since(t0)

			assert.NotZero(t, code, "exit code; stdout:\n%s", stdout)
			assert.NotContains(t, stderr+stdout, "panic:", "no panic")
			// The case's directory holds its name: take it out before
			// looking for words.
			said := strings.ToLower(strings.ReplaceAll(stderr, dir, "$CASE"))
			for _, w := range c.want {
				assert.Contains(t, said, strings.ToLower(w), "stderr names the problem (%q)", w)
			}
			assertNoSecret(t, c.secret, stdout+stderr)
			after := a.snapshot()
			assert.Equal(t, before, after, "the host changed")
			before = after // attribute a change to the case that made it, once

			fmt.Fprintf(&transcript, "## %s\n$ %s  (exit %d)\n%s\n", c.name, strings.Join(quoteArgs(c.args), " "), code,
				normalise(a, f, dir, stderr))
			if took > 5*time.Second {
				t.Errorf("took %s: a bad input must be refused before anything slow starts", took)
			}
		})
	}
	t.Logf("%d cases took %s", len(cases), time.Since(corpusStart).Round(time.Millisecond))

	// The live deployment still serves, from the same colour and version.
	_, colour, body := a.serving()
	assert.Equal(t, "blue", colour)
	assert.Contains(t, body, "v1.0.0")

	// The transcript is for review, not a gate: messages are pinned by the
	// cases' wants, and other packages reword them freely.
	golden := filepath.Join("testdata", "badinput", "messages.txt")
	if *updateBadInput {
		require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
		require.NoError(t, os.WriteFile(golden, transcript.Bytes(), 0o644))
	} else if old, err := os.ReadFile(golden); err != nil || !bytes.Equal(old, transcript.Bytes()) {
		t.Logf("%s is out of date: rerun with -update-badinput and review the diff", golden)
	}
}

// corpusRunner runs one case's target with its edited files.
type corpusRunner struct {
	a               *e2eApp
	bin             string
	config, compose []byte // the working deploy.yml and docker-compose.yml
}

// run writes c's deploy.yml and docker-compose.yml into a new directory and
// runs c's target there with a minimal environment plus c.env.
func (r *corpusRunner) run(t *testing.T, c badCase) (code int, stdout, stderr, dir string) {
	t.Helper()
	dir = t.TempDir()
	cfg, comp := string(r.config), string(r.compose)
	if c.config != nil {
		cfg = c.config(t, cfg)
	}
	if c.compose != nil {
		comp = c.compose(t, comp)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "deploy.yml"), []byte(cfg), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(comp), 0o644))
	env := map[string]string{
		"PATH": os.Getenv("PATH"), "HOME": os.Getenv("HOME"), "USER": "badinput",
		"DEPLOY_CONFIG":    filepath.Join(dir, "deploy.yml"),
		"BLUESHIFT_REPORT": filepath.Join(dir, "report.json"),
	}
	for k, v := range c.env {
		if v == "-" {
			delete(env, k)
		} else {
			env[k] = v
		}
	}
	code, stdout, stderr = runMage(t, r.bin, dir, env, c.args...)
	return code, stdout, stderr, dir
}

// compileMage compiles the Mage frontend of this repository into bin.
func compileMage(bin string) error { return hosttest.CompileMage("..", bin) }

// runMage runs the compiled frontend with exactly env and returns its exit
// code and output.
func runMage(t *testing.T, bin, dir string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), stdout.String(), stderr.String()
	}
	t.Fatalf("run %s %v: %v", bin, args, err)
	return 0, "", ""
}

// snapshot is everything a failed command must leave as it was: the app
// path's files (state, history, lock, rendered compose files, backups)
// with their sizes and digests, the proxy's upstream file, and the app's
// containers (ID, state, start time), volumes and networks.
func (a *e2eApp) snapshot() string {
	t := a.t
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(a.appPath, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(a.appPath, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			fmt.Fprintf(&b, "dir  %s %s\n", rel, info.Mode())
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "file %s %s %d %x\n", rel, info.Mode(), len(data), sha256.Sum256(data))
		return nil
	})
	require.NoError(t, err)
	upstream, err := os.ReadFile(filepath.Join(a.dir, "nginx-upstream.conf"))
	require.NoError(t, err)
	fmt.Fprintf(&b, "upstream %x\n", sha256.Sum256(upstream))

	docker := func(args ...string) []string {
		out, err := exec.Command("docker", args...).Output()
		require.NoError(t, err, "docker %v", args)
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		slices.Sort(lines)
		return lines
	}
	var ids []string
	for _, proj := range []string{a.app, a.app + "-blue", a.app + "-green"} {
		for _, id := range docker("ps", "-aq", "--no-trunc", "--filter", "label=com.docker.compose.project="+proj) {
			if id != "" {
				ids = append(ids, id)
			}
		}
	}
	for _, id := range docker("ps", "-aq", "--no-trunc", "--filter", "name="+a.app) {
		if id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) > 0 {
		args := append([]string{"inspect", "--format", "container {{.Name}} {{.Id}} {{.State.Status}} {{.State.StartedAt}} restarts={{.RestartCount}} {{.Config.Image}}"}, ids...)
		for _, l := range docker(args...) {
			fmt.Fprintln(&b, l)
		}
	}
	for _, l := range docker("volume", "ls", "--format", "volume {{.Name}}", "--filter", "name="+a.app) {
		fmt.Fprintln(&b, l)
	}
	for _, l := range docker("network", "ls", "--format", "network {{.ID}} {{.Name}}", "--filter", "name="+a.app) {
		fmt.Fprintln(&b, l)
	}
	return b.String()
}

// normalise replaces what differs between runs (names, paths, ports) in
// out, for the transcript.
func normalise(a *e2eApp, f *sshFixture, caseDir, out string) string {
	r := strings.NewReplacer(caseDir, "$CASE", a.appPath, "$APP_PATH", a.dir, "$DIR", a.repo, "$REPO", a.app, "$APP",
		f.sshd.Addr, "$SSHD", filepath.Dir(f.clientKey), "$KEYS", filepath.Dir(f.knownHosts), "$SSHD_DIR")
	out = r.Replace(strings.TrimRight(out, "\n"))
	_, port, _ := strings.Cut(f.sshd.Addr, ":")
	out = strings.ReplaceAll(out, "-p "+port+" ", "-p $SSHD_PORT ")
	out = regexp.MustCompile(`prod(uction)?-v[0-9.]+-[0-9tTzZ-]+`).ReplaceAllString(out, "$$DEPLOYMENT_ID")
	out = regexp.MustCompile(`time=\S+`).ReplaceAllString(out, "time=T")
	out = regexp.MustCompile(`\d+ MiB`).ReplaceAllString(out, "N MiB")
	out = regexp.MustCompile(`SHA256:[A-Za-z0-9+/]+`).ReplaceAllString(out, "SHA256:…")
	out = regexp.MustCompile(`127\.0\.0\.1:\d{4,5}`).ReplaceAllString(out, "127.0.0.1:PORT")
	return "  " + strings.ReplaceAll(out, "\n", "\n  ")
}

func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, s := range args {
		out[i] = s
		if s == "" || strings.ContainsAny(s, " ;\"'\n") {
			out[i] = fmt.Sprintf("%q", s)
		}
	}
	return out
}

// assertNoSecret fails when any line of secret (a key, a password) of 12
// characters or more shows up in out.
func assertNoSecret(t *testing.T, secret, out string) {
	t.Helper()
	for _, line := range strings.Split(secret, "\n") {
		line = strings.TrimSpace(line)
		if len(line) >= 12 && !strings.HasPrefix(line, "-----") {
			assert.NotContains(t, out, line, "a secret leaked into the output")
		}
	}
}
