package targets

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/magefile/mage/mg"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
	"github.com/blueshift-deploy/blueshift/deploy/state"
)

// TestTestPhaseSeesNoSecretAndItsOutputIsMasked runs deploy:production in
// process (the real frontend: console, report, final error line, slog on
// stderr) on this machine's Docker Engine, with a test suite that prints
// the deployment's secrets from its environment and echoes one literally,
// then fails.
//
// On 239a55e the suite inherited blueshift's whole environment (it printed
// PRODUCTION_SSH_KEY, GITHUB_TOKEN and TELEGRAM_BOT_TOKEN), and its output
// went unmasked into history.jsonl (Logs and Error), while the console and
// the report masked it: the host's history held the secrets. (Its stdout
// and stderr were also copied into one unsynchronised line writer by two
// goroutines: a suite writing to both could panic the deployment with
// "slice bounds out of range"; seen in 1 run of 5 of this test.)
func TestTestPhaseSeesNoSecretAndItsOutputIsMasked(t *testing.T) {
	hosttest.Require(t, "docker", exec.Command("docker", "version").Run())
	token := secrets["TELEGRAM_BOT_TOKEN"]
	// $$ is a literal $ in deploy.yml (interpolated as in a Compose file),
	// so the shell, not the config, expands these when the tests run.
	script := `echo "key=[$$PRODUCTION_SSH_KEY] gh=[$$GITHUB_TOKEN] tg=[$$TELEGRAM_BOT_TOKEN] db=[$$DATABASE_URL] named=[$$EXTRA_FOR_TESTS] ci=[$$CI] home=[$$HOME]"; ` +
		`echo "literal ` + token + `"; echo "on stderr ` + token + `" >&2; exit 3`
	extra := "    backup: {enabled: false}\n" +
		"    tests:\n      command: [sh, -c, '" + script + "']\n      env: [EXTRA_FOR_TESTS]\n"
	env, app := localConfig(t, 18201, 18202, extra)
	env["PATH"], env["HOME"], env["CI"], env["EXTRA_FOR_TESTS"] = os.Getenv("PATH"), "/home/tester", "true", "named-value"

	// Telegram (configured by $TELEGRAM_BOT_TOKEN) is a local Bot API server
	// keeping what it was sent: the failure notification carries the error.
	var mu sync.Mutex
	var sent []string
	tg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg struct {
			Text string `json:"text"`
		}
		json.NewDecoder(r.Body).Decode(&msg)
		mu.Lock()
		sent = append(sent, msg.Text)
		mu.Unlock()
		io.WriteString(w, `{"ok":true,"result":{"message_id":1}}`)
	}))
	defer tg.Close()
	env["BLUESHIFT_TELEGRAM_API"] = tg.URL

	// Preflight passes once the image is on the host (FROM scratch).
	cfg, err := os.ReadFile(env["DEPLOY_CONFIG"])
	if err != nil {
		t.Fatal(err)
	}
	scratchImage(t, "blueshift-test-"+regexp.MustCompile(`(?m)^app: (\S+)$`).FindStringSubmatch(string(cfg))[1]+":v1.2.3")

	out, errOut := swap(t, env)
	err = (Deploy{}).Production(context.Background(), "v1.2.3")
	if mg.ExitStatus(err) != 1 || !strings.HasPrefix(err.Error(), "production v1.2.3: failed: phase test: test suite failed") {
		t.Fatalf("deploy:production = %v (exit %d), want a failure in phase test; stdout:\n%s\nstderr:\n%s", err, mg.ExitStatus(err), out, errOut)
	}
	history, herr := os.ReadFile(filepath.Join(app, ".blueshift", "history.jsonl"))
	report, rerr := os.ReadFile(env["BLUESHIFT_REPORT"])
	if herr != nil || rerr != nil {
		t.Fatalf("history %v, report %v", herr, rerr)
	}
	mu.Lock()
	notified := strings.Join(sent, "\n")
	mu.Unlock()

	for where, text := range map[string]string{
		"console": out.String(), "log": errOut.String(), "error": err.Error(),
		"history.jsonl": string(history), "report": string(report), "notifications": notified,
	} {
		assertNoSecrets(t, text)
		if strings.Contains(text, token) || strings.Contains(text, "secret-telegram-token") {
			t.Errorf("%s shows the Telegram token:\n%s", where, text)
		}
	}
	// The suite saw none of the secrets, but what it needs and what
	// tests.env names.
	seen := `key=[] gh=[] tg=[] db=[] named=[named-value] ci=[true] home=[/home/tester]`
	if !strings.Contains(out.String(), seen) {
		t.Errorf("console lacks %q:\n%s", seen, out)
	}
	var entry struct{ Logs, Error string }
	if err := json.Unmarshal(history[:len(history)-1], &entry); err != nil {
		t.Fatalf("history entry: %v\n%s", err, history)
	}
	for _, w := range []string{seen, "literal ***", "on stderr ***"} {
		if !strings.Contains(entry.Logs, w) {
			t.Errorf("history logs lack %q:\n%s", w, entry.Logs)
		}
	}
	t.Logf("history entry: %+v", entry)
	if !strings.Contains(entry.Error, "literal ***") || !strings.Contains(err.Error(), "literal ***") {
		t.Errorf("the error names the command, masked: history %q, printed %q", entry.Error, err)
	}
	if !strings.Contains(notified, "on stderr ***") {
		t.Errorf("the failure notification should carry the masked error:\n%s", notified)
	}

	// An entry written unmasked (by 239a55e) is masked when status and
	// versions print it.
	store := state.New(host.NewLocal(), app)
	if err := store.Append(context.Background(), state.Entry{Kind: state.KindDeploy, Version: "v1.2.2", Outcome: state.OutcomeFailed,
		Phase: "test", Error: "test suite failed: literal " + token + " in " + app}); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]func(context.Context, *string) error{"status": Status, "versions": Versions} {
		out, errOut := swap(t, env)
		if err := target(context.Background(), nil); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, errOut)
		}
		if !strings.Contains(out.String(), "v1.2.2") || !strings.Contains(out.String(), "literal ***") ||
			strings.Contains(out.String(), token) || strings.Contains(out.String(), app) {
			t.Errorf("%s shows the old entry unmasked (or not at all):\n%s", name, out)
		}
	}
}
