package yamlconf

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Kinds of problem callers can tell apart with errors.Is on Problem.Err.
var (
	// ErrUnknownField is a key the struct does not declare.
	ErrUnknownField = errors.New("unknown field")
	// ErrUnsetVariable is a ${VAR} without a default whose variable is
	// empty or not set.
	ErrUnsetVariable = errors.New("environment variable not set")
)

// Problem is one thing wrong with one field of the document.
type Problem struct {
	// Path is the field's path ("environments.production.host"), or
	// "(document)" for the document as a whole.
	Path string
	// Msg says what is wrong and what to do.
	Msg string
	// Line is the line in the document, 0 when unknown.
	Line int
	// Err is ErrUnknownField, ErrUnsetVariable or nil for other problems.
	Err error
}

// MaxValues bounds the values a document may decode to. YAML aliases
// (*name) repeat what an anchor (&name) holds, so a few kilobytes of nested
// aliases ("billion laughs") expand to billions of values; Decode stops at
// this bound instead of spending minutes and gigabytes. The example
// deploy.yml decodes to about 200 values; a file with twenty environments
// stays far below the bound.
const MaxValues = 20000

// Options adjust Decode.
type Options struct {
	// Getenv looks up the variables of ${VAR} references. Required.
	Getenv func(string) string
	// NewMapValue, when non-nil, gives the value a new map element of
	// type elem decodes onto (for defaults), or the zero Value to start
	// from elem's zero value.
	NewMapValue func(elem reflect.Type, key string) reflect.Value
}

// Result is what Decode found besides the decoded values.
type Result struct {
	// Lines maps each field path seen to its line in the document.
	Lines map[string]int
	// Problems lists every problem in document order; out is incomplete
	// when there is any.
	Problems []Problem
	// Values counts the nodes decoded, an alias's target once per use.
	Values int
}

// Decode parses data and decodes its document onto out, a non-nil pointer.
// It returns an error only for YAML that does not parse; problems with
// fields (unknown keys, keys given twice, values of the wrong kind, unset
// variables, too many values) are all collected in Result.Problems.
func Decode(data []byte, out any, opts Options) (Result, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		if n := tabIndentedLine(data); n > 0 {
			return Result{}, fmt.Errorf("parse YAML: %w (line %d is indented with a tab: YAML indents with spaces only)", err, n)
		}
		return Result{}, fmt.Errorf("parse YAML: %w", err)
	}
	d := &decoder{opts: opts, lines: map[string]int{}}
	if len(root.Content) > 0 {
		d.decode(root.Content[0], reflect.ValueOf(out).Elem(), "")
	}
	return Result{Lines: d.lines, Problems: d.problems, Values: d.values}, nil
}

// Marshal renders v as YAML indented by two spaces.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// tabIndentedLine is the number of the first line of data whose
// indentation holds a tab, 0 when none does.
func tabIndentedLine(data []byte) int {
	for i, line := range bytes.Split(data, []byte("\n")) {
		indent := line[:len(line)-len(bytes.TrimLeft(line, " \t"))]
		if bytes.IndexByte(indent, '\t') >= 0 && len(bytes.TrimSpace(line)) > 0 {
			return i + 1
		}
	}
	return 0
}

// decoder decodes a YAML node tree onto Go values, expanding variables and
// collecting problems with their field paths.
type decoder struct {
	opts     Options
	lines    map[string]int
	problems []Problem
	// values counts the nodes decoded, each alias's target once per use;
	// aliases counts the uses. See MaxValues.
	values, aliases int
	tooBig          bool
}

// kindError is an error whose message is its own and that matches kind.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	d.failKind(n, path, nil, format, args...)
}

func (d *decoder) failKind(n *yaml.Node, path string, kind error, format string, args ...any) {
	if path == "" {
		path = "(document)"
	}
	d.problems = append(d.problems, Problem{Path: path, Msg: fmt.Sprintf(format, args...), Line: n.Line, Err: kind})
}

var (
	durationType        = reflect.TypeOf(time.Duration(0))
	textUnmarshalerType = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
)

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if d.tooBig {
		return
	}
	if n.Kind == yaml.AliasNode {
		d.aliases++
		n = n.Alias
	}
	if !d.count(n) {
		return
	}
	if _, ok := d.lines[path]; !ok && path != "" {
		d.lines[path] = n.Line
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // "key:" with no value keeps the default
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path)
	default:
		d.decodeScalar(n, v, path)
	}
}

// count counts n against MaxValues and reports whether decoding goes on;
// past the bound it replaces every problem with one saying why.
func (d *decoder) count(n *yaml.Node) bool {
	if d.values++; d.values <= MaxValues {
		return true
	}
	d.tooBig = true
	how := fmt.Sprintf("expands to more than %d values through %d uses of YAML aliases (*name): refusing it, as a \"billion laughs\" document would take minutes and gigabytes to decode; write the values out instead of nesting aliases", MaxValues, d.aliases)
	if d.aliases == 0 {
		how = fmt.Sprintf("has more than %d values; a deploy.yml is far smaller: is this the right file?", MaxValues)
	}
	d.problems = nil // the problems so far repeat themselves through the aliases
	d.fail(n, "(document)", "%s", how)
	return false
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.fail(n, path, "must be a list, not %s", describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
	}
	v.Set(s)
}

// fieldsOf maps the yaml names of v's exported fields to their index
// paths, and lists the names in declaration order. The fields of a struct
// field tagged `yaml:",inline"` are the outer struct's own.
func fieldsOf(t reflect.Type) (map[string][]int, []string) {
	fields := map[string][]int{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")
		if f.IsExported() && f.Type.Kind() == reflect.Struct && slices.Contains(tag[1:], "inline") {
			inner, innerNames := fieldsOf(f.Type)
			for _, n := range innerNames {
				fields[n] = append([]int{i}, inner[n]...)
				names = append(names, n)
			}
			continue
		}
		name := tag[0]
		if !f.IsExported() || name == "-" || name == "" {
			continue
		}
		fields[name] = []int{i}
		names = append(names, name)
	}
	return fields, names
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "must be a mapping of keys to values, not %s", describe(n))
		return
	}
	fields, names := fieldsOf(v.Type())
	seen := map[string]bool{}
	for _, e := range d.entries(n, path) {
		k, val := e.key, e.value
		if strings.HasPrefix(k.Value, extensionPrefix) {
			continue
		}
		p := join(path, k.Value)
		if !d.first(seen, e, p) {
			continue
		}
		idx, ok := fields[k.Value]
		if !ok {
			d.failKind(k, p, ErrUnknownField, "unknown field%s", suggest(k.Value, names))
			continue
		}
		d.lines[p] = k.Line
		d.decode(val, v.FieldByIndex(idx), p)
	}
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "must be a mapping of names to values, not %s", describe(n))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	seen := map[string]bool{}
	for _, e := range d.entries(n, path) {
		k, val := e.key, e.value
		p := join(path, k.Value)
		if !d.first(seen, e, p) {
			continue
		}
		key := reflect.ValueOf(k.Value).Convert(v.Type().Key())
		elem := d.newMapValue(v.Type().Elem(), k.Value)
		d.lines[p] = k.Line
		d.decode(val, elem, p)
		v.SetMapIndex(key, elem)
	}
}

// extensionPrefix starts the keys a section ignores, as Compose ignores its
// x- extension fields: a place for anchors (x-common: &common {...}) that
// merge keys and aliases then use.
const extensionPrefix = "x-"

// entry is one key and value of a mapping; merged when a merge key (<<)
// brought it.
type entry struct {
	key, value *yaml.Node
	merged     bool
}

// first records e's key in seen and reports whether it is the first: a
// key the mapping gives twice is a problem, a merged key that the mapping
// (or an earlier merged mapping) already gives is overridden silently, as
// YAML's merge keys say.
func (d *decoder) first(seen map[string]bool, e entry, path string) bool {
	if !seen[e.key.Value] {
		seen[e.key.Value] = true
		return true
	}
	if !e.merged {
		d.fail(e.key, path, "defined twice")
	}
	return false
}

// entries lists mapping n's own keys and values, then those its merge keys
// (<<: *base, <<: [*a, *b]) bring, earlier mappings first. Each merged
// mapping counts against MaxValues, so merges of merges stay bounded.
func (d *decoder) entries(n *yaml.Node, path string) []entry {
	var own, merged []entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Tag != "!!merge" {
			own = append(own, entry{key: k, value: v})
			continue
		}
		sources := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			sources = v.Content
		}
		for _, src := range sources {
			if src.Kind == yaml.AliasNode {
				d.aliases++
				src = src.Alias
			}
			if d.tooBig || !d.count(src) {
				return nil
			}
			if src.Kind != yaml.MappingNode {
				d.fail(src, join(path, k.Value), "must be a mapping, an alias (*name) of one or a list of them, not %s", describe(src))
				continue
			}
			for _, e := range d.entries(src, path) {
				e.merged = true
				merged = append(merged, e)
			}
		}
	}
	return append(own, merged...)
}

// newMapValue is the settable value a map element under key decodes onto.
func (d *decoder) newMapValue(t reflect.Type, key string) reflect.Value {
	elem := reflect.New(t).Elem()
	if d.opts.NewMapValue == nil {
		return elem
	}
	if start := d.opts.NewMapValue(t, key); start.IsValid() {
		elem.Set(start)
	}
	return elem
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "must be a single value, not %s", describe(n))
		return
	}
	s, err := Expand(n.Value, d.opts.Getenv)
	if err != nil {
		var kind error
		if errors.Is(err, ErrUnsetVariable) {
			kind = ErrUnsetVariable
		}
		d.failKind(n, path, kind, "%v", err)
		return
	}
	switch {
	case v.Type() == durationType:
		d.setDuration(n, v, path, s)
	case v.CanAddr() && v.Addr().Type().Implements(textUnmarshalerType):
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			d.fail(n, path, "%v", err)
		}
	default:
		d.setBasic(n, v, path, s)
	}
}

func (d *decoder) setDuration(n *yaml.Node, v reflect.Value, path, s string) {
	dur, err := time.ParseDuration(s)
	if err != nil {
		hint := ""
		if _, aerr := strconv.Atoi(s); aerr == nil {
			hint = ` (add a unit: "` + s + `s")`
		}
		d.fail(n, path, "invalid duration %q: want a number with a unit such as 10s, 5m or 1h30m%s", s, hint)
		return
	}
	v.SetInt(int64(dur))
}

// setBasic sets a string, whole number or boolean from its expanded text.
func (d *decoder) setBasic(n *yaml.Node, v reflect.Value, path, s string) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Int, reflect.Int64, reflect.Int32:
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			d.fail(n, path, "must be a whole number, not %q", s)
			return
		}
		v.SetInt(i)
	case reflect.Bool:
		switch strings.ToLower(s) {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			d.fail(n, path, "must be true or false, not %q", s)
		}
	default:
		d.fail(n, path, "cannot hold a value of type %s", v.Type())
	}
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("the value %q", n.Value)
}

// suggest names the known field closest to an unknown one, or lists them.
func suggest(key string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if d := editDistance(key, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return "; known fields: " + strings.Join(known, ", ")
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
