package deploy_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/blueshift-deploy/blueshift"

// pkgDeps is what `go list -deps -json` says about one package: its direct
// imports (non-test files) and everything it depends on, transitively.
type pkgDeps struct {
	Imports []string
	Deps    []string
}

// Module-relative package paths the layering rules name.
var (
	// mustNotImportDeploy are the reusable packages: package deploy builds
	// on them, never the other way round.
	mustNotImportDeploy = []string{"health", "backup", "notify", "deploy/compose", "deploy/traffic", "deploy/releasenotes", "deploy/host", "deploy/version", "deploy/state", "deploy/container"}

	// appTargets is what application repositories `//mage:import`: it must
	// not bring them this repository's examples or package testing (its
	// own test, demo and bench targets live in magefiles/devtargets).
	appTargets = "magefiles/targets"

	// dockerSDKAllowed are the packages that may import the Docker SDK
	// (github.com/docker/docker/...) directly, so that the move to
	// github.com/moby/moby/client touches these and no others:
	//   - deploy/host: builds the Docker client dialled through the host;
	//   - deploy/container: the one Docker wrapper (pull, exec, logs,
	//     health, removal); everything else, health's container probes
	//     included, goes through it;
	//   - deploy/host/hosttest: the test helper handing tests a client to
	//     the local Engine.
	dockerSDKAllowed = []string{"deploy/host", "deploy/container", "deploy/host/hosttest"}

	// composeGoAllowed are the packages that may import compose-go:
	//   - deploy/compose: loading and rendering compose files;
	//   - deploy: TODO(issue 14): config.go takes compose-go's types for
	//     the project it validates services against; when config is split
	//     into parts, deploy/compose should hand it what it needs instead;
	//   - deploy/internal/yamlconf: deploy.yml's $VAR syntax is Compose's,
	//     so it interpolates with compose-go's template package (and nothing
	//     else of compose-go) rather than a copy of it.
	composeGoAllowed = []string{"deploy/compose", "deploy", "deploy/internal/yamlconf"}
)

// layeringViolations returns one line per broken rule in pkgs, keyed by
// import path (packages outside the module are ignored), sorted.
func layeringViolations(pkgs map[string]pkgDeps) []string {
	var v []string
	for pkg, p := range pkgs {
		rel, ok := strings.CutPrefix(pkg, module)
		if !ok || (rel != "" && rel[0] != '/') {
			continue
		}
		rel = strings.TrimPrefix(rel, "/")
		for _, d := range p.Deps {
			switch {
			case strings.HasPrefix(d, "github.com/magefile/mage") && !under(rel, "magefiles"):
				v = append(v, rel+" depends on "+d+": only magefiles may import mage")
			case d == module+"/deploy" && slices.ContainsFunc(mustNotImportDeploy, func(top string) bool { return under(rel, top) }):
				v = append(v, rel+" depends on package deploy: reusable packages must not")
			case under(rel, appTargets) && (d == "testing" || strings.HasPrefix(d, module+"/examples/")):
				v = append(v, rel+" depends on "+d+": applications import "+appTargets+" and must not get this repository's examples or package testing (put the target in magefiles/devtargets)")
			}
		}
		for _, d := range p.Imports {
			switch {
			case strings.HasPrefix(d, "github.com/docker/docker/") && !slices.Contains(dockerSDKAllowed, rel):
				v = append(v, rel+" imports "+d+": only "+strings.Join(dockerSDKAllowed, ", ")+" may import the Docker SDK (use deploy/container or deploy/host)")
			case strings.HasPrefix(d, "github.com/compose-spec/compose-go") && !slices.Contains(composeGoAllowed, rel):
				v = append(v, rel+" imports "+d+": only "+strings.Join(composeGoAllowed, ", ")+" may import compose-go (use deploy/compose)")
			}
		}
	}
	sort.Strings(v)
	return v
}

// under reports whether rel is package top or inside it.
func under(rel, top string) bool { return rel == top || strings.HasPrefix(rel, top+"/") }

// listDeps runs `go list -deps -json` on the whole module.
func listDeps(t *testing.T) map[string]pkgDeps {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Imports,Deps", module+"/...")
	cmd.Dir = ".."
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pkgs := map[string]pkgDeps{}
	dec := json.NewDecoder(out)
	for {
		var p struct {
			ImportPath string
			pkgDeps
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs[p.ImportPath] = p.pkgDeps
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go list: %v", err)
	}
	return pkgs
}

// TestLayering keeps the arrows pointing one way (in the manner of
// go-containerregistry's depcheck): the reusable packages never import
// package deploy; only magefiles imports mage; magefiles/targets, which
// applications import, brings neither examples/... nor testing; the Docker
// SDK and compose-go are imported only by the packages named above.
func TestLayering(t *testing.T) {
	pkgs := listDeps(t)
	for _, rel := range append([]string{appTargets, "magefiles/devtargets"}, append(dockerSDKAllowed, composeGoAllowed...)...) {
		if _, ok := pkgs[module+"/"+rel]; !ok {
			t.Errorf("layering rules name %s, which go list does not list: update the rules", rel)
		}
	}
	for _, v := range layeringViolations(pkgs) {
		t.Error(v)
	}
}

// TestLayeringRulesFail shows that each rule fails when broken, on made-up
// dependency lists. On 8fa63d2 magefiles/targets depended on examples/demo,
// examples/bench and, through them, testing, and nothing checked it: every
// application importing it got blueshift's test, demo and bench targets.
func TestLayeringRulesFail(t *testing.T) {
	m := func(rel string) string { return module + "/" + rel }
	for _, c := range []struct {
		name string
		pkgs map[string]pkgDeps
		want string // a substring of the only violation; "" for none
	}{
		{"targets to examples", map[string]pkgDeps{m("magefiles/targets"): {Deps: []string{m("examples/demo")}}},
			"magefiles/targets depends on " + m("examples/demo")},
		{"targets to testing", map[string]pkgDeps{m("magefiles/targets"): {Deps: []string{"testing"}}},
			"magefiles/targets depends on testing"},
		{"devtargets may use examples and testing", map[string]pkgDeps{m("magefiles/devtargets"): {Deps: []string{m("examples/bench"), "testing", "github.com/magefile/mage/mg"}}},
			""},
		{"Docker SDK in traffic", map[string]pkgDeps{m("deploy/traffic"): {Imports: []string{"github.com/docker/docker/client"}}},
			"deploy/traffic imports github.com/docker/docker/client"},
		{"Docker SDK in deploy", map[string]pkgDeps{m("deploy"): {Imports: []string{"github.com/docker/docker/api/types/container"}}},
			"deploy imports github.com/docker/docker/api/types/container"},
		{"Docker SDK in the wrapper", map[string]pkgDeps{m("deploy/container"): {Imports: []string{"github.com/docker/docker/client"}}},
			""},
		{"Docker SDK only through the wrapper", map[string]pkgDeps{m("backup"): {Imports: []string{m("deploy/container")}, Deps: []string{"github.com/docker/docker/client"}}},
			""},
		// Before this commit health and examples/demo, examples/bench
		// were allowed too: health/container.go was a second exec/health
		// implementation beside deploy/container's.
		{"Docker SDK in health", map[string]pkgDeps{m("health"): {Imports: []string{"github.com/docker/docker/api/types/container"}}},
			"health imports github.com/docker/docker/api/types/container"},
		{"Docker SDK in an example", map[string]pkgDeps{m("examples/demo"): {Imports: []string{"github.com/docker/docker/client"}}},
			"examples/demo imports github.com/docker/docker/client"},
		{"Docker SDK in the host and its test helper", map[string]pkgDeps{m("deploy/host"): {Imports: []string{"github.com/docker/docker/client"}}, m("deploy/host/hosttest"): {Imports: []string{"github.com/docker/docker/client"}}},
			""},
		{"compose-go in backup", map[string]pkgDeps{m("backup"): {Imports: []string{"github.com/compose-spec/compose-go/v2/types"}}},
			"backup imports github.com/compose-spec/compose-go/v2/types"},
		{"compose-go in deploy/compose", map[string]pkgDeps{m("deploy/compose"): {Imports: []string{"github.com/compose-spec/compose-go/v2/loader"}}},
			""},
		{"mage outside magefiles", map[string]pkgDeps{m("notify"): {Deps: []string{"github.com/magefile/mage/mg"}}},
			"notify depends on github.com/magefile/mage/mg"},
		{"reusable package to deploy", map[string]pkgDeps{m("health"): {Deps: []string{m("deploy")}}},
			"health depends on package deploy"},
		{"a module whose name extends this one's", map[string]pkgDeps{module + "-fork/deploy/traffic": {Imports: []string{"github.com/docker/docker/client"}}},
			""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := layeringViolations(c.pkgs)
			switch {
			case c.want == "" && len(got) != 0:
				t.Errorf("violations %q, want none", got)
			case c.want != "" && (len(got) != 1 || !strings.Contains(got[0], c.want)):
				t.Errorf("violations %q, want one containing %q", got, c.want)
			}
		})
	}
}
