package devtargets

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/magefile/mage/mg"

	"github.com/blueshift-deploy/blueshift/examples/thebot"
)

// Thebot brings up the seed's own application (Django, Celery, nginx frontend, PostgreSQL 15, Redis) on the local engine.
//
// It builds the base image from Debian packages with mmdebstrap (once,
// cached by a hash of its package list), the application images v1.0.0 and
// v1.0.1, pushes them to a local registry (Debian's docker-registry on
// 127.0.0.1:15000, htpasswd), writes the seed's compose file, env file and a
// host nginx into $BLUESHIFT_THEBOT_DIR (default ~/.cache/blueshift-thebot),
// starts v1.0.0 with `docker compose` and the host nginx on
// http://127.0.0.1:18180. Needs mmdebstrap and docker-registry:
// `bash examples/thebot/setup.sh`. `go tool mage thebot:down` removes it.
func Thebot(ctx context.Context) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	w, err := thebot.Up(ctx, thebotOptions())
	if err != nil {
		return fail(err)
	}
	im := w.Images
	fmt.Fprintf(stdout, "thebot %s is up at %s\n", thebot.FirstVersion, w.PublicURL())
	fmt.Fprintf(stdout, "  base image %s (built now: %v, %s); images built in %s, pushed in %s\n",
		im.Base, im.BaseBuilt, im.BaseTime.Round(1e8), im.BuildTime.Round(1e8), im.PushTime.Round(1e8))
	fmt.Fprintf(stdout, "  registry %s (user %s, password in %s/password)\n", im.Registry.Addr, im.Registry.Username, im.Registry.Dir)
	fmt.Fprintf(stdout, "  workspace %s: docker compose -p %s ps\n", w.Dir, w.App)
	return nil
}

// THEBOT holds `thebot:down` (mage lowercases the name; Thebot is the target above).
type THEBOT mg.Namespace

// Down stops the thebot stack: its containers and volumes, the host nginx and the registry (images kept; idempotent).
func (THEBOT) Down(ctx context.Context) error {
	rep, err := thebot.Down(ctx, thebotOptions())
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "thebot removed: nginx stopped %v, registry stopped %v; images kept\n", rep.NginxStopped, rep.RegistryStopped)
	return nil
}

// thebotOptions are the stack's defaults, progress on stderr.
func thebotOptions() thebot.Options {
	return thebot.Options{
		Getenv:   getenv,
		Logger:   newLogger(),
		Progress: func(s string) { fmt.Fprintln(stderr, "thebot:", s) },
	}
}
