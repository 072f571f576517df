package targets

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/blueshift-deploy/blueshift/examples/demo"
	"github.com/blueshift-deploy/blueshift/examples/thebot"
)

// testInit runs init through the compiled frontend on the compose files of
// examples/thebot (the seed's) and of the demo, checks the proposal, and
// that the written deploy.yml passes config:check; a second init neither
// overwrites it nor (with -force) refuses to.
func testInit(t *testing.T, mage mageFunc) {
	thebotDir, demoDir := t.TempDir(), t.TempDir()
	w, err := thebot.Open(thebot.Options{Dir: thebotDir})
	if err != nil {
		t.Fatal(err)
	}
	reg := "127.0.0.1:5000/thebot/"
	if err := w.WriteFiles(&thebot.Images{Backend: map[string]string{thebot.FirstVersion: reg + "backend:v1.0.0"},
		Frontend: map[string]string{thebot.FirstVersion: reg + "frontend:v1.0.0"}, DB: reg + "postgres:15", Redis: reg + "redis:7"}); err != nil {
		t.Fatal(err)
	}
	dw, err := demo.Open(demo.Options{Dir: demoDir})
	if err != nil {
		t.Fatal(err)
	}
	composeFile, _, err := dw.Files()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dw.ComposeFile, composeFile, 0o600); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name, compose, proxy string
		want                 []string
	}{
		{"thebot", w.ComposeFile, "", []string{
			"    services:\n      stateless: [backend, beat, frontend, worker]\n      shared: [db, redis]\n",
			"      backend: {container: 8000, blue: 8001, green: 8002}\n      frontend: {container: 3000, blue: 8011, green: 8012}\n",
			"    proxy: {kind: nginx}\n",
			"include /etc/nginx/blueshift/",
			"proxy_pass http://",
		}},
		{"demo", dw.ComposeFile, "caddy", []string{
			"      stateless: [web]\n      shared: []\n",
			"    proxy: {kind: caddy}\n",
			`"@id": "`,
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			target := filepath.Join(t.TempDir(), "deploy.yml")
			env := exampleEnv(target)
			args := []string{"init", "-compose=" + c.compose}
			if c.proxy != "" {
				args = append(args, "-proxy="+c.proxy)
			}
			out, errOut, code := mage(t, env, args...)
			if code != 0 || !strings.HasPrefix(out, "# wrote "+target+": check it with `go tool mage config:check`\n") {
				t.Fatalf("init: exit %d, stderr %s, out:\n%s", code, errOut, out)
			}
			written, err := os.ReadFile(target)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range c.want {
				if !strings.Contains(string(written)+out, want) {
					t.Errorf("lacks %q:\n%s\n%s", want, written, out)
				}
			}
			if !regexp.MustCompile(`compose_file: \S+/` + regexp.QuoteMeta(filepath.Base(c.compose)) + `\n`).Match(written) {
				t.Errorf("compose_file not relative to deploy.yml:\n%s", written)
			}
			if out, errOut, code := mage(t, env, "config:check"); code != 0 || !strings.Contains(out, "is valid") {
				t.Errorf("config:check of the written file: exit %d, stderr %s", code, errOut)
			}

			// A second run prints instead of overwriting; -force overwrites.
			if err := os.WriteFile(target, []byte("# mine\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			out, _, code = mage(t, env, args...)
			if kept, _ := os.ReadFile(target); code != 0 || string(kept) != "# mine\n" ||
				!strings.HasPrefix(out, "# "+target+" exists: not overwritten (-force replaces it). Proposed:\n# deploy.yml proposed by") {
				t.Errorf("init over an existing file: exit %d, file %q, out:\n%s", code, kept, out)
			}
			if _, _, code := mage(t, env, append(args, "-force")...); code != 0 {
				t.Errorf("init -force: exit %d", code)
			}
			if again, _ := os.ReadFile(target); string(again) != string(written) {
				t.Errorf("init -force wrote:\n%s", again)
			}
		})
	}
	if _, errOut, code := mage(t, exampleEnv(filepath.Join(t.TempDir(), "deploy.yml")), "init", "-compose="+filepath.Join(t.TempDir(), "nope.yml")); code != 1 || !strings.Contains(errOut, "compose file not found") {
		t.Errorf("init without a compose file: exit %d, stderr %s", code, errOut)
	}
}
