package deploy_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/blueshift-deploy/blueshift"

// TestLayering keeps the arrows pointing one way: the reusable packages never
// import package deploy, and only magefiles imports mage.
func TestLayering(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Deps", module+"/...")
	cmd.Dir = ".."
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deps := map[string][]string{}
	dec := json.NewDecoder(out)
	for {
		var p struct {
			ImportPath string
			Deps       []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		deps[p.ImportPath] = p.Deps
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go list: %v", err)
	}
	mustNotImportDeploy := []string{"health", "backup", "notify", "deploy/compose", "deploy/traffic", "deploy/releasenotes", "deploy/host", "deploy/version", "deploy/state", "deploy/container"}
	checked := 0
	for pkg, ds := range deps {
		if !strings.HasPrefix(pkg, module) {
			continue
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
		for _, d := range ds {
			if strings.HasPrefix(d, "github.com/magefile/mage") && !strings.HasPrefix(rel, "magefiles") {
				t.Errorf("%s imports %s: only magefiles may import mage", rel, d)
			}
		}
		for _, top := range mustNotImportDeploy {
			if rel != top && !strings.HasPrefix(rel, top+"/") {
				continue
			}
			checked++
			for _, d := range ds {
				if d == module+"/deploy" {
					t.Errorf("%s imports package deploy: reusable packages must not", rel)
				}
			}
		}
	}
	if checked < 5 {
		t.Fatalf("layering test checked only %d packages: is the module layout as expected?", checked)
	}
}
