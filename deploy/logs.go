package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/blueshift-deploy/blueshift/deploy/compose"
	"github.com/blueshift-deploy/blueshift/deploy/container"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// ErrNoContainer is returned by Logs and Exec when the service has no
// container (of the colour asked for) on the host.
var ErrNoContainer = errors.New("no container")

// Output is where Logs and Exec write a container's streams.
type Output struct {
	Stdout, Stderr io.Writer
}

// serviceContainers returns the containers of service (every service of
// the colour and the shared ones when service is "") that colour runs:
// "" is the live colour. Shared services are found whatever the colour. It
// returns the colour used.
func (e *Engine) serviceContainers(ctx context.Context, colour version.Colour, service string) (version.Colour, []container.Container, error) {
	if colour == "" {
		live, err := e.LiveColour(ctx)
		if err != nil {
			return "", nil, err
		}
		if !live.Valid() {
			return "", nil, ErrNothingLive
		}
		colour = live
	}
	shared := slices.Contains(e.Env.Services.Shared, service)
	if service != "" && !shared && !slices.Contains(e.Env.Services.Stateless, service) {
		known := append(slices.Clone(e.Env.Services.Stateless), e.Env.Services.Shared...)
		return colour, nil, fmt.Errorf("service %q: not in environments.%s.services; known services are %s", service, e.Env.Name, strings.Join(known, ", "))
	}
	var all []container.Container
	for _, c := range []string{string(colour), compose.SharedColour} {
		if service != "" && (c == compose.SharedColour) != shared {
			continue
		}
		list, err := container.Containers(ctx, e.docker, e.App, c)
		if err != nil {
			return colour, nil, err
		}
		for _, ct := range list {
			if service == "" || ct.Service == service {
				all = append(all, ct)
			}
		}
	}
	if len(all) == 0 {
		what := "the services"
		if service != "" {
			what = service
		}
		return colour, nil, fmt.Errorf("%w of %s in %s on %s", ErrNoContainer, what, colour, e.Host.Name())
	}
	return colour, all, nil
}

// Logs writes the logs of service's containers ("" is every service) of
// colour ("" is the live one) to out; with several containers each line
// starts with the container's name. With o.Follow it returns when ctx ends.
func (e *Engine) Logs(ctx context.Context, colour version.Colour, service string, o container.LogOptions, out Output) error {
	_, cts, err := e.serviceContainers(ctx, colour, service)
	if err != nil {
		return err
	}
	if len(cts) == 1 {
		return container.StreamLogs(ctx, e.docker, cts[0].ID, o, out.Stdout, out.Stderr)
	}
	var mu sync.Mutex
	errs := make([]error, len(cts))
	var wg sync.WaitGroup
	for i, ct := range cts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			prefix := prefixLines(ct.Name + " | ")
			stdout := RedactingWriter(lockedWriter{&mu, out.Stdout}, prefix)
			stderr := RedactingWriter(lockedWriter{&mu, out.Stderr}, prefix)
			errs[i] = container.StreamLogs(ctx, e.docker, ct.ID, o, stdout, stderr)
			stdout.Close()
			stderr.Close()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Exec runs argv in the first running container of service of colour (""
// is the live one), writing its output to out as it comes, and returns its
// exit code; a command that ran and failed is not an error.
func (e *Engine) Exec(ctx context.Context, colour version.Colour, service string, argv []string, out Output) (int, error) {
	if service == "" {
		return 0, errors.New("exec: name the service to run the command in")
	}
	c, cts, err := e.serviceContainers(ctx, colour, service)
	if err != nil {
		return 0, err
	}
	for _, ct := range cts {
		if ct.State == "running" {
			return container.ExecStream(ctx, e.docker, ct.ID, argv, nil, out.Stdout, out.Stderr)
		}
	}
	return 0, fmt.Errorf("%w of %s running in %s on %s (%s)", ErrNoContainer, service, c, e.Host.Name(), cts[0].Status)
}

// prefixLines returns a function starting each line of a text (whole
// lines) with prefix.
func prefixLines(prefix string) func(string) string {
	return func(s string) string {
		lines := strings.SplitAfter(s, "\n")
		if lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		return prefix + strings.Join(lines, prefix)
	}
}

// lockedWriter serialises the writes of several writers sharing w.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// RedactingWriter returns a writer passing whole lines through redact
// (an Environment's Redactor) to w, so a secret is never split across two
// writes unmasked; Close writes what is left of a last line (through
// redact too).
func RedactingWriter(w io.Writer, redact func(string) string) io.WriteCloser {
	return &redactingWriter{w: w, redact: redact}
}

type redactingWriter struct {
	w       io.Writer
	redact  func(string) string
	partial []byte
}

func (r *redactingWriter) Write(b []byte) (int, error) {
	r.partial = append(r.partial, b...)
	i := bytes.LastIndexByte(r.partial, '\n')
	if i < 0 {
		return len(b), nil
	}
	if _, err := io.WriteString(r.w, r.redact(string(r.partial[:i+1]))); err != nil {
		return 0, err
	}
	r.partial = append(r.partial[:0], r.partial[i+1:]...)
	return len(b), nil
}

func (r *redactingWriter) Close() error {
	if len(r.partial) == 0 {
		return nil
	}
	_, err := io.WriteString(r.w, r.redact(string(r.partial)))
	r.partial = nil
	return err
}
