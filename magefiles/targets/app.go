package targets

import (
	"context"
	"fmt"
	"strings"

	"github.com/magefile/mage/mg"
	"github.com/mattn/go-shellwords"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/container"
	bsversion "github.com/blueshift-deploy/blueshift/deploy/version"
)

// Logs prints the logs of SERVICE ("all": every service) in ENV's live colour (or -colour=); -f follows until Ctrl-C, -n=N the last N lines, -since=10m.
//
// The logs come over the host's transport (the SSH-forwarded Docker
// socket), stdout to stdout and stderr to stderr, with the environment's
// secrets masked. With several containers each line starts with the
// container's name. Shared services (databases, caches) are found
// whatever the colour.
func Logs(ctx context.Context, service string, f *bool, n *int, since, colour, env *string) error {
	c, err := optionalColour(colour)
	if err != nil {
		return fail(err)
	}
	if service == "all" {
		service = ""
	}
	o := container.LogOptions{Follow: f != nil && *f, Since: deref(since)}
	if n != nil {
		o.Tail = *n
	}
	return withEngine(ctx, envName(env), func(ctx context.Context, eng *deploy.Engine) error {
		return withMaskedOutput(eng, func(out deploy.Output) error {
			return eng.Logs(ctx, c, service, o, out)
		})
	})
}

// Exec runs COMMAND (split like a shell's words, no shell involved) in SERVICE's container of ENV's live colour (or -colour=); its exit code is the target's.
//
// Output is streamed as it comes, secrets masked. Quote COMMAND as one
// argument: `go tool mage exec web "python manage.py migrate --plan"`.
func Exec(ctx context.Context, service, command string, colour, env *string) error {
	c, err := optionalColour(colour)
	if err != nil {
		return fail(err)
	}
	argv, err := shellwords.Parse(command)
	if err != nil || len(argv) == 0 {
		return fail(fmt.Errorf("exec: COMMAND %q: want a command and its arguments, quoted as one argument", command))
	}
	return withEngine(ctx, envName(env), func(ctx context.Context, eng *deploy.Engine) error {
		var code int
		err := withMaskedOutput(eng, func(out deploy.Output) error {
			var err error
			code, err = eng.Exec(ctx, c, service, argv, out)
			return err
		})
		if err == nil && code != 0 {
			return mg.Fatalf(code, "exec: %s exited %d in %s", strings.Join(argv, " "), code, service)
		}
		return err
	})
}

// optionalColour parses -colour= ("" when not given: the live colour).
func optionalColour(colour *string) (bsversion.Colour, error) {
	if colour == nil || *colour == "" {
		return "", nil
	}
	return bsversion.ParseColour(*colour)
}

// deref is *s, or "" for nil.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// withMaskedOutput runs fn with stdout and stderr masked line by line by
// the environment's Redactor.
func withMaskedOutput(eng *deploy.Engine, fn func(deploy.Output) error) error {
	redact := eng.Env.Redactor()
	o, e := deploy.RedactingWriter(stdout, redact), deploy.RedactingWriter(stderr, redact)
	defer o.Close()
	defer e.Close()
	return fn(deploy.Output{Stdout: o, Stderr: e})
}
