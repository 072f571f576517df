package deploy

import (
	"context"
	"fmt"
	"log/slog"
)

// redactingLogger returns a logger writing through l's handler with redact
// applied to every message and attribute (strings, errors and other values
// whose text holds something to mask). Open wraps the logger it is given in
// one built from Environment.Redactor, so a library's log line carrying a
// host name, a path or a token taken from an error cannot show it.
func redactingLogger(l *slog.Logger, redact func(string) string) *slog.Logger {
	if l == nil || redact == nil {
		return l
	}
	if h, ok := l.Handler().(*redactHandler); ok {
		l = slog.New(h.next) // wrap once, with the newest redactor
	}
	return slog.New(&redactHandler{next: l.Handler(), redact: redact})
}

// redactHandler is a slog.Handler masking what it passes on.
type redactHandler struct {
	next   slog.Handler
	redact func(string) string
}

func (h *redactHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *redactHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.redact(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	masked := make([]slog.Attr, len(as))
	for i, a := range as {
		masked[i] = h.attr(a)
	}
	return &redactHandler{next: h.next.WithAttrs(masked), redact: h.redact}
}

func (h *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{next: h.next.WithGroup(name), redact: h.redact}
}

func (h *redactHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.redact(v.String()))
	case slog.KindGroup:
		g := v.Group()
		masked := make([]slog.Attr, len(g))
		for i, x := range g {
			masked[i] = h.attr(x)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(masked...)}
	case slog.KindAny:
		// Errors and other values: keep the value unless its text holds
		// something to mask, then log the masked text instead.
		s := fmt.Sprint(v.Any())
		if m := h.redact(s); m != s {
			return slog.String(a.Key, m)
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// redactedError is an error whose text is masked; errors.Is and errors.As
// still see the error it wraps.
type redactedError struct {
	err    error
	redact func(string) string
}

func (e *redactedError) Error() string { return e.redact(e.err.Error()) }
func (e *redactedError) Unwrap() error { return e.err }

// RedactError returns err with its text masked by redact (an
// Environment.Redactor); errors.Is and errors.As see through it. nil stays
// nil.
func RedactError(err error, redact func(string) string) error {
	if err == nil || redact == nil {
		return err
	}
	return &redactedError{err: err, redact: redact}
}

// redact masks the environment's secrets and identifying values in s (see
// Environment.Redactor).
func (e *Engine) redact(s string) string {
	e.redactOnce.Do(func() {
		if e.Env != nil {
			e.redactor = e.Env.Redactor()
		} else {
			e.redactor = func(s string) string { return s }
		}
	})
	return e.redactor(s)
}
