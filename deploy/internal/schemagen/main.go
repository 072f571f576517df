// Command schemagen writes the JSON Schema of deploy.yml, generated from
// deploy.Config and its doc comments, for editors:
//
//	schemagen DEPLOY_SOURCE_DIR OUTPUT.json
//
// `go generate ./deploy/` runs it to rewrite examples/deploy.schema.json;
// its TestSchemaIsCurrent fails when the checked-in copy is stale.
package main

import (
	"fmt"
	"os"
	"reflect"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/internal/jsonschema"
)

// schemaURL is where the checked-in schema is published.
const schemaURL = "https://raw.githubusercontent.com/blueshift-deploy/blueshift/main/examples/deploy.schema.json"

// generate returns deploy.yml's schema, reading doc comments from srcDir
// (package deploy's directory).
func generate(srcDir string) ([]byte, error) {
	return jsonschema.Generate(reflect.TypeFor[deploy.Config](), jsonschema.Options{
		ID:        schemaURL,
		Title:     "blueshift deploy.yml",
		SourceDir: srcDir,
	})
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: schemagen DEPLOY_SOURCE_DIR OUTPUT.json")
		os.Exit(2)
	}
	out, err := generate(os.Args[1])
	if err == nil {
		err = os.WriteFile(os.Args[2], out, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
}
