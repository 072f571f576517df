package targets

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/blueshift-deploy/blueshift/backup"
	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
	"github.com/blueshift-deploy/blueshift/deploy/state"
)

// mageFunc runs the compiled frontend (see TestMageFrontend).
type mageFunc func(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int)

// helpLines are the `mage -l` lines of the operations targets.
var helpLines = []string{
	`deploy:production\s+deploys VERSION \(or "auto"\) to production with a blue-green switch, rolling back on failure.\n`,
	`deploy:staging\s+deploys VERSION \(or "auto"\) to staging, exactly like deploy:production.\n`,
	`deploy:to\s+deploys VERSION \(or "auto"\) to environment ENV of deploy.yml, exactly like deploy:production.\n`,
	`init\s+proposes deploy.yml from docker-compose.yml \(or -compose=FILE\) and the nginx \(or -proxy=caddy\) configuration it needs; it writes deploy.yml only when none exists \(or with -force\).\n`,
	`logs\s+prints the logs of SERVICE \("all": every service\) in ENV's live colour \(or -colour=\); -f follows until Ctrl-C, -n=N the last N lines, -since=10m.\n`,
	`exec\s+runs COMMAND \(split like a shell's words, no shell involved\) in SERVICE's container of ENV's live colour \(or -colour=\); its exit code is the target's.\n`,
	`deploy:plan\s+prints what deploying VERSION to ENV would do, changing nothing; exits 1 if preflight fails.\n`,
	`compose:render\s+prints the compose file of COLOUR \(blue or green\) for VERSION in ENV, as a deployment would write it.\n`,
	`rollback\s+returns ENV to the previous release, or to -to=VERSION.\n`,
	`status\s+shows ENV's live colour, releases, containers, lock and recent history.\n`,
	`versions\s+lists the last 20 deployments, rollbacks and lock releases of ENV.\n`,
	`reconcile\s+takes ENV's deploy lock and repairs a run that died part-way.\n`,
	`lock:release\s+releases ENV's deploy lock when its holder is gone, recording the former holder in history.\n`,
	`health\s+checks the live colour of ENV once: its ports, PostgreSQL, Redis and the public URL.\n`,
	`smoke\s+runs the smoke endpoints against ENV's public URL \(or the live colour's port\).\n`,
	`backup:create\s+backs up ENV now \(database, media, Docker state, release\) and prunes beyond backup.keep.\n`,
	`backup:list\s+lists ENV's backups, newest last: ID, size, age and whether verified.\n`,
	`backup:verify\s+checks backup ID of ENV: manifest, sizes, SHA-256 sums, and that dumps and archives read.\n`,
	`backup:restore\s+puts backup ID of ENV back, replacing live data; needs -confirm or BLUESHIFT_CONFIRM_RESTORE=ID.\n`,
	`releasenotes\s+prints the release notes \(Markdown\) of the commits after FROM up to TO in this repository.\n`,
	`notify:test\s+sends a test event to every notifier configured for ENV and prints how each fared.\n`,
}

// localConfig writes a deploy.yml whose production runs on this machine
// ("local") in a fresh temporary app directory, and returns its
// environment for the frontend and the app directory. extra is appended to
// the environment's settings (indented by four spaces).
func localConfig(t *testing.T, blue, green int, extra string) (map[string]string, string) {
	t.Helper()
	dir := t.TempDir()
	app := filepath.Join(dir, "app")
	name := "jt" + strings.ToLower(strings.ReplaceAll(filepath.Base(dir), "_", ""))
	name = regexp.MustCompile(`[^a-z0-9]`).ReplaceAllString(name, "")
	compose := "services:\n  web:\n    image: blueshift-test-" + name + ":latest\n    ports: [\"80\"]\n"
	yml := "app: " + name + "\nenvironments:\n  production:\n    host: {address: local}\n    path: " + app + "\n" +
		"    services: {stateless: [web]}\n    ports: {web: {container: 80, blue: " + strconv.Itoa(blue) + ", green: " + strconv.Itoa(green) + "}}\n" +
		"    proxy: {kind: none}\n" + extra
	for file, text := range map[string]string{"docker-compose.yml": compose, "deploy.yml": yml} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(app, 0o755); err != nil {
		t.Fatal(err)
	}
	env := exampleEnv(filepath.Join(dir, "deploy.yml"))
	env["BLUESHIFT_REPORT"] = filepath.Join(dir, "report.json")
	return env, app
}

// scratchImage builds image (FROM scratch, one small file) on this
// machine's Docker Engine and removes it when t ends.
func scratchImage(t *testing.T, image string) {
	t.Helper()
	ctxDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte("FROM scratch\nCOPY Dockerfile /\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("docker", "build", "-q", "-t", image, ctxDir).CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v: %s", err, b)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", image).Run() })
}

// testOperations checks the operations targets' help lines and the paths
// that need no server: invalid input, unknown environments, and a local
// environment in a temporary directory (nothing is deployed).
func testOperations(t *testing.T, list string, mage mageFunc) {
	for _, re := range helpLines {
		if !regexp.MustCompile(re).MatchString(list) {
			t.Errorf("mage -l lacks %s", re)
		}
	}

	t.Run("deploy:plan invalid version", func(t *testing.T) {
		out, errOut, code := mage(t, exampleEnv("examples/deploy.yml"), "deploy:plan", "v1.0")
		if code != 1 || !strings.Contains(errOut, `version "v1.0": missing patch version`) {
			t.Errorf("exit %d, stderr:\n%s", code, errOut)
		}
		assertNoSecrets(t, out+errOut)
	})

	t.Run("unknown environment", func(t *testing.T) {
		env := exampleEnv("examples/deploy.yml")
		env["BLUESHIFT_ENV"] = "nope"
		for _, target := range []string{"status", "versions", "deploy:plan"} {
			args := []string{target}
			if target == "deploy:plan" {
				args = append(args, "v1.0.0")
			}
			_, errOut, code := mage(t, env, args...)
			if code != 1 || !strings.Contains(errOut, `unknown environment "nope": known environments are production, staging`) {
				t.Errorf("%s: exit %d, stderr:\n%s", target, code, errOut)
			}
		}
		// -env and deploy:to name it the same way.
		for _, args := range [][]string{{"status", "-env=nope"}, {"backup:verify", "x", "-env=nope"}, {"deploy:to", "nope", "v1.0.0"}} {
			_, errOut, code := mage(t, exampleEnv("examples/deploy.yml"), args...)
			if code != 1 || !strings.Contains(errOut, `unknown environment "nope": known environments are production, staging`) {
				t.Errorf("%v: exit %d, stderr:\n%s", args, code, errOut)
			}
		}
	})

	t.Run("no environment named", func(t *testing.T) {
		// Two environments and no -env: an error naming them, not production
		// (on 95e58ec every target fell back to production silently).
		_, errOut, code := mage(t, exampleEnv("examples/deploy.yml"), "status")
		if code != 1 || !strings.Contains(errOut, "which environment? pass -env=NAME or set BLUESHIFT_ENV; examples/deploy.yml defines production, staging") {
			t.Errorf("exit %d, stderr:\n%s", code, errOut)
		}
	})

	t.Run("compose:render bad colour", func(t *testing.T) {
		_, errOut, code := mage(t, exampleEnv("examples/deploy.yml"), "compose:render", "purple", "v1.0.0")
		if code != 1 || !strings.Contains(errOut, `colour "purple": invalid colour: want blue or green`) {
			t.Errorf("exit %d, stderr:\n%s", code, errOut)
		}
	})

	t.Run("releasenotes", func(t *testing.T) {
		revs, err := exec.Command("git", "-C", "../..", "rev-list", "--reverse", "HEAD").Output()
		if err != nil {
			t.Fatal(err)
		}
		all := strings.Fields(string(revs))
		if len(all) < 3 {
			t.Fatalf("want at least 3 commits, have %d", len(all))
		}
		// From the first commit to the third: the second and third are listed.
		out, errOut, code := mage(t, nil, "releasenotes", all[0], all[2])
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if !strings.Contains(out, "`"+all[1][:7]+"`") || !strings.Contains(out, "`"+all[2][:7]+"`") || strings.Contains(out, all[0][:7]) {
			t.Errorf("notes %s..%s:\n%s", all[0][:7], all[2][:7], out)
		}
		if _, errOut, code := mage(t, nil, "releasenotes", "--upload-pack=x", "HEAD"); code != 1 || !strings.Contains(errOut, "invalid ref") {
			t.Errorf("option as a ref: exit %d, stderr:\n%s", code, errOut)
		}
	})

	t.Run("live colour checks", func(t *testing.T) { testLiveChecks(t, mage) })

	t.Run("local environment", func(t *testing.T) {
		hosttest.Require(t, "docker", exec.Command("docker", "version").Run())
		env, app := localConfig(t, 18001, 18002, "")

		out, errOut, code := mage(t, env, "status")
		if code != 0 {
			t.Fatalf("status: exit %d: %s", code, errOut)
		}
		if !strings.HasPrefix(errOut, "production on local\n") {
			t.Errorf("status does not say first where it acts:\n%s", errOut)
		}
		if out2, errOut, code := mage(t, env, "status", "-env=production"); code != 0 || !strings.HasPrefix(errOut, "production on local\n") || out2 != out {
			t.Errorf("status -env=production: exit %d, stderr %s, out:\n%s", code, errOut, out2)
		}
		for _, want := range []string{"environment  production on local", "current      none", "blue         no containers", "lock         free"} {
			if !strings.Contains(out, want) {
				t.Errorf("status lacks %q:\n%s", want, out)
			}
		}
		if out, errOut, code := mage(t, env, "versions"); code != 0 || !strings.Contains(out, "no deployments recorded") {
			t.Errorf("versions on a fresh dir: exit %d, out %q, stderr %s", code, out, errOut)
		}
		if out, _, code := mage(t, env, "lock:release"); code != 0 || !strings.Contains(out, "is free; nothing to release") {
			t.Errorf("lock:release on a free lock: exit %d, out %q", code, out)
		}
		if out, _, code := mage(t, env, "backup:list"); code != 0 || !strings.Contains(out, "no backups in "+app+"/backups") {
			t.Errorf("backup:list: exit %d, out %q", code, out)
		}
		if _, errOut, code := mage(t, env, "backup:verify", "../etc"); code != 1 || !strings.Contains(errOut, `backup ID "../etc": want a name from backup:list`) {
			t.Errorf("backup:verify ../etc: exit %d, stderr %q", code, errOut)
		}
		if _, errOut, code := mage(t, env, "backup:restore", "pre-deploy-v1.0.0-20261125_180000"); code != 1 ||
			!strings.Contains(errOut, "restore not confirmed") || !strings.Contains(errOut, "pass -confirm or set BLUESHIFT_CONFIRM_RESTORE=") {
			t.Errorf("backup:restore unconfirmed: exit %d, stderr %q", code, errOut)
		}
		// A backup of what runs now (nothing: Docker state and release),
		// listed, verified, and restored with confirmation by the variable
		// (nothing here can restore; the lock is free afterwards).
		out, errOut, code = mage(t, env, "backup:create")
		m := regexp.MustCompile(`(?m)^backup (pre-deploy-none-\d{8}_\d{6}): 2 artifacts in ` + regexp.QuoteMeta(app) + `/backups/`).FindStringSubmatch(out)
		if code != 0 || m == nil {
			t.Fatalf("backup:create: exit %d, stderr %s, out:\n%s", code, errOut, out)
		}
		id := m[1]
		if out, _, code := mage(t, env, "backup:list"); code != 0 || !regexp.MustCompile(`(?m)^ID\s+SIZE\s+AGE\s+VERIFIED\n`+id+`\s+\d+\.\d KiB\s+\d+s\s+no\n$`).MatchString(out) {
			t.Errorf("backup:list: exit %d, out:\n%s", code, out)
		}
		if out, errOut, code := mage(t, env, "backup:verify", id); code != 0 || out != "backup "+id+" is complete and intact\n" {
			t.Errorf("backup:verify: exit %d, out %q, stderr %s", code, out, errOut)
		}
		if out, _, code := mage(t, env, "backup:list"); code != 0 || !regexp.MustCompile(`(?m)^`+id+`\s.*\s\d{4}-\d\d-\d\d \d\d:\d\d UTC\n$`).MatchString(out) {
			t.Errorf("backup:list after verify: exit %d, out:\n%s", code, out)
		}
		confirmed := maps.Clone(env)
		confirmed[backup.ConfirmEnv] = id
		if _, errOut, code := mage(t, confirmed, "backup:restore", id); code != 1 || !strings.Contains(errOut, "no source of the plan can restore") {
			t.Errorf("backup:restore confirmed: exit %d, stderr %q", code, errOut)
		}
		if l, err := state.New(host.NewLocal(), app).ReadLock(context.Background()); err != nil || l != nil {
			t.Errorf("lock held after backup:restore: %v %v", l, err)
		}

		if _, errOut, code := mage(t, env, "health"); code != 1 || !strings.Contains(errOut, "nothing is live yet") {
			t.Errorf("health with nothing live: exit %d, stderr %q", code, errOut)
		}
		quiet := maps.Clone(env)
		quiet["TELEGRAM_BOT_TOKEN"] = ""
		if out, _, code := mage(t, quiet, "notify:test"); code != 0 || !strings.Contains(out, "no notifiers are configured for production") {
			t.Errorf("notify:test without notifiers: exit %d, out %q", code, out)
		}
		// Telegram (configured through $TELEGRAM_BOT_TOKEN) against a local
		// Bot API server: delivered, then refused.
		var mu sync.Mutex
		var texts []string
		refuse := false
		tg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var msg struct {
				ChatID string `json:"chat_id"`
				Text   string `json:"text"`
			}
			json.NewDecoder(r.Body).Decode(&msg)
			mu.Lock()
			defer mu.Unlock()
			if r.URL.Path != "/bot"+secrets["TELEGRAM_BOT_TOKEN"]+"/sendMessage" || refuse {
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, `{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`)
				return
			}
			texts = append(texts, msg.ChatID+" "+msg.Text)
			io.WriteString(w, `{"ok":true,"result":{"message_id":1}}`)
		}))
		defer tg.Close()
		env["BLUESHIFT_TELEGRAM_API"] = tg.URL
		out, errOut, code = mage(t, env, "notify:test")
		mu.Lock()
		if code != 0 || !regexp.MustCompile(`telegram\s+sent in `).MatchString(out) || len(texts) != 1 ||
			!strings.HasPrefix(texts[0], "-1001234567890 ") || !strings.Contains(texts[0], "v0.0.0-notify-test") {
			t.Errorf("notify:test: exit %d, out %q, stderr %s, messages %q", code, out, errOut, texts)
		}
		refuse = true
		mu.Unlock()
		out, errOut, code = mage(t, env, "notify:test")
		if code != 1 || !strings.Contains(out, "telegram  FAILED after 1 attempt(s)") || !strings.Contains(out, "chat not found") ||
			!strings.Contains(errOut, "1 of 1 notifier(s) failed") {
			t.Errorf("notify:test refused: exit %d, out %q, stderr %s", code, out, errOut)
		}
		assertNoSecrets(t, out+errOut)
		out, errOut, code = mage(t, env, "compose:render", "green", "v1.2.3")
		if code != 0 || !strings.Contains(out, "image: blueshift-test-") || !strings.Contains(out, ":v1.2.3\n") ||
			!strings.Contains(out, `published: "18002"`) || !strings.Contains(out, "blueshift.colour: green") {
			t.Errorf("compose:render green: exit %d, stderr %s, out:\n%s", code, errOut, out)
		}

		// lock:release refuses a lock whose holder is alive (this test
		// process holds it; on 239a55e it removed whatever lock was there),
		// and with -force ends the holder's hold, printing and recording
		// the former holder.
		store := state.New(host.NewLocal(), app)
		held, err := store.Acquire(context.Background(), state.NewLock(state.KindDeploy, "v1.0.0", "prod-v1.0.0-x", "test"))
		if err != nil {
			t.Fatal(err)
		}
		if out, errOut, code := mage(t, env, "lock:release", "-reason=stuck runner"); code != 1 || !strings.Contains(errOut, "alive") || !strings.Contains(errOut, "-force") {
			t.Errorf("lock:release on a live holder: exit %d, out %q, stderr %s", code, out, errOut)
		}
		if out, _, code := mage(t, env, "reconcile"); code != 1 {
			t.Errorf("reconcile while a live run holds the lock: exit %d, out %q", code, out)
		}
		if out, errOut, code := mage(t, env, "lock:release", "-reason=stuck runner", "-force"); code != 0 || !strings.Contains(out, "released the deploy lock of production, held by ") {
			t.Errorf("lock:release -force on a held lock: exit %d, out %q, stderr %s", code, out, errOut)
		}
		if l, err := store.ReadLock(context.Background()); err != nil || l != nil {
			t.Errorf("lock still held after lock:release: %v %v", l, err)
		}
		select {
		case <-held.Lost():
		case <-time.After(10 * time.Second):
			t.Errorf("the forced holder's session still runs")
		}
		if out, errOut, code := mage(t, env, "reconcile"); code != 0 || !strings.Contains(out, "nothing to reconcile on production") {
			t.Errorf("reconcile with nothing interrupted: exit %d, out %q, stderr %s", code, out, errOut)
		}

		// deploy:plan: preflight fails while the image is missing, and
		// passes once it is on the host (a FROM scratch image built here).
		out, errOut, code = mage(t, env, "deploy:plan", "v1.2.3")
		if code != 1 || !strings.HasPrefix(out, "Plan for v1.2.3 (prod-v1.2.3-") || !regexp.MustCompile(`(?m)^\s+FAILED image web\s+blueshift-test-`).MatchString(out) ||
			!strings.Contains(errOut, "preflight check(s) failed") {
			t.Errorf("deploy:plan without the image: exit %d, stderr %s, out:\n%s", code, errOut, out)
		}
		m = regexp.MustCompile(`image: (blueshift-test-[a-z0-9]+):v1\.2\.3\n`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("deploy:plan shows no image:\n%s", out)
		}
		scratchImage(t, m[1]+":v1.2.3")
		out, errOut, code = mage(t, env, "deploy:plan", "v1.2.3")
		if code != 0 || !regexp.MustCompile(`(?m)^\s+ok\s+image web\s+`).MatchString(out) || !strings.Contains(out, "Rendered compose file of blue:\n") {
			t.Errorf("deploy:plan with the image: exit %d, stderr %s, out:\n%s", code, errOut, out)
		}

		// A deployment whose image does not exist stops at preflight:
		// nothing changes, the exit code is 1 and the report says why.
		// deploy:to names the environment and runs the same pipeline.
		if out, errOut, code := mage(t, env, "deploy:to", "production", "v9.9.8"); code != 1 ||
			!strings.HasPrefix(errOut, "production on local\n") || !strings.Contains(errOut, "production v9.9.8: failed: phase preflight") {
			t.Errorf("deploy:to: exit %d, stderr:\n%s\nstdout:\n%s", code, errOut, out)
		}
		out, errOut, code = mage(t, env, "deploy:production", "v9.9.9")
		if code != 1 || !strings.Contains(errOut, "production v9.9.9: failed: phase preflight") {
			t.Errorf("deploy:production: exit %d, stderr:\n%s\nstdout:\n%s", code, errOut, out)
		}
		var rep struct {
			Outcome string `json:"outcome"`
			Failure struct {
				Phase string `json:"phase"`
			} `json:"failure"`
		}
		data, err := os.ReadFile(env["BLUESHIFT_REPORT"])
		if err != nil || json.Unmarshal(data, &rep) != nil || rep.Outcome != "failed" || rep.Failure.Phase != "preflight" {
			t.Errorf("report: %v\n%s", err, data)
		}
		out, _, code = mage(t, env, "versions")
		if code != 0 || !regexp.MustCompile(`(?m)^\S+ \S+\s+lock-release\s+v1\.0\.0\s+released`).MatchString(out) ||
			!regexp.MustCompile(`(?m)^\S+ \S+\s+deploy\s+v9\.9\.9\s+failed.*preflight`).MatchString(out) {
			t.Errorf("versions after a release and a failed deployment: exit %d:\n%s", code, out)
		}
		hist, err := store.History(context.Background(), 5)
		if err != nil || len(hist) != 3 || hist[0].Reason != "released with lock:release by "+actorOf(env)+": stuck runner (-force)" {
			t.Errorf("history: %v %+v", err, hist)
		}
		assertNoSecrets(t, out+errOut)
	})
}

// testLiveChecks checks health, smoke and status against a live colour
// that is a local HTTP server on blue's port (state says blue is live; no
// proxy), with the real PostgreSQL and Redis.
func testLiveChecks(t *testing.T, mage mageFunc) {
	hosttest.Require(t, "docker", exec.Command("docker", "version").Run())
	for name, addr := range map[string]string{"postgres": "127.0.0.1:5432", "redis": hosttest.RedisAddr()} {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		hosttest.Require(t, name, err)
		if c != nil {
			c.Close()
		}
	}
	var mu sync.Mutex
	healthStatus := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case "/api/health/":
			w.WriteHeader(healthStatus)
		case "/api/v1/auth/status/":
			w.WriteHeader(http.StatusUnauthorized)
		}
		io.WriteString(w, "ok\n")
	}))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	extra := "    public_url: " + srv.URL + "\n" +
		"    health: {postgres: {dsn: '${TEST_PG_URL}'}, redis: {addr: '" + hosttest.RedisAddr() + "'}}\n"
	env, app := localConfig(t, port, port+1, extra)
	env["TEST_PG_URL"] = hosttest.PostgresURL()
	if _, err := state.New(host.NewLocal(), app).Update(context.Background(), func(s *state.State) { s.Live = "blue" }); err != nil {
		t.Fatal(err)
	}

	out, errOut, code := mage(t, env, "health")
	for _, re := range []string{
		`^live colour: blue\n`,
		`(?m)^ok\s+web ` + regexp.QuoteMeta(srv.URL) + `/api/health/\s+200 OK`,
		`(?m)^ok\s+postgres.*\n`, `(?m)^ok\s+redis.*PONG`,
		`(?m)^ok\s+public ` + regexp.QuoteMeta(srv.URL) + `/api/health/\s+200 OK`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("health lacks %s", re)
		}
	}
	if code != 0 || t.Failed() {
		t.Fatalf("health: exit %d, stderr %s, out:\n%s", code, errOut, out)
	}
	if strings.Contains(out+errOut, hosttest.PostgresURL()) || strings.Contains(out+errOut, ":blueshift@") {
		t.Errorf("the database URL leaked:\n%s%s", out, errOut)
	}

	out, errOut, code = mage(t, env, "smoke")
	if code != 0 || !strings.Contains(out, "/api/v1/auth/status/") || !strings.Contains(out, "401") {
		t.Errorf("smoke: exit %d, stderr %s, out:\n%s", code, errOut, out)
	}
	if out, _, code := mage(t, env, "status"); code != 0 || !strings.Contains(out, "live colour  blue") {
		t.Errorf("status: exit %d, out:\n%s", code, out)
	}

	mu.Lock()
	healthStatus = http.StatusServiceUnavailable
	mu.Unlock()
	out, errOut, code = mage(t, env, "health")
	if code != 1 || !regexp.MustCompile(`(?m)^FAILED\s+web `).MatchString(out) || !regexp.MustCompile(`(?m)^ok\s+redis`).MatchString(out) ||
		!strings.Contains(errOut, "blue is not healthy: web "+srv.URL+"/api/health/, public "+srv.URL+"/api/health/ failed") {
		t.Errorf("health with a failing endpoint: exit %d, stderr %s, out:\n%s", code, errOut, out)
	}
	out, errOut, code = mage(t, env, "smoke")
	if code != 1 || !strings.Contains(out, "503") {
		t.Errorf("smoke with a failing endpoint: exit %d, stderr %s, out:\n%s", code, errOut, out)
	}
	assertNoSecrets(t, out+errOut)
}

func TestInterruptible(t *testing.T) {
	ctx, stop := interruptible(context.Background())
	defer stop()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("SIGTERM did not cancel the context")
	}
}

func TestBackupTable(t *testing.T) {
	now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	infos := []backup.Info{
		{ID: "pre-deploy-v1.0.0-20261120_180000", Size: 3 << 20, Created: now.Add(-5 * 24 * time.Hour), Complete: true,
			Verified: true, VerifiedAt: time.Date(2026, 11, 21, 9, 30, 0, 0, time.UTC)},
		{ID: "pre-deploy-v1.0.1-20261125_170000", Size: 512, Created: now.Add(-61 * time.Minute), Complete: true},
		{ID: ".tmp-pre-deploy-v1.0.2-20261125_175950", Size: 1536, Created: now.Add(-10 * time.Second), Temp: true},
	}
	var b strings.Builder
	if err := writeBackups(&b, infos, now); err != nil {
		t.Fatal(err)
	}
	want := "ID                                      SIZE     AGE  VERIFIED\n" +
		"pre-deploy-v1.0.0-20261120_180000       3.0 MiB  5d   2026-11-21 09:30 UTC\n" +
		"pre-deploy-v1.0.1-20261125_170000       512 B    1h   no\n" +
		".tmp-pre-deploy-v1.0.2-20261125_175950  1.5 KiB  10s  INCOMPLETE\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

// actorOf is who the frontend run with env says runs it.
func actorOf(env map[string]string) string {
	for _, k := range []string{"GITHUB_ACTOR", "USER"} {
		if a, ok := env[k]; ok {
			return a
		}
		if a := os.Getenv(k); a != "" {
			return a
		}
	}
	return "unknown"
}
