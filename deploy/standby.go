package deploy

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/container"
	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/state"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// Warm standby (environment standby): after a deployment the old colour's
// proxied services keep running, unrouted, until a deadline, so that a
// rollback before it is a proxy switch. Its other services stop at once.
// At the deadline a job left on the host stops the rest, whether or not
// the machine that deployed is still up; any later run past the deadline
// does too (expireStandby). Neither ever stops the colour the proxy serves.

// servesChecker is a Switcher that can give the command telling whether
// the proxy serves a colour (traffic.Nginx), for the host's job.
type servesChecker interface {
	ServesArgv(colour string) []string
}

// standbySplit returns the colour's services that the proxy routes to
// (those with ports), which a standby keeps running, and the others.
func (e *Engine) standbySplit() (proxied, others []string) {
	for _, s := range e.Env.Services.Stateless {
		if _, ok := e.Env.Ports[s]; ok {
			proxied = append(proxied, s)
		} else {
			others = append(others, s)
		}
	}
	return proxied, others
}

// standbyScript is keepStandby's one command. Its arguments: the state
// directory, the colour, the deadline (Unix seconds), the command stopping
// the colour's other services now ("" for none), the command exiting 0
// when the proxy serves the colour ("" when the proxy has none), the
// command stopping the colour, and standbyJobScript. It runs the first
// stop, then leaves the job running detached (its own session when setsid
// exists, stdio closed, so neither the SSH session's end nor this
// command's return stops it). Commands are shell-quoted argv (host.ShellQuote).
// The first line marks it for fake hosts in tests.
const standbyScript = `# blueshift:standby
set -u
if [ -n "$4" ]; then eval "$4" || exit 75; fi
if command -v setsid >/dev/null 2>&1; then s=setsid; else s=; fi
$s sh -c "$7" blueshift-standby "$1" "$2" "$3" "$5" "$6" </dev/null >/dev/null 2>&1 &
exit 0`

// standbyJobScript is the job left on the host: it sleeps until the
// deadline, takes the deploy lock's flock (waiting for a run that holds
// it), and stops the colour only if state.json still names it as the
// standby with that deadline passed, state's live colour is another one,
// and the proxy does not serve it. It reads state.json's keys with the
// shell (see state.Standby).
const standbyJobScript = `set -u
d=$1 colour=$2 until=$3 serves=$4 stop=$5
t=$(date +%s)
[ "$until" -le "$t" ] || sleep $((until - t))
cd -- "$d" || exit 0
exec 9>>lock.flock || exit 0
flock 9 || exit 0
st=$(cat state.json 2>/dev/null) || exit 0
case $st in *"\"` + state.StandbyColourKey + `\": \"$colour\""*) ;; *) exit 0 ;; esac
case $st in *"\"live\": \"$colour\""*) exit 0 ;; esac
u=$(printf '%s\n' "$st" | sed -n 's/^ *"` + state.StandbyUntilKey + `": *\([0-9][0-9]*\).*/\1/p')
[ -n "$u" ] && [ "$u" -le "$(date +%s)" ] || exit 0
if [ -n "$serves" ] && eval "$serves"; then exit 0; fi
eval "$stop"`

// standbyArgv is keepStandby's command, run in stop's directory; now and
// serves may be nil.
func standbyArgv(stateDir string, c version.Colour, until time.Time, now, serves []string, stop host.Cmd) []string {
	quote := func(argv []string) string {
		if len(argv) == 0 {
			return ""
		}
		return host.ShellQuote(argv)
	}
	stopLine := quote(stop.Argv)
	if stop.Dir != "" {
		stopLine = quote([]string{"cd", "--", stop.Dir}) + " && " + stopLine
	}
	return []string{"sh", "-c", standbyScript, "sh", stateDir, string(c), strconv.FormatInt(until.Unix(), 10),
		quote(now), quote(serves), stopLine, standbyJobScript}
}

// keepStandby retires colour c, which runs release, as a warm standby
// until e.Env.Standby from now: its services without ports stop now, and
// a job on the host stops the rest at the deadline, in one command. It
// returns what state must record (the job acts only while state names it),
// nil when the colour has nothing to keep.
func (e *Engine) keepStandby(ctx context.Context, c version.Colour, release string) (*state.Standby, error) {
	cli, ok, err := e.existingColourCLI(ctx, c)
	if err != nil || !ok {
		return nil, err
	}
	_, others := e.standbySplit()
	var now, serves []string
	if len(others) > 0 {
		now = cli.Stop(e.Env.Timeouts.Drain, others...).Argv
	}
	if sc, ok := e.Switcher.(servesChecker); ok {
		serves = sc.ServesArgv(string(c))
	}
	until := time.Now().Add(e.Env.Standby).Truncate(time.Second)
	stop := cli.Stop(e.Env.Timeouts.Drain)
	if err := e.Host.Run(ctx, host.Cmd{Argv: standbyArgv(e.Store.Path(), c, until, now, serves, stop), Dir: stop.Dir}); err != nil {
		return nil, fmt.Errorf("keep %s as standby: %w", c, err)
	}
	return &state.Standby{Colour: string(c), Release: release, Until: until.UTC(), UntilUnix: until.Unix()}, nil
}

// warmStandby starts looking at the standby that st names, when its
// window is open, and returns the answer to whether colour c runs release
// warm: state names it as the standby of release and its proxied services
// run that release. The look (a Docker API call, no remote command, but a
// round trip over SSH) runs in the background, beside rollback-prepare's
// read of the proxy; the answer waits for it.
func (e *Engine) warmStandby(ctx context.Context, st state.State) func(c version.Colour, release string) bool {
	sb := st.Standby
	if !sb.Active(time.Now()) {
		return func(version.Colour, string) bool { return false }
	}
	type listing struct {
		cs  []container.Container
		err error
	}
	ch := make(chan listing, 1)
	go func() {
		cs, err := container.Containers(ctx, e.docker, e.App, sb.Colour)
		ch <- listing{cs, err}
	}()
	return func(c version.Colour, release string) bool {
		l := <-ch
		if l.err != nil || sb.Colour != string(c) || sb.Release != release {
			return false
		}
		running := map[string]bool{}
		for _, ct := range l.cs {
			if ct.State == "running" && ct.Labels["blueshift.version"] == release {
				running[ct.Service] = true
			}
		}
		proxied, _ := e.standbySplit()
		for _, s := range proxied {
			if !running[s] {
				return false
			}
		}
		return len(proxied) > 0
	}
}

// expireStandby stops the standby colour once its window has passed (the
// host's job normally did already: stopping is idempotent) and forgets it
// in state; never the colour the proxy serves (live). It runs under the
// lock, at the start of every run, and costs nothing while there is no
// standby or its window is open.
func (e *Engine) expireStandby(ctx context.Context, d *Deployment) error {
	st, err := e.Store.Known(ctx)
	if err != nil || st.Standby == nil || st.Standby.Active(time.Now()) {
		return err
	}
	live, err := e.proxyLive(ctx, st)
	if err != nil {
		return fmt.Errorf("standby %s: %w", st.Standby.Colour, err)
	}
	c, err := version.ParseColour(st.Standby.Colour)
	if err == nil && c != live && live.Valid() {
		running, err := e.colourRunning(ctx, c)
		if err != nil {
			return err
		}
		if running {
			if err := e.stopColour(ctx, c); err != nil {
				return fmt.Errorf("stop the standby %s (its window ended %s): %w", c, st.Standby.Until.Format(time.RFC3339), err)
			}
			d.Progress(fmt.Sprintf("stopped the standby %s: its window ended %s", c, st.Standby.Until.Format(time.RFC3339)))
		}
	}
	_, err = e.Store.Update(ctx, func(s *state.State) {
		if s.Standby != nil && !s.Standby.Active(time.Now()) {
			s.Standby = nil
		}
	})
	return err
}
