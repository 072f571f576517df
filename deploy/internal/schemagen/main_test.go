package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

const (
	checkedIn = "../../../examples/deploy.schema.json"
	example   = "../../../examples/deploy.yml"
)

// TestSchemaIsCurrent fails when a field of deploy.Config (or its doc
// comment) changed without `go generate ./deploy/`.
func TestSchemaIsCurrent(t *testing.T) {
	want, err := generate("../..")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(checkedIn)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: run `go generate ./deploy/` and commit it", checkedIn)
	}
}

// TestExampleReferencesSchema: editors find the schema from the example's
// first line, and its header gives the published URL for copies.
func TestExampleReferencesSchema(t *testing.T) {
	data, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(data), "\n")
	if first != "# yaml-language-server: $schema=deploy.schema.json" {
		t.Errorf("examples/deploy.yml starts with %q", first)
	}
	if !strings.Contains(string(data), schemaURL) {
		t.Errorf("examples/deploy.yml does not tell users copying it where the schema is published (%s)", schemaURL)
	}
}

// compile compiles the checked-in schema.
func compile(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(checkedIn)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(schemaURL, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(schemaURL)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// instance is a YAML document as the JSON value a validator (or an
// editor) checks: merge keys resolved, variables not interpolated.
func instance(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// TestExampleMatchesSchema validates examples/deploy.yml, which uses every
// field, against the schema.
func TestExampleMatchesSchema(t *testing.T) {
	data, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	if err := compile(t).Validate(instance(t, data)); err != nil {
		t.Errorf("examples/deploy.yml does not match the schema: %v", err)
	}
}

// TestSchemaRefusesWhatLoadRefuses: the schema is as strict as the
// decoder about keys and kinds, and allows what it allows (x- keys,
// merge keys, $VAR for any scalar).
func TestSchemaRefusesWhatLoadRefuses(t *testing.T) {
	sch := compile(t)
	const env = "app: demo\nenvironments:\n  production:\n    path: /opt/demo\n"
	for _, doc := range []string{
		env,
		"x-common: &c {path: /opt/demo}\napp: demo\nenvironments:\n  production:\n    <<: *c\n    x-note: ok\n",
		env + "    ports: {web: {container: \"${PORT}\", blue: 8001, green: 8002}}\n    backup: {enabled: $BACKUP}\n    monitor: {window: 5m}\n",
	} {
		if err := sch.Validate(instance(t, []byte(doc))); err != nil {
			t.Errorf("valid document refused: %v\n%s", err, doc)
		}
	}
	for _, doc := range []string{
		env + "    helth: {}\n",
		"appp: demo\n",
		env + "    ports: {web: {container: high}}\n",
		env + "    backup: {enabled: yes please}\n",
		env + "    monitor: {window: 5 minutes}\n",
		env + "    health: {backend: {expect: 200}}\n",
	} {
		if err := sch.Validate(instance(t, []byte(doc))); err == nil {
			t.Errorf("invalid document accepted:\n%s", doc)
		}
	}
}
