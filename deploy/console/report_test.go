package console_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/console"
)

func TestReportGolden(t *testing.T) {
	for name, sc := range map[string]scenario{"succeeded": succeeds, "rollback-failed": undoFails} {
		t.Run(name, func(t *testing.T) {
			d := runScenario(t, newClock(), sc, nil, 0)
			var out bytes.Buffer
			if err := console.WriteJSON(&out, d); err != nil {
				t.Fatal(err)
			}
			golden(t, "report-"+name+".golden.json", out.String())
		})
	}
}

// TestReportRoundTrip decodes the JSON strictly into Report: every field
// written is a documented field, and nothing is lost.
func TestReportRoundTrip(t *testing.T) {
	d := runScenario(t, newClock(), undoFails, nil, 0)
	var out bytes.Buffer
	if err := console.WriteJSON(&out, d); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&out)
	dec.DisallowUnknownFields()
	var got console.Report
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("decode report strictly: %v", err)
	}
	if want := console.NewReport(d); !reflect.DeepEqual(&got, want) {
		t.Errorf("round trip lost data:\n got %+v\nwant %+v", got, *want)
	}
	if got.Outcome != string(deploy.OutcomeRollbackFailed) || got.Failure == nil || got.Failure.Phase != "smoke" ||
		len(got.UndoErrors) != 1 || got.UndoErrors[0].Phase != "start" || got.DurationSeconds != 14.92 {
		t.Errorf("unexpected report: %+v", got)
	}
}

// TestReportStableFields pins the field names CI scripts depend on, and that
// every one is present even for an empty deployment.
func TestReportStableFields(t *testing.T) {
	var out bytes.Buffer
	if err := console.WriteJSON(&out, &deploy.Deployment{}); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema", "version", "id", "environment", "outcome", "live", "next", "switched", "failure", "undo_errors", "attention",
		"started", "finished", "duration_seconds", "remote_commands", "remote_seconds", "phases", "facts", "warnings", "tests_skipped", "actor", "reason", "commit", "backup_id"} {
		if _, ok := m[k]; !ok {
			t.Errorf("field %q missing", k)
		}
		delete(m, k)
	}
	if len(m) != 0 {
		t.Errorf("undocumented fields: %v", m)
	}
	for _, k := range []string{`"phases": []`, `"facts": []`, `"warnings": []`, `"undo_errors": []`, `"failure": null`, `"started": null`} {
		if !strings.Contains(out.String(), k) {
			t.Errorf("empty report lacks %s:\n%s", k, out.String())
		}
	}
}

func TestWriteReportFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "deploy-report.json")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := runScenario(t, newClock(), succeeds, nil, 0)
	if err := console.WriteReportFile(path, d); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r console.Report
	if err := json.Unmarshal(data, &r); err != nil || r.Outcome != "succeeded" || r.Schema != console.ReportSchema {
		t.Fatalf("report file: %v %+v", err, r)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v; want 0644", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	err = console.WriteReportFile(filepath.Join(dir, "missing", "r.json"), d)
	if err == nil || !strings.Contains(err.Error(), "missing/r.json") || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing directory: %v", err)
	}
}

func TestReportRedact(t *testing.T) {
	d := runScenario(t, newClock(), undoFails, nil, 0)
	r := console.NewReport(d)
	r.Redact(strings.NewReplacer("Docker daemon", "***").Replace)
	var out bytes.Buffer
	if err := r.Write(&out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "Docker daemon") {
		t.Error("Redact missed a field")
	}
}
