package yamlconf

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

type inner struct {
	Name  string        `yaml:"name"`
	Every time.Duration `yaml:"every"`
	On    bool          `yaml:"on"`
	Args  []string      `yaml:"args"`
}

type doc struct {
	Count  int               `yaml:"count"`
	Inner  inner             `yaml:"inner"`
	List   []string          `yaml:"list"`
	Byname map[string]*inner `yaml:"byname"`
	Hidden string            `yaml:"-"`
}

// TestDecodeCollectsEveryProblem: decoding goes on after a problem, and
// each problem has its path, line and, for the kinds callers branch on,
// its sentinel.
func TestDecodeCollectsEveryProblem(t *testing.T) {
	data := `count: many
inner:
  nmae: x
  every: 10
  on: maybe
list: {a: b}
byname:
  one: {name: "${UNSET}"}
  one: {name: y}
hidden: z
`
	var d doc
	res, err := Decode([]byte(data), &d, Options{Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	want := []Problem{
		{Path: "count", Line: 1, Msg: `must be a whole number, not "many"`},
		{Path: "inner.nmae", Line: 3, Msg: `unknown field (did you mean "name"?)`, Err: ErrUnknownField},
		{Path: "inner.every", Line: 4, Msg: `invalid duration "10": want a number with a unit such as 10s, 5m or 1h30m (add a unit: "10s")`},
		{Path: "inner.on", Line: 5, Msg: `must be true or false, not "maybe"`},
		{Path: "list", Line: 6, Msg: "must be a list, not a mapping"},
		{Path: "byname.one.name", Line: 8, Msg: "environment variable UNSET is not set (referenced as ${UNSET}; set it, or write ${UNSET:-default} to allow a default)", Err: ErrUnsetVariable},
		{Path: "byname.one", Line: 9, Msg: "defined twice"},
		{Path: "hidden", Line: 10, Msg: "unknown field; known fields: count, inner, list, byname", Err: ErrUnknownField},
	}
	if !reflect.DeepEqual(res.Problems, want) {
		t.Errorf("problems:\n got %+v\nwant %+v", res.Problems, want)
	}
	if res.Lines["inner.every"] != 4 || res.Lines["byname.one"] != 8 {
		t.Errorf("lines = %v", res.Lines)
	}
}

// TestDecodeStartsMapValuesFromNewMapValue: a map element starts from the
// value NewMapValue gives (its defaults), and the document overrides it.
func TestDecodeStartsMapValuesFromNewMapValue(t *testing.T) {
	var d doc
	newValue := func(elem reflect.Type, key string) reflect.Value {
		if elem != reflect.TypeFor[*inner]() {
			return reflect.Value{}
		}
		return reflect.ValueOf(&inner{Name: "default-" + key, Every: time.Minute})
	}
	res, err := Decode([]byte("byname:\n  a: {on: true}\n  b: {name: set, every: 2s}\n  c:\n"), &d,
		Options{Getenv: func(string) string { return "" }, NewMapValue: newValue})
	if err != nil || len(res.Problems) > 0 {
		t.Fatal(err, res.Problems)
	}
	want := map[string]*inner{
		"a": {Name: "default-a", Every: time.Minute, On: true},
		"b": {Name: "set", Every: 2 * time.Second},
		"c": {Name: "default-c", Every: time.Minute},
	}
	if !reflect.DeepEqual(d.Byname, want) {
		t.Errorf("byname = %+v", d.Byname)
	}
}

// TestDecodeRefusesNestedAliases: a small document whose aliases expand
// past MaxValues gives one problem saying why, and no others.
func TestDecodeRefusesNestedAliases(t *testing.T) {
	var b strings.Builder
	b.WriteString("list: &a [" + strings.Repeat("x, ", 199) + "x]\nbyname:\n")
	for i := range 200 {
		b.WriteString("  k" + strings.Repeat("i", i) + ": {args: *a}\n")
	}
	var d doc
	res, err := Decode([]byte(b.String()), &d, Options{Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) != 1 || res.Problems[0].Path != "(document)" ||
		!strings.Contains(res.Problems[0].Msg, "expands to more than 20000 values") {
		t.Errorf("%d problems, the first %+v", len(res.Problems), res.Problems[0])
	}
}

func TestDecodeSyntaxError(t *testing.T) {
	var d doc
	_, err := Decode([]byte("count: 1\ninner:\n\tname: x\n"), &d, Options{Getenv: func(string) string { return "" }})
	if err == nil || !strings.HasPrefix(err.Error(), "parse YAML: ") || !strings.Contains(err.Error(), "line 3 is indented with a tab") {
		t.Errorf("err = %v", err)
	}
}

func TestUnsetVariableMatchesSentinel(t *testing.T) {
	_, err := Expand("${NOPE}", func(string) string { return "" })
	if !errors.Is(err, ErrUnsetVariable) {
		t.Errorf("Expand error %v does not match ErrUnsetVariable", err)
	}
	_, err = Expand("${1X}", func(string) string { return "" })
	if err == nil || errors.Is(err, ErrUnsetVariable) {
		t.Errorf("a bad name is not an unset variable: %v", err)
	}
}

// TestDecodeMergeKeysAndExtensions: merge keys (<<) bring an anchor's keys,
// the mapping's own keys and earlier merged mappings win, and x- keys are
// ignored in every section.
func TestDecodeMergeKeysAndExtensions(t *testing.T) {
	data := `x-base: &base {name: base, every: 1s, args: [a]}
x-more: &more {name: more, on: true}
inner:
  <<: [*base, *more]
  every: 2s
  x-note: ignored
byname:
  one: {<<: *base}
  two:
    <<: {<<: *more, args: [b]}
`
	var d doc
	res, err := Decode([]byte(data), &d, Options{Getenv: func(string) string { return "" }})
	if err != nil || len(res.Problems) > 0 {
		t.Fatal(err, res.Problems)
	}
	want := doc{
		Inner: inner{Name: "base", Every: 2 * time.Second, On: true, Args: []string{"a"}},
		Byname: map[string]*inner{
			"one": {Name: "base", Every: time.Second, Args: []string{"a"}},
			"two": {Name: "more", On: true, Args: []string{"b"}},
		},
	}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("decoded\n %+v\nwant\n %+v", d, want)
	}
}

// TestDecodeMergeProblems: a merge of something that is not a mapping is a
// problem at its path, an unknown merged key is named at the key's own
// line, and a key given twice beside a merge is still "defined twice".
func TestDecodeMergeProblems(t *testing.T) {
	data := `x-bad: &bad {nmae: x}
inner:
  <<: [*bad, [1]]
  on: true
  on: false
`
	var d doc
	res, err := Decode([]byte(data), &d, Options{Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	want := []Problem{
		{Path: "inner.on", Line: 5, Msg: "defined twice"},
		{Path: "inner.nmae", Line: 1, Msg: `unknown field (did you mean "name"?)`, Err: ErrUnknownField},
	}
	got := res.Problems
	if len(got) != 3 || got[0].Path != "inner.<<" || got[0].Line != 3 || !strings.HasPrefix(got[0].Msg, "must be a mapping, an alias (*name) of one or a list of them, not a list") ||
		!reflect.DeepEqual(got[1:], want) {
		t.Errorf("problems:\n%+v", got)
	}
}

// TestDecodeRefusesNestedMerges: merge keys nesting aliases of merges
// (each level merging the previous one twice) stop at MaxValues like
// plain aliases do, instead of doubling the work per level.
func TestDecodeRefusesNestedMerges(t *testing.T) {
	var b strings.Builder
	b.WriteString("x-l0: &l0 {name: x}\n")
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, "x-l%d: &l%d {<<: [*l%d, *l%d]}\n", i, i, i-1, i-1)
	}
	b.WriteString("inner: {<<: *l40}\n")
	var d doc
	res, err := Decode([]byte(b.String()), &d, Options{Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) != 1 || !strings.Contains(res.Problems[0].Msg, "expands to more than 20000 values") {
		t.Errorf("problems: %+v", res.Problems)
	}
}

// TestInlineStructFields: the fields of a struct field tagged
// `yaml:",inline"` are decoded as the outer struct's own, and unknown keys
// are still errors naming them.
func TestInlineStructFields(t *testing.T) {
	type inner struct {
		Headers map[string]string `yaml:"headers"`
		Body    string            `yaml:"body"`
	}
	type exported struct {
		Path  string `yaml:"path"`
		Inner inner  `yaml:",inline"`
	}
	var got exported
	if _, err := Decode([]byte("path: /\nheaders: {X-A: b}\nbody: ok\n"), &got, Options{}); err != nil {
		t.Fatal(err)
	}
	if got.Path != "/" || got.Inner.Headers["X-A"] != "b" || got.Inner.Body != "ok" {
		t.Errorf("decoded %+v", got)
	}
	res, err := Decode([]byte("path: /\nbodyy: ok\n"), &got, Options{})
	if err != nil || len(res.Problems) != 1 || !strings.Contains(fmt.Sprint(res.Problems[0]), `unknown field (did you mean "body"?)`) {
		t.Errorf("unknown inline key: %v %+v", err, res.Problems)
	}
}
