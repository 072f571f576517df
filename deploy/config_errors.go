package deploy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/blueshift-deploy/blueshift/deploy/internal/yamlconf"
)

// Errors of the configuration, for errors.Is. Every problem Load or
// Validate reports is an ErrInvalidConfig; ErrMissingField, ErrUnknownField
// and ErrUnsetVariable tell the kinds of problem a caller may branch on
// apart, on a *FieldError or on the *ValidationError (or Load error)
// holding it.
var (
	// ErrInvalidConfig is matched by *ValidationError and every *FieldError.
	ErrInvalidConfig = errors.New("invalid configuration")
	// ErrMissingField is a required field that is not set, or set empty.
	ErrMissingField = errors.New("required field missing")
	// ErrUnknownField is a key deploy.yml has that the schema does not
	// (often a misspelling: the message suggests the field meant).
	ErrUnknownField = yamlconf.ErrUnknownField
	// ErrUnsetVariable is a ${VAR} reference without a default whose
	// variable is empty or not set.
	ErrUnsetVariable = yamlconf.ErrUnsetVariable
	// ErrUnknownEnvironment is wrapped by Config.Env's error for a name the
	// configuration does not define.
	ErrUnknownEnvironment = errors.New("unknown environment")
)

// ValidationError lists every problem found in a configuration.
type ValidationError struct {
	Problems []*FieldError
}

// Error prints one problem per line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns ErrInvalidConfig and every problem, so errors.Is finds
// ErrInvalidConfig and the kind of any problem (ErrMissingField, …), and
// errors.As finds the first *FieldError.
func (e *ValidationError) Unwrap() []error {
	errs := make([]error, 0, 1+len(e.Problems))
	errs = append(errs, ErrInvalidConfig)
	for _, p := range e.Problems {
		errs = append(errs, p)
	}
	return errs
}

// FieldError is one problem with one field.
type FieldError struct {
	// Path is the field's path ("environments.production.health.backend.interval").
	Path string
	// Msg says what is wrong and what to do.
	Msg string
	// Line is the field's line in the file, 0 when unknown.
	Line int
	// Kind is ErrMissingField, ErrUnknownField or ErrUnsetVariable when the
	// problem is one of those, nil for any other invalid value.
	Kind error
}

func (e *FieldError) Error() string {
	s := e.Path + ": " + e.Msg
	if e.Line > 0 {
		s += fmt.Sprintf(" (line %d)", e.Line)
	}
	return s
}

// Unwrap returns ErrInvalidConfig and the problem's Kind, if any.
func (e *FieldError) Unwrap() []error {
	if e.Kind == nil {
		return []error{ErrInvalidConfig}
	}
	return []error{ErrInvalidConfig, e.Kind}
}

// fieldErrors converts the decoder's problems.
func fieldErrors(ps []yamlconf.Problem) []*FieldError {
	out := make([]*FieldError, len(ps))
	for i, p := range ps {
		out[i] = &FieldError{Path: p.Path, Msg: p.Msg, Line: p.Line, Kind: p.Err}
	}
	return out
}

// problems collects validation problems in a fixed order.
type problems struct {
	c    *Config
	list []*FieldError
}

// add records an invalid value at path.
func (p *problems) add(path, format string, args ...any) {
	p.addKind(path, nil, format, args...)
}

// missing records a required field at path that is not set.
func (p *problems) missing(path, format string, args ...any) {
	p.addKind(path, ErrMissingField, format, args...)
}

func (p *problems) addKind(path string, kind error, format string, args ...any) {
	p.list = append(p.list, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...), Line: p.line(path), Kind: kind})
}

// line is the line of path in the file, or of the nearest enclosing field
// that has one; 0 when none does.
func (p *problems) line(path string) int {
	if p.c == nil || p.c.lines == nil {
		return 0
	}
	for q := path; q != ""; {
		if l, ok := p.c.lines[q]; ok {
			return l
		}
		i := strings.LastIndexAny(q, ".[")
		if i < 0 {
			break
		}
		q = q[:i]
	}
	return 0
}
