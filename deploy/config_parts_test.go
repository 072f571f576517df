package deploy

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/blueshift-deploy/blueshift/health"
)

// TestHealthDefaultsAreTheSeedPolicies: on 8fa63d2 the seed's health check
// was stated twice and the statements disagreed: health.BackendPolicy
// bounded an attempt by 10s, deploy.yml's default
// health.backend.attempt_timeout was 5s (and health.FrontendPolicy had no
// overall timeout where the configuration had 5m). The configuration's
// defaults are now taken from the policies, and the policies are the seed's.
func TestHealthDefaultsAreTheSeedPolicies(t *testing.T) {
	e := DefaultEnvironment("production")
	for name, tc := range map[string]struct {
		check  HTTPCheck
		policy health.Policy
	}{
		"backend":  {e.Health.Backend, health.BackendPolicy()},
		"frontend": {e.Health.Frontend, health.FrontendPolicy()},
	} {
		c, p := tc.check, tc.policy
		got := health.Policy{Attempts: c.Attempts, Interval: c.Interval, AttemptTimeout: c.AttemptTimeout, Timeout: c.Timeout, SuccessesInRow: 1}
		if !reflect.DeepEqual(got, p) {
			t.Errorf("health.%s defaults %+v, health's policy %+v", name, got, p)
		}
	}
	// The seed: backend 30 attempts 10s apart within 5 minutes, frontend 10
	// attempts 5s apart; no attempt outlasts its interval.
	b, f := e.Health.Backend, e.Health.Frontend
	if b.Attempts != 30 || b.Interval != 10e9 || b.Timeout != 300e9 || b.AttemptTimeout != 10e9 {
		t.Errorf("backend = %+v", b)
	}
	if f.Attempts != 10 || f.Interval != 5e9 || f.AttemptTimeout != 5e9 {
		t.Errorf("frontend = %+v", f)
	}
}

// TestFieldErrorSentinels: a caller can tell a missing field, an unknown
// key and an unset variable apart with errors.Is, on the Load error and on
// each *FieldError, without reading messages; every problem is an
// ErrInvalidConfig.
func TestFieldErrorSentinels(t *testing.T) {
	load := func(t *testing.T, yml string, getenv func(string) string) error {
		t.Helper()
		path := filepath.Join(t.TempDir(), "deploy.yml")
		if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path, getenv)
		if !errors.Is(err, ErrInvalidConfig) {
			t.Fatalf("Load = %v, want an ErrInvalidConfig", err)
		}
		return err
	}
	kinds := []error{ErrMissingField, ErrUnknownField, ErrUnsetVariable}
	for _, tc := range []struct {
		name, yml, path string
		kind            error // nil: none of kinds
	}{
		{"missing path", strings.Replace(base, "    path: /opt/demo\n", "", 1), "environments.production.path", ErrMissingField},
		{"missing app", strings.Replace(base, "app: demo\n", "", 1), "app", ErrMissingField},
		{"empty registry user", base + "    registry: {password: x}\n", "environments.production.registry.username", ErrMissingField},
		{"unknown key", base + "    helth: {}\n", "environments.production.helth", ErrUnknownField},
		{"unset variable", base + "    public_url: ${NOT_SET}\n", "environments.production.public_url", ErrUnsetVariable},
		{"invalid value", strings.Replace(base, "path: /opt/demo", "path: opt/demo", 1), "environments.production.path", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := load(t, tc.yml, env{}.get)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("no *FieldError in %v", err)
			}
			if fe.Path != tc.path || !errors.Is(fe, ErrInvalidConfig) {
				t.Errorf("first problem %+v, want path %s", fe, tc.path)
			}
			for _, k := range kinds {
				if want := k == tc.kind; errors.Is(fe, k) != want || errors.Is(err, k) != want {
					t.Errorf("errors.Is(%v, %v) = %v, want %v", err, k, !want, want)
				}
			}
		})
	}
}

// TestConfigFunctionsStaySmall: on 8fa63d2 (*Environment).validate was one
// 253-line function of cyclomatic complexity 94 (gocyclo), the defaults
// another of 25. The configuration's code is now split by section; this
// keeps every function in config*.go and internal/yamlconf within 40 lines
// and a complexity of 15 (counted as gocyclo counts).
func TestConfigFunctionsStaySmall(t *testing.T) {
	files, _ := filepath.Glob("config*.go")
	more, _ := filepath.Glob("internal/yamlconf/*.go")
	checked := 0
	fset := token.NewFileSet()
	for _, name := range append(files, more...) {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			checked++
			lines := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1
			if c := complexity(fn); lines > 40 || c > 15 {
				t.Errorf("%s: %s has %d lines and complexity %d: split it (at most 40 and 15)", fset.Position(fn.Pos()), fn.Name.Name, lines, c)
			}
		}
	}
	if checked < 50 {
		t.Fatalf("checked only %d functions: are the files where this test expects them?", checked)
	}
}

// complexity is gocyclo's cyclomatic complexity: 1, plus one per if, for,
// range, non-default case and && or ||.
func complexity(fn *ast.FuncDecl) int {
	c := 1
	ast.Inspect(fn, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.IfStmt, *ast.ForStmt, *ast.RangeStmt:
			c++
		case *ast.CaseClause:
			if n.List != nil {
				c++
			}
		case *ast.CommClause:
			if n.Comm != nil {
				c++
			}
		case *ast.BinaryExpr:
			if n.Op == token.LAND || n.Op == token.LOR {
				c++
			}
		}
		return true
	})
	return c
}
