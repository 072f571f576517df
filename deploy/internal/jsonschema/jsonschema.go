// Package jsonschema writes a JSON Schema (draft 2020-12) for a YAML
// configuration from the Go types it decodes onto, as package yamlconf
// decodes it: the keys are the fields' yaml tags, the descriptions their
// doc comments, unknown keys are refused and x- keys allowed, and every
// scalar may instead be a string holding a $VAR reference, since
// interpolation happens before conversion.
//
// It exists so that editors can complete and check deploy.yml
// (examples/deploy.schema.json, written by deploy/internal/schemagen).
package jsonschema

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"
)

// Options describe the schema Generate writes.
type Options struct {
	// ID is the schema's $id (where it is published); optional.
	ID string
	// Title is the schema's title.
	Title string
	// SourceDir holds the Go files declaring the types, read for their
	// doc comments; types declared elsewhere get no description.
	SourceDir string
}

// variable is the $defs entry for a scalar written as a $VAR reference.
const variable = "variable"

// Generate returns the schema of root, a struct type, as indented JSON
// ending in a newline. The output depends only on the types and their
// comments, so a checked-in copy can be compared with a fresh one.
func Generate(root reflect.Type, opts Options) ([]byte, error) {
	docs, err := Docs(opts.SourceDir)
	if err != nil {
		return nil, err
	}
	g := &generator{docs: docs, defs: map[string]any{
		variable: map[string]any{
			"type":        "string",
			"pattern":     `\$`,
			"description": "A value given as $VAR, ${VAR}, ${VAR:-default} or ${VAR:?message}, interpolated as in a Compose file.",
		},
	}}
	top := g.object(root)
	top["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	if opts.ID != "" {
		top["$id"] = opts.ID
	}
	top["title"] = opts.Title
	top["$defs"] = g.defs
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(top); err != nil {
		return nil, fmt.Errorf("jsonschema: %w", err)
	}
	return buf.Bytes(), nil
}

type generator struct {
	docs map[string]string
	defs map[string]any
}

var (
	durationType        = reflect.TypeFor[time.Duration]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// durationPattern matches what time.ParseDuration accepts.
const durationPattern = `^[-+]?(0|([0-9]*(\.[0-9]*)?(ns|us|µs|μs|ms|s|m|h))+)$`

// schema is the schema of a value of type t.
func (g *generator) schema(t reflect.Type) map[string]any {
	switch {
	case t == durationType:
		return orVariable(map[string]any{"type": "string", "pattern": durationPattern})
	case reflect.PointerTo(t).Implements(textUnmarshalerType):
		return map[string]any{"type": "string"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.schema(t.Elem())
	case reflect.Struct:
		name := t.Name()
		if _, ok := g.defs[name]; !ok {
			g.defs[name] = nil // recursion guard
			g.defs[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/$defs/" + name}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return orVariable(map[string]any{"type": "boolean"})
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return orVariable(map[string]any{"type": "integer"})
	case reflect.Float32, reflect.Float64:
		return orVariable(map[string]any{"type": "number"})
	}
	return map[string]any{}
}

// orVariable allows s or a $VAR reference.
func orVariable(s map[string]any) map[string]any {
	return map[string]any{"anyOf": []any{s, map[string]any{"$ref": "#/$defs/" + variable}}}
}

// object is the schema of struct type t: its yaml-tagged fields, x- keys,
// nothing else.
func (g *generator) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		p := g.schema(f.Type)
		if doc := g.docs[t.Name()+"."+f.Name]; doc != "" {
			if _, ref := p["$ref"]; ref {
				p = map[string]any{"allOf": []any{p}} // a $ref's siblings are ignored by older editors
			}
			if rest, ok := strings.CutPrefix(doc, f.Name+" "); ok {
				doc = name + " " + rest // the key the user writes, not the Go name
			}
			p["description"] = doc
		}
		props[name] = p
	}
	out := map[string]any{
		"type":                 "object",
		"properties":           props,
		"patternProperties":    map[string]any{"^x-": map[string]any{}},
		"additionalProperties": false,
	}
	if doc := g.docs[t.Name()]; doc != "" {
		out["description"] = doc
	}
	return out
}

// Docs reads the doc comments of the struct types declared in the Go files
// of dir (tests excepted): "Type" maps to the type's, "Type.Field" to each
// field's, as one line per paragraph.
func Docs(dir string) (map[string]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	docs := map[string]string{}
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("jsonschema: %w", err)
		}
		f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("jsonschema: %w", err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					continue
				}
				doc := ts.Doc
				if doc == nil && len(gd.Specs) == 1 {
					doc = gd.Doc
				}
				docs[ts.Name.Name] = text(doc)
				for _, field := range st.Fields.List {
					for _, n := range field.Names {
						docs[ts.Name.Name+"."+n.Name] = text(field.Doc)
					}
				}
			}
		}
	}
	return docs, nil
}

// text is a comment's text with each paragraph on one line.
func text(c *ast.CommentGroup) string {
	if c == nil {
		return ""
	}
	var paras []string
	for _, p := range strings.Split(strings.TrimSpace(c.Text()), "\n\n") {
		paras = append(paras, strings.Join(strings.Fields(p), " "))
	}
	return strings.Join(paras, "\n\n")
}
