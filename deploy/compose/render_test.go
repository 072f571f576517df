package compose

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// goldenCases are the directories under testdata: a compose file, its env
// files, render.json (the RenderOptions) and the golden renders.
func goldenCases(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	var cases []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join("testdata", e.Name(), "render.json")); err == nil {
			cases = append(cases, e.Name())
		}
	}
	if len(cases) < 3 {
		t.Fatalf("found %d golden cases, want at least 3", len(cases))
	}
	return cases
}

func renderCase(t *testing.T, name string, hostDir string) *Rendered {
	t.Helper()
	dir := filepath.Join("testdata", name)
	var opts RenderOptions
	data, err := os.ReadFile(filepath.Join(dir, "render.json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&opts); err != nil {
		t.Fatalf("render.json: %v", err)
	}
	if hostDir != "" {
		opts.HostDir = hostDir
	}
	p, err := Load(context.Background(), LoadOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Render(p, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestRenderGolden(t *testing.T) {
	for _, name := range goldenCases(t) {
		t.Run(name, func(t *testing.T) {
			r := renderCase(t, name, "")
			for file, proj := range map[string]*RenderedProject{"colour.golden.yml": r.Colour, "shared.golden.yml": r.Shared} {
				got, err := proj.YAML()
				if err != nil {
					t.Fatal(err)
				}
				again, _ := proj.YAML()
				if !bytes.Equal(got, again) {
					t.Error("YAML is not deterministic")
				}
				if bytes.Contains(got, []byte("never-in-rendered-output")) || bytes.Contains(got, []byte("SECRET_KEY")) {
					t.Errorf("%s: env_file contents were inlined", file)
				}
				checkGolden(t, filepath.Join("testdata", name, file), got)
			}
			res, _ := json.MarshalIndent(struct{ Volumes, Networks []Resource }{r.Volumes, r.Networks}, "", "  ")
			checkGolden(t, filepath.Join("testdata", name, "resources.golden.json"), append(res, '\n'))
		})
	}
}

// composeV2 returns the argv prefix of the real Compose v2, or fails/skips.
func composeV2(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("docker", "compose", "version", "--short").Output()
	if err == nil && !strings.HasPrefix(strings.TrimPrefix(strings.TrimSpace(string(out)), "v"), "2.") {
		err = errors.New("docker compose is not v2: " + string(out))
	}
	hosttest.Require(t, "Docker Compose v2 (docker compose)", err)
	return []string{"docker", "compose"}
}

// TestRenderedAcceptedByCompose hands every rendered file to the real
// `docker compose config`. Paths point into testdata so env files exist.
func TestRenderedAcceptedByCompose(t *testing.T) {
	compose := composeV2(t)
	for _, name := range goldenCases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			abs, err := filepath.Abs(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			r := renderCase(t, name, abs)
			for _, proj := range []*RenderedProject{r.Colour, r.Shared} {
				data, err := proj.YAML()
				if err != nil {
					t.Fatal(err)
				}
				file := filepath.Join(t.TempDir(), proj.Name()+".yml")
				if err := os.WriteFile(file, data, proj.FileMode()); err != nil {
					t.Fatal(err)
				}
				argv := append(append([]string{}, compose...), "-f", file, "--profile", "*", "config", "--format", "json")
				cmd := exec.Command(argv[0], argv[1:]...)
				cmd.Env = append(os.Environ(), "COMPOSE_DISABLE_ENV_FILE=1")
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("%s rejected by %s: %v\n%s\n%s", proj.Name(), strings.Join(argv, " "), err, stderr.String(), data)
				}
				var cfg struct {
					Name     string
					Services map[string]struct {
						Image  string
						Labels map[string]string
					}
				}
				if err := json.Unmarshal(out, &cfg); err != nil {
					t.Fatal(err)
				}
				if cfg.Name != proj.Name() || len(cfg.Services) != len(proj.Project.Services) {
					t.Errorf("compose sees project %q with %d services, want %q with %d", cfg.Name, len(cfg.Services), proj.Name(), len(proj.Project.Services))
				}
				for sn, s := range cfg.Services {
					if s.Labels[LabelApp] == "" || s.Image != proj.Project.Services[sn].Image {
						t.Errorf("%s: compose sees image %q labels %v", sn, s.Image, s.Labels)
					}
				}
			}
		})
	}
}
