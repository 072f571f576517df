//go:build ignore
// +build ignore

package main

import (
	_context "context"
	_flag "flag"
	_fmt "fmt"
	_io "io"
	_log "log"
	_os "os"
	_signal "os/signal"
	_filepath "path/filepath"
	_sort "sort"
	_strconv "strconv"
	_strings "strings"
	_syscall "syscall"
	_tabwriter "text/tabwriter"
	_time "time"
	devtargets_mageimport "github.com/blueshift-deploy/blueshift/magefiles/devtargets"
	targets_mageimport "github.com/blueshift-deploy/blueshift/magefiles/targets"
	
)

func main() {
	// Use local types and functions in order to avoid name conflicts with additional magefiles.
	type arguments struct {
		Verbose       bool          // print out log statements
		List          bool          // print out a list of targets
		Help          bool          // print out help for a specific target
		Timeout       _time.Duration // set a timeout to running the targets
		Args          []string      // args contain the non-flag command-line arguments
	}

	parseBool := func(env string) bool {
		val := _os.Getenv(env)
		if val == "" {
			return false
		}		
		b, err := _strconv.ParseBool(val)
		if err != nil {
			_log.Printf("warning: environment variable %s is not a valid bool value: %v", env, val)
			return false
		}
		return b
	}

	parseDuration := func(env string) _time.Duration {
		val := _os.Getenv(env)
		if val == "" {
			return 0
		}		
		d, err := _time.ParseDuration(val)
		if err != nil {
			_log.Printf("warning: environment variable %s is not a valid duration value: %v", env, val)
			return 0
		}
		return d
	}
	args := arguments{}
	fs := _flag.FlagSet{}
	fs.SetOutput(_os.Stdout)

	// default flag set with ExitOnError and auto generated PrintDefaults should be sufficient
	fs.BoolVar(&args.Verbose, "v", parseBool("MAGEFILE_VERBOSE"), "show verbose output when running targets")
	fs.BoolVar(&args.List, "l", parseBool("MAGEFILE_LIST"), "list targets for this binary")
	fs.BoolVar(&args.Help, "h", parseBool("MAGEFILE_HELP"), "print out help for a specific target")
	fs.DurationVar(&args.Timeout, "t", parseDuration("MAGEFILE_TIMEOUT"), "timeout in duration parsable format (e.g. 5m30s)")
	fs.Usage = func() {
		_fmt.Fprintf(_os.Stdout, `
%s [options] [target]

Commands:
  -l    list targets in this binary
  -h    show this help

Options:
  -h    show description of a target
  -t <string>
        timeout in duration parsable format (e.g. 5m30s)
  -v    show verbose output when running targets
 `[1:], _filepath.Base(_os.Args[0]))
	}
	if err := fs.Parse(_os.Args[1:]); err != nil {
		// flag will have printed out an error already.
		return
	}
	args.Args = fs.Args()
	if args.Help && len(args.Args) == 0 {
		fs.Usage()
		return
	}
		
	var printName = func(str string) string {
	// color is ANSI color type
	type color int

	// If you add/change/remove any items in this constant,
	// you will need to run "stringer -type=color" in this directory again.
	// NOTE: Please keep the list in an alphabetical order.
	const (
		black color = iota
		red
		green
		yellow
		blue
		magenta
		cyan
		white
		brightblack
		brightred
		brightgreen
		brightyellow
		brightblue
		brightmagenta
		brightcyan
		brightwhite
	)

	// AnsiColor are ANSI color codes for supported terminal colors.
	var ansiColor = map[color]string{
		black:         "\u001b[30m",
		red:           "\u001b[31m",
		green:         "\u001b[32m",
		yellow:        "\u001b[33m",
		blue:          "\u001b[34m",
		magenta:       "\u001b[35m",
		cyan:          "\u001b[36m",
		white:         "\u001b[37m",
		brightblack:   "\u001b[30;1m",
		brightred:     "\u001b[31;1m",
		brightgreen:   "\u001b[32;1m",
		brightyellow:  "\u001b[33;1m",
		brightblue:    "\u001b[34;1m",
		brightmagenta: "\u001b[35;1m",
		brightcyan:    "\u001b[36;1m",
		brightwhite:   "\u001b[37;1m",
	}

	const colorName = "blackredgreenyellowbluemagentacyanwhitebrightblackbrightredbrightgreenbrightyellowbrightbluebrightmagentabrightcyanbrightwhite"

	var colorIndex = [...]uint8{0, 5, 8, 13, 19, 23, 30, 34, 39, 50, 59, 70, 82, 92, 105, 115, 126}

	colorToLowerString := func(i color) string {
		if i < 0 || i >= color(len(colorIndex)-1) {
			return "color(" + _strconv.FormatInt(int64(i), 10) + ")"
		}
		return colorName[colorIndex[i]:colorIndex[i+1]]
	}

	// ansiColorReset is an ANSI color code to reset the terminal color.
	const ansiColorReset = "\033[0m"

	// defaultTargetAnsiColor is a default ANSI color for colorizing targets.
	// It is set to Cyan as an arbitrary color, because it has a neutral meaning
	var defaultTargetAnsiColor = ansiColor[cyan]

	getAnsiColor := func(color string) (string, bool) {
		colorLower := _strings.ToLower(color)
		for k, v := range ansiColor {
			colorConstLower := colorToLowerString(k)
			if colorConstLower == colorLower {
				return v, true
			}
		}
		return "", false
	}

	// Terminals which  don't support color:
	//
	//	TERM=vt100
	//	TERM=cygwin
	//	TERM=xterm-mono
	var noColorTerms = map[string]bool{
		"vt100":      false,
		"cygwin":     false,
		"xterm-mono": false,
	}

	// terminalSupportsColor checks if the current console supports color output
	//
	// Supported:
	//
	//	linux, mac, or windows's ConEmu, Cmder, putty, git-bash.exe, pwsh.exe
	//
	// Not supported:
	//
	//	windows cmd.exe, powerShell.exe
	terminalSupportsColor := func() bool {
		envTerm := _os.Getenv("TERM")
		if _, ok := noColorTerms[envTerm]; ok {
			return false
		}
		return true
	}

	// enableColor reports whether the user has requested to enable a color output.
	enableColor := func() bool {
		b, _ := _strconv.ParseBool(_os.Getenv("MAGEFILE_ENABLE_COLOR"))
		return b
	}

	// targetColor returns the ANSI color which should be used to colorize targets.
	targetColor := func() string {
		s, exists := _os.LookupEnv("MAGEFILE_TARGET_COLOR")
		if exists {
			if c, ok := getAnsiColor(s); ok {
				return c
			}
		}
		return defaultTargetAnsiColor
	}

	// store the color terminal variables, so that the detection isn't repeated for each target
	var enableColorValue = enableColor() && terminalSupportsColor()
	var targetColorValue = targetColor()

	if enableColorValue {
		return _fmt.Sprintf("%s%s%s", targetColorValue, str, ansiColorReset)
	}

	return str
}


	list := func() error {
		_fmt.Println(`Blueshift's Mage frontend: magefiles/targets (what an application gets) and magefiles/devtargets (this repository's test, demo, bench).  Both are ordinary packages (importable, testable, compiled by 'go build ./...'); only this file imports devtargets.
`)
		targets := map[string]string{
			"demo:down": "stops the demo: Caddy, both colours and their volumes, and the workspace's files (idempotent).",
			"thebot:down": "stops the thebot stack: its containers and volumes, the host nginx and the registry (images kept; idempotent).",
			"bench": "measures zero downtime, speed, rollback and backup on this machine and prints one table.",
			"demo": "runs a zero-downtime blue-green deployment on this machine (needs only Go and Docker).",
			"test": "runs every test of the repository with the race detector, the two modules in parallel; the real components must be running (sudo bash .ci/setup).",
			"thebot": "brings up the seed's own application (Django, Celery, nginx frontend, PostgreSQL 15, Redis) on the local engine.",
			"backup:create": "backs up $BLUESHIFT_ENV now (database, media, Docker state, release) and prunes beyond backup.keep.",
			"backup:list": "lists $BLUESHIFT_ENV's backups, newest last: ID, size, age and whether verified.",
			"backup:restore": "puts backup ID of $BLUESHIFT_ENV back, replacing live data; needs -confirm or BLUESHIFT_CONFIRM_RESTORE=ID.",
			"backup:verify": "checks backup ID of $BLUESHIFT_ENV: manifest, sizes, SHA-256 sums, and that dumps and archives read.",
			"compose:render": "prints the compose file of COLOUR (blue or green) for VERSION in $BLUESHIFT_ENV, as a deployment would write it.",
			"config:check": "validates deploy.yml ($DEPLOY_CONFIG) and prints it resolved, secrets masked.",
			"deploy:plan": "prints what deploying VERSION to $BLUESHIFT_ENV would do, changing nothing; exits 1 if preflight fails.",
			"deploy:production": "deploys VERSION (or \"auto\") to production with a blue-green switch, rolling back on failure.",
			"deploy:staging": "deploys VERSION (or \"auto\") to staging, exactly like deploy:production.",
			"lock:release": "releases $BLUESHIFT_ENV's deploy lock when its holder is gone, recording the former holder in history.",
			"notify:test": "sends a test event to every notifier configured for $BLUESHIFT_ENV and prints how each fared.",
			"version:check": "validates VERSION as a release version (semver with a v prefix, like v1.0.1).",
			"version:next": "prints the version a deployment given none would get now (vYYYY.MMDD.HHMMSS, UTC).",
			"health": "checks the live colour of $BLUESHIFT_ENV once: its ports, PostgreSQL, Redis and the public URL.",
			"reconcile": "takes $BLUESHIFT_ENV's deploy lock and repairs a run that died part-way.",
			"releasenotes": "prints the release notes (Markdown) of the commits after FROM up to TO in this repository.",
			"rollback": "returns $BLUESHIFT_ENV to the previous release, or to -to=VERSION.",
			"smoke": "runs the smoke endpoints against $BLUESHIFT_ENV's public URL (or the live colour's port).",
			"status": "shows $BLUESHIFT_ENV's live colour, releases, containers, lock and recent history.",
			"versions": "lists the last 20 deployments, rollbacks and lock releases of $BLUESHIFT_ENV.",
		}

		keys := make([]string, 0, len(targets))
		for name := range targets {
			keys = append(keys, name)
		}
		_sort.Strings(keys)

		_fmt.Println("Targets:")
		w := _tabwriter.NewWriter(_os.Stdout, 0, 4, 4, ' ', 0)
		for _, name := range keys {
			_fmt.Fprintf(w, "  %v\t%v\n", printName(name), targets[name])
		}
		err := w.Flush()
		return err
	}

	var ctx _context.Context
	ctxCancel := func(){}

	// by deferring in a closure, we let the cancel function get replaced
	// by the getContext function.
	defer func() {
		ctxCancel()
	}()

	getContext := func() (_context.Context, func()) {
		if ctx == nil {
			if args.Timeout != 0 {
				ctx, ctxCancel = _context.WithTimeout(_context.Background(), args.Timeout)
			} else {
				ctx, ctxCancel = _context.WithCancel(_context.Background())
			}
		}

		return ctx, ctxCancel
	}

	runTarget := func(logger *_log.Logger, fn func(_context.Context) error) interface{} {
		var err interface{}
		ctx, cancel := getContext()
		d := make(chan interface{})
		go func() {
			defer func() {
				err := recover()
				d <- err
			}()
			err := fn(ctx)
			d <- err
		}()
		sigCh := make(chan _os.Signal, 1)
		_signal.Notify(sigCh, _syscall.SIGINT)
		select {
		case <-sigCh:
			logger.Println("cancelling mage targets, waiting up to 5 seconds for cleanup...")
			cancel()
			cleanupCh := _time.After(5 * _time.Second)

			select {
			// target exited by itself
			case err = <-d:
				return err
			// cleanup timeout exceeded
			case <-cleanupCh:
				return _fmt.Errorf("cleanup timeout exceeded")
			// second SIGINT received
			case <-sigCh:
				logger.Println("exiting mage")
				return _fmt.Errorf("exit forced")
			}
		case <-ctx.Done():
			cancel()
			e := ctx.Err()
			_fmt.Printf("ctx err: %v\n", e)
			return e
		case err = <-d:
			// we intentionally don't cancel the context here, because
			// the next target will need to run with the same _context.
			return err
		}
	}
	// This is necessary in case there aren't any targets, to avoid an unused
	// variable error.
	_ = runTarget

	handleError := func(logger *_log.Logger, err interface{}) {
		if err != nil {
			logger.Printf("Error: %+v\n", err)
			type code interface {
				ExitStatus() int
			}
			if c, ok := err.(code); ok {
				_os.Exit(c.ExitStatus())
			}
			_os.Exit(1)
		}
	}
	_ = handleError

	// Set MAGEFILE_VERBOSE so mg.Verbose() reflects the flag value.
	if args.Verbose {
		_os.Setenv("MAGEFILE_VERBOSE", "1")
	} else {
		_os.Setenv("MAGEFILE_VERBOSE", "0")
	}

	_log.SetFlags(0)
	if !args.Verbose {
		_log.SetOutput(_io.Discard)
	}
	logger := _log.New(_os.Stderr, "", 0)
	if args.List {
		if err := list(); err != nil {
			_log.Println(err)
			_os.Exit(1)
		}
		return
	}

	if args.Help {
		if len(args.Args) < 1 {
			logger.Println("no target specified")
			_os.Exit(2)
		}
		switch _strings.ToLower(args.Args[0]) {
			case "demo:down":
				_fmt.Println("Down stops the demo: Caddy, both colours and their volumes, and the workspace's files (idempotent).")
				_fmt.Println()
				
				_fmt.Print("Usage:\n\n\tmage demo:down\n\n")
				var aliases []string
				if len(aliases) > 0 {
					_sort.Strings(aliases)
					_fmt.Printf("Aliases: %s\n\n", _strings.Join(aliases, ", "))
				}
				return
				case "thebot:down":
				_fmt.Println("Down stops the thebot stack: its containers and volumes, the host nginx and the registry (images kept; idempotent).")
				_fmt.Println()
				
				_fmt.Print("Usage:\n\n\tmage thebot:down\n\n")
				var aliases []string
				if len(aliases) > 0 {
					_sort.Strings(aliases)
					_fmt.Printf("Aliases: %s\n\n", _strings.Join(aliases, ", "))
				}
				return
				case "bench":
				_fmt.Println("Bench measures zero downtime, speed, rollback and backup on this machine and prints one table.  It needs the Docker Engine, docker compose, Debian's nginx and PostgreSQL (bash .ci/run sets them up). Knobs: BLUESHIFT_BENCH_RUNS (runs per scenario, default 5), BLUESHIFT_BENCH_RATE (requests/s, default 300), BLUESHIFT_BENCH_DB_MB (backup database size, default 256; 0 skips it), BLUESHIFT_BENCH_BACKUP_RUNS (default 1), BLUESHIFT_BENCH_ONLY (deploy or backup), BLUESHIFT_BENCH_SCENARIOS (comma-separated local, ssh, backup, thebot; default local,backup: ssh deploys and rolls back through a real sshd with a slow login over a slow link, thebot builds the seed's own application (examples/thebot) and deploys v1.0.0 then v1.0.1 under load; each takes minutes), BLUESHIFT_BENCH_SSH_RUNS (default 1), BLUESHIFT_BENCH_OUT (JSON results, default bench-results.json). The default run takes about 4 minutes on 2 cores; it exits 1 if a blueshift deployment or rollback dropped a request.")
				_fmt.Println()
				
				_fmt.Print("Usage:\n\n\tmage bench\n\n")
				var aliases []string
				if len(aliases) > 0 {
					_sort.Strings(aliases)
					_fmt.Printf("Aliases: %s\n\n", _strings.Join(aliases, ", "))
				}
				return
				case "demo":
				_fmt.Println("Demo runs a zero-downtime blue-green deployment on this machine (needs only Go and Docker).  It builds the demo app's images v1.0.0 and v1.0.1, writes a workspace ($BLUESHIFT_DEMO_DIR, default ~/.cache/blueshift-demo) with a compose file and a deploy.yml, starts Caddy on http://127.0.0.1:18080, deploys v1.0.0, then v1.0.1 through the full production pipeline while 150 requests/s go through Caddy, and prints the summary and the load's numbers. It exits non-zero when a deployment failed or a single request failed. Running it again re-uses what runs; 'go tool mage demo:down' removes it all.")
				_fmt.Println()
				
				_fmt.Print("Usage:\n\n\tmage demo\n\n")
				var aliases []string
				if len(aliases) > 0 {
					_sort.Strings(aliases)
					_fmt.Printf("Aliases: %s\n\n", _strings.Join(aliases, ", "))
				}
				return
				case "test":
				_fmt.Println("Test runs every test of the repository with the race detector, the two modules in parallel; the real components must be running (sudo bash .ci/setup).")
				_fmt.Println()
				
				_fmt.Print("Usage:\n\n\tmage test\n\n")
				var aliases []string
				if len(aliases) > 0 {
					_sort.Strings(aliases)
					_fmt.Printf("Aliases: %s\n\n", _strings.Join(aliases, ", "))
				}
				return
				case "thebot":
				_fmt.Println("Thebot brings up the seed's own application (Django, Celery, nginx frontend, PostgreSQL 15, Redis) on the local engine.  It builds the base image from Debian packages with mmdebstrap (once, cached by a hash of its package list), the application images v1.0.0 and v1.0.1, pushes them to a local registry (Debian's docker-registry on 127.0.0.1:15000, htpasswd), writes the seed's compose file, env file and a host nginx into $BLUESHIFT_THEBOT_DIR (default ~/.cache/blueshift-thebot), starts v1.0.0 with 'docker compose' and the host nginx on http://127.0.0.1:18180. Needs mmdebstrap and docker-registry: 'bash examples/thebot/setup.sh'. 'go tool mage thebot:down' removes it.")
				_fmt.Println()
				
				_fmt.Print("Usage:\n\n\tmage thebot\n\n")
				var aliases []string
				if len(aliases) > 0 {
					_sort.Strings(aliases)
					_fmt.Printf("Aliases: %s\n\n", _strings.Join(aliases, ", "))
				}
				return
				case "backup:create":
				_fmt.Println("Create backs up $BLUESHIFT_ENV now (database, media, Docker state, release) and prunes beyond backup.keep.")
				_fmt.Println()
				
				_fmt.Print("Usage:\n\n\tmage backup:create\n\n")
				var aliases []string
				if len(aliases) > 0 {
					_sort.Strings(aliases)
					_fmt.Printf("Aliases: %s\n\n", _strings.Join(aliases, ", "))
				}
				return
				case "backup:list":
				_fmt.Println("List lists $BLUESHIFT_ENV's backups, newest last: ID, size, age and whether verified.")
				_fmt.Println()
				
				_fmt.Print("Usage:\n\n\tmage backup:list\n\n")
				var aliases []string
				if len(aliases) > 0 {
					_sort.Strings(aliases)
					_fmt.Printf("Aliases: %s\n\n", _strings.Join(aliases, ", "))
				}
				return
				case "backup:restore":
				_fmt.Println("Restore puts backup ID of $BLUESHIFT_ENV back, replacing live data; needs -confirm or BLUESHIFT_CONFIRM_RESTORE=ID.  A safety backup of what is replaced is taken first, under the deploy lock.")
				_fmt.Println()
				
				_fmt.Print("Usage:\n\n\tmage backup:restore <id> [-confirm=<bool>]\n\n")
				var aliases []string
				if len(aliases) > 0 {
					_sort.Strings(aliases)
					_fmt.Printf("Aliases: %s\n\n", _strings.Join(aliases, ", "))
				}
				return
				case "backup:verify":
				_fmt.Println("Verify checks backup ID of $BLUESHIFT_ENV: manifest, sizes, SHA-256 sums, and that dumps and archives read.")
				_fmt.Println()
				
				_fmt.Print("Usage:\n\n\tmage backup:verify <id>\n\n")
				var aliases []string
				if len(aliases) > 0 {
					_sort.Strings(aliases)
					_fmt.Printf("Aliases: %s\n\n", _strings.Join(aliases, ", "))
				}
				return
				case "compose:render":
				_fmt.Println("Render prints the compose file of COLOUR (blue or green) for VERSION in $BLUESHIFT_ENV, as a deployment would write it.  The shared project's file (databases, caches) follows after a \"---\" line. Values taken from the host's env file are printed as ${NAME}, never their values; the files a deployment writes hold the values.")
				_fmt.Println()
				
				_fmt.Print("Usage:\n\n\tmage compose:render <colour> <version>\n\n")
				var aliases []string
				if len(aliases) > 0 {
					_sort.Strings(aliases)
					_fmt.Printf("Aliases: %s\n\n", _strings.Join(aliases, ", "))
				}
				return
				case "config:check":
				_fmt.Println("Check validates deploy.yml ($DEPLOY_CONFIG) and prints it resolved, secrets masked.  Variables are expanded and defaults applied, so the output is exactly what a deployment would use; every secret prints as \"***\". An invalid file exits 1 listing every problem with its field path.")
				_fmt.Println()
				
				_fmt.Print("Usage:\n\n\tmage config:check\n\n")
				var aliases []string
				if len(aliases) > 0 {
					_sort.Strings(aliases)
					_fmt.Printf("Aliases: %s\n\n", _strings.Join(aliases, ", "))
				}
				return
				case "deploy:plan":
				_fmt.Println("Plan prints what deploying VERSION to $BLUESHIFT_ENV would do, changing nothing; exits 1 if preflight fails.")
				_fmt.Println()
				
				_fmt.Print("Usage:\n\n\tmage deploy:plan <version>\n\n")
				var aliases []string
				if len(aliases) > 0 {
					_sort.Strings(aliases)
					_fmt.Printf("Aliases: %s\n\n", _strings.Join(aliases, ", "))
				}
				return
				case "deploy:production":
				_fmt.Println("Production deploys VERSION (or \"auto\") to production with a blue-green switch, rolling back on failure.  The live timeline and the summary go to stdout, the JSON report to $BLUESHIFT_REPORT (default blueshift-report.json). Exit 0 deployed, 1 failed before anything changed, 2 rolled back, 3 the rollback failed too (look now). Ctrl-C stops the deployment and rolls back.")
				_fmt.Println()
				
				_fmt.Print("Usage:\n\n\tmage deploy:production <version>\n\n")
				var aliases []string
				if len(aliases) > 0 {
					_sort.Strings(aliases)
					_fmt.Printf("Aliases: %s\n\n", _strings.Join(aliases, ", "))
				}
				return
				case "deploy:staging":
				_fmt.Println("Staging deploys VERSION (or \"auto\") to staging, exactly like deploy:production.")
				_fmt.Println()
				
				_fmt.Print("Usage:\n\n\tmage deploy:staging <version>\n\n")
				var aliases []string
				if len(aliases) > 0 {
					_sort.Strings(aliases)
					_fmt.Printf("Aliases: %s\n\n", _strings.Join(aliases, ", "))
				}
				return
				case "lock:release":
				_fmt.Println("Release releases $BLUESHIFT_ENV's deploy lock when its holder is gone, recording the former holder in history.  It refuses a lock whose holder is alive (its host-side lock is held) unless -force, which ends the holder's hold (its run goes on without the lock). -reason=TEXT is recorded with it. A dead holder's lock needs no release: the next run (or 'reconcile') takes it over.")
				_fmt.Println()
				
				_fmt.Print("Usage:\n\n\tmage lock:release [<flags>]\n\n")
				_fmt.Print("Flags:\n\n\t-reason=<string>\n\t-force=<bool>\n\n")
				var aliases []string
				if len(aliases) > 0 {
					_sort.Strings(aliases)
					_fmt.Printf("Aliases: %s\n\n", _strings.Join(aliases, ", "))
				}
				return
				case "notify:test":
				_fmt.Println("Test sends a test event to every notifier configured for $BLUESHIFT_ENV and prints how each fared.")
				_fmt.Println()
				
				_fmt.Print("Usage:\n\n\tmage notify:test\n\n")
				var aliases []string
				if len(aliases) > 0 {
					_sort.Strings(aliases)
					_fmt.Printf("Aliases: %s\n\n", _strings.Join(aliases, ", "))
				}
				return
				case "version:check":
				_fmt.Println("Check validates VERSION as a release version (semver with a v prefix, like v1.0.1).")
				_fmt.Println()
				
				_fmt.Print("Usage:\n\n\tmage version:check <v>\n\n")
				var aliases []string
				if len(aliases) > 0 {
					_sort.Strings(aliases)
					_fmt.Printf("Aliases: %s\n\n", _strings.Join(aliases, ", "))
				}
				return
				case "version:next":
				_fmt.Println("Next prints the version a deployment given none would get now (vYYYY.MMDD.HHMMSS, UTC).")
				_fmt.Println()
				
				_fmt.Print("Usage:\n\n\tmage version:next\n\n")
				var aliases []string
				if len(aliases) > 0 {
					_sort.Strings(aliases)
					_fmt.Printf("Aliases: %s\n\n", _strings.Join(aliases, ", "))
				}
				return
				case "health":
				_fmt.Println("Health checks the live colour of $BLUESHIFT_ENV once: its ports, PostgreSQL, Redis and the public URL.")
				_fmt.Println()
				
				_fmt.Print("Usage:\n\n\tmage health\n\n")
				var aliases []string
				if len(aliases) > 0 {
					_sort.Strings(aliases)
					_fmt.Printf("Aliases: %s\n\n", _strings.Join(aliases, ", "))
				}
				return
				case "reconcile":
				_fmt.Println("Reconcile takes $BLUESHIFT_ENV's deploy lock and repairs a run that died part-way.  A deployment or rollback killed part-way (or whose SSH connection dropped) leaves a colour half-started or a lock whose holder is gone; this keeps the colour the proxy serves (making the proxy serve it), stops or removes the other, corrects state and records what it did in history. Every deployment, rollback and restore does the same first. A live run holding the lock makes it fail (exit 1) without touching anything.")
				_fmt.Println()
				
				_fmt.Print("Usage:\n\n\tmage reconcile\n\n")
				var aliases []string
				if len(aliases) > 0 {
					_sort.Strings(aliases)
					_fmt.Printf("Aliases: %s\n\n", _strings.Join(aliases, ", "))
				}
				return
				case "releasenotes":
				_fmt.Println("Releasenotes prints the release notes (Markdown) of the commits after FROM up to TO in this repository.  FROM and TO are tags or commits; commits are grouped by conventional-commit type, merges and chores left out.")
				_fmt.Println()
				
				_fmt.Print("Usage:\n\n\tmage releasenotes <from> <to>\n\n")
				var aliases []string
				if len(aliases) > 0 {
					_sort.Strings(aliases)
					_fmt.Printf("Aliases: %s\n\n", _strings.Join(aliases, ", "))
				}
				return
				case "rollback":
				_fmt.Println("Rollback returns $BLUESHIFT_ENV to the previous release, or to -to=VERSION.  The kept colour is started (or the version rendered into it), checked and switched to; the current colour is stopped and kept. VERSION must have been live in the environment before (anything else is refused, naming the deploy command); one older than the previous release also goes through preflight, smoke and the monitor. Without -to, $ROLLBACK_TO is the version: copies of the example rollback.yml made before it passed -to set only that variable, and an operator asking for a version must never get the previous release instead; -to and a different $ROLLBACK_TO are refused. Output, report and exit codes as for deploy:production.")
				_fmt.Println()
				
				_fmt.Print("Usage:\n\n\tmage rollback [-to=<string>]\n\n")
				var aliases []string
				if len(aliases) > 0 {
					_sort.Strings(aliases)
					_fmt.Printf("Aliases: %s\n\n", _strings.Join(aliases, ", "))
				}
				return
				case "smoke":
				_fmt.Println("Smoke runs the smoke endpoints against $BLUESHIFT_ENV's public URL (or the live colour's port).")
				_fmt.Println()
				
				_fmt.Print("Usage:\n\n\tmage smoke\n\n")
				var aliases []string
				if len(aliases) > 0 {
					_sort.Strings(aliases)
					_fmt.Printf("Aliases: %s\n\n", _strings.Join(aliases, ", "))
				}
				return
				case "status":
				_fmt.Println("Status shows $BLUESHIFT_ENV's live colour, releases, containers, lock and recent history.  It only reads: an interrupted deployment is reported, with the command that reconciles it ('reconcile'), never acted on.")
				_fmt.Println()
				
				_fmt.Print("Usage:\n\n\tmage status\n\n")
				var aliases []string
				if len(aliases) > 0 {
					_sort.Strings(aliases)
					_fmt.Printf("Aliases: %s\n\n", _strings.Join(aliases, ", "))
				}
				return
				case "versions":
				_fmt.Println("Versions lists the last 20 deployments, rollbacks and lock releases of $BLUESHIFT_ENV.")
				_fmt.Println()
				
				_fmt.Print("Usage:\n\n\tmage versions\n\n")
				var aliases []string
				if len(aliases) > 0 {
					_sort.Strings(aliases)
					_fmt.Printf("Aliases: %s\n\n", _strings.Join(aliases, ", "))
				}
				return
				default:
				logger.Printf("Unknown target: %q\n", args.Args[0])
				_os.Exit(2)
		}
	}
	if len(args.Args) < 1 {
		if err := list(); err != nil {
			logger.Println("Error:", err)
			_os.Exit(1)
		}
		return
	}
	for x := 0; x < len(args.Args); {
		target := args.Args[x]
		x++

		// resolve aliases
		switch _strings.ToLower(target) {
		
		}

		switch _strings.ToLower(target) {
		
		
		
			
				case "demo:down":
					expected := x + 0
					if expected > len(args.Args) {
						// note that expected and args at this point include the arg for the target itself
						// so we subtract 1 here to show the number of args without the target.
						logger.Printf("not enough arguments for target \"DEMO:Down\", expected %v, got %v\n", expected-1, len(args.Args)-1)
						_os.Exit(2)
					}
					if args.Verbose {
						logger.Println("Running target:", "DEMO:Down")
					}
					
				wrapFn := func(ctx _context.Context) error {
					return devtargets_mageimport.DEMO{}.Down(ctx)
				}
				ret := runTarget(logger, wrapFn)
					handleError(logger, ret)
				case "thebot:down":
					expected := x + 0
					if expected > len(args.Args) {
						// note that expected and args at this point include the arg for the target itself
						// so we subtract 1 here to show the number of args without the target.
						logger.Printf("not enough arguments for target \"THEBOT:Down\", expected %v, got %v\n", expected-1, len(args.Args)-1)
						_os.Exit(2)
					}
					if args.Verbose {
						logger.Println("Running target:", "THEBOT:Down")
					}
					
				wrapFn := func(ctx _context.Context) error {
					return devtargets_mageimport.THEBOT{}.Down(ctx)
				}
				ret := runTarget(logger, wrapFn)
					handleError(logger, ret)
				case "bench":
					expected := x + 0
					if expected > len(args.Args) {
						// note that expected and args at this point include the arg for the target itself
						// so we subtract 1 here to show the number of args without the target.
						logger.Printf("not enough arguments for target \"Bench\", expected %v, got %v\n", expected-1, len(args.Args)-1)
						_os.Exit(2)
					}
					if args.Verbose {
						logger.Println("Running target:", "Bench")
					}
					
				wrapFn := func(ctx _context.Context) error {
					return devtargets_mageimport.Bench(ctx)
				}
				ret := runTarget(logger, wrapFn)
					handleError(logger, ret)
				case "demo":
					expected := x + 0
					if expected > len(args.Args) {
						// note that expected and args at this point include the arg for the target itself
						// so we subtract 1 here to show the number of args without the target.
						logger.Printf("not enough arguments for target \"Demo\", expected %v, got %v\n", expected-1, len(args.Args)-1)
						_os.Exit(2)
					}
					if args.Verbose {
						logger.Println("Running target:", "Demo")
					}
					
				wrapFn := func(ctx _context.Context) error {
					return devtargets_mageimport.Demo(ctx)
				}
				ret := runTarget(logger, wrapFn)
					handleError(logger, ret)
				case "test":
					expected := x + 0
					if expected > len(args.Args) {
						// note that expected and args at this point include the arg for the target itself
						// so we subtract 1 here to show the number of args without the target.
						logger.Printf("not enough arguments for target \"Test\", expected %v, got %v\n", expected-1, len(args.Args)-1)
						_os.Exit(2)
					}
					if args.Verbose {
						logger.Println("Running target:", "Test")
					}
					
				wrapFn := func(ctx _context.Context) error {
					return devtargets_mageimport.Test(ctx)
				}
				ret := runTarget(logger, wrapFn)
					handleError(logger, ret)
				case "thebot":
					expected := x + 0
					if expected > len(args.Args) {
						// note that expected and args at this point include the arg for the target itself
						// so we subtract 1 here to show the number of args without the target.
						logger.Printf("not enough arguments for target \"Thebot\", expected %v, got %v\n", expected-1, len(args.Args)-1)
						_os.Exit(2)
					}
					if args.Verbose {
						logger.Println("Running target:", "Thebot")
					}
					
				wrapFn := func(ctx _context.Context) error {
					return devtargets_mageimport.Thebot(ctx)
				}
				ret := runTarget(logger, wrapFn)
					handleError(logger, ret)
		
			
				case "backup:create":
					expected := x + 0
					if expected > len(args.Args) {
						// note that expected and args at this point include the arg for the target itself
						// so we subtract 1 here to show the number of args without the target.
						logger.Printf("not enough arguments for target \"Backup:Create\", expected %v, got %v\n", expected-1, len(args.Args)-1)
						_os.Exit(2)
					}
					if args.Verbose {
						logger.Println("Running target:", "Backup:Create")
					}
					
				wrapFn := func(ctx _context.Context) error {
					return targets_mageimport.Backup{}.Create(ctx)
				}
				ret := runTarget(logger, wrapFn)
					handleError(logger, ret)
				case "backup:list":
					expected := x + 0
					if expected > len(args.Args) {
						// note that expected and args at this point include the arg for the target itself
						// so we subtract 1 here to show the number of args without the target.
						logger.Printf("not enough arguments for target \"Backup:List\", expected %v, got %v\n", expected-1, len(args.Args)-1)
						_os.Exit(2)
					}
					if args.Verbose {
						logger.Println("Running target:", "Backup:List")
					}
					
				wrapFn := func(ctx _context.Context) error {
					return targets_mageimport.Backup{}.List(ctx)
				}
				ret := runTarget(logger, wrapFn)
					handleError(logger, ret)
				case "backup:restore":
					expected := x + 1
					if expected > len(args.Args) {
						// note that expected and args at this point include the arg for the target itself
						// so we subtract 1 here to show the number of args without the target.
						logger.Printf("not enough arguments for target \"Backup:Restore\", expected %v, got %v\n", expected-1, len(args.Args)-1)
						_os.Exit(2)
					}
					if args.Verbose {
						logger.Println("Running target:", "Backup:Restore")
					}
					
			arg0 := args.Args[x]
			x++
				var arg1 *bool
				for x < len(args.Args) && _strings.HasPrefix(args.Args[x], "-") {
					_optArg := args.Args[x]
					_eqIdx := _strings.Index(_optArg, "=")
					var _optName, _optVal string
					if _eqIdx < 0 {
						_optName = _strings.ToLower(_optArg[1:])
						switch _optName {
						case "confirm":
							_optVal = "true"
						default:
							logger.Printf("invalid option %q for target \"Backup:Restore\", expected -name=value format\n", _optArg)
							_os.Exit(2)
						}
					} else {
						_optName = _strings.ToLower(_optArg[1:_eqIdx])
						_optVal = _optArg[_eqIdx+1:]
					}
					switch _optName {
					case "confirm":
						_tmp1, err := _strconv.ParseBool(_optVal)
						if err != nil {
							logger.Printf("can't convert option %q value %q to bool\n", _optName, _optVal)
							_os.Exit(2)
						}
						arg1 = &_tmp1
					default:
						logger.Printf("unknown option %q for target \"Backup:Restore\"\n", _optName)
						_os.Exit(2)
					}
					x++
				}
				wrapFn := func(ctx _context.Context) error {
					return targets_mageimport.Backup{}.Restore(ctx, arg0, arg1)
				}
				ret := runTarget(logger, wrapFn)
					handleError(logger, ret)
				case "backup:verify":
					expected := x + 1
					if expected > len(args.Args) {
						// note that expected and args at this point include the arg for the target itself
						// so we subtract 1 here to show the number of args without the target.
						logger.Printf("not enough arguments for target \"Backup:Verify\", expected %v, got %v\n", expected-1, len(args.Args)-1)
						_os.Exit(2)
					}
					if args.Verbose {
						logger.Println("Running target:", "Backup:Verify")
					}
					
			arg0 := args.Args[x]
			x++
				wrapFn := func(ctx _context.Context) error {
					return targets_mageimport.Backup{}.Verify(ctx, arg0)
				}
				ret := runTarget(logger, wrapFn)
					handleError(logger, ret)
				case "compose:render":
					expected := x + 2
					if expected > len(args.Args) {
						// note that expected and args at this point include the arg for the target itself
						// so we subtract 1 here to show the number of args without the target.
						logger.Printf("not enough arguments for target \"Compose:Render\", expected %v, got %v\n", expected-1, len(args.Args)-1)
						_os.Exit(2)
					}
					if args.Verbose {
						logger.Println("Running target:", "Compose:Render")
					}
					
			arg0 := args.Args[x]
			x++
			arg1 := args.Args[x]
			x++
				wrapFn := func(ctx _context.Context) error {
					return targets_mageimport.Compose{}.Render(ctx, arg0, arg1)
				}
				ret := runTarget(logger, wrapFn)
					handleError(logger, ret)
				case "config:check":
					expected := x + 0
					if expected > len(args.Args) {
						// note that expected and args at this point include the arg for the target itself
						// so we subtract 1 here to show the number of args without the target.
						logger.Printf("not enough arguments for target \"Config:Check\", expected %v, got %v\n", expected-1, len(args.Args)-1)
						_os.Exit(2)
					}
					if args.Verbose {
						logger.Println("Running target:", "Config:Check")
					}
					
				wrapFn := func(ctx _context.Context) error {
					return targets_mageimport.Config{}.Check(ctx)
				}
				ret := runTarget(logger, wrapFn)
					handleError(logger, ret)
				case "deploy:plan":
					expected := x + 1
					if expected > len(args.Args) {
						// note that expected and args at this point include the arg for the target itself
						// so we subtract 1 here to show the number of args without the target.
						logger.Printf("not enough arguments for target \"Deploy:Plan\", expected %v, got %v\n", expected-1, len(args.Args)-1)
						_os.Exit(2)
					}
					if args.Verbose {
						logger.Println("Running target:", "Deploy:Plan")
					}
					
			arg0 := args.Args[x]
			x++
				wrapFn := func(ctx _context.Context) error {
					return targets_mageimport.Deploy{}.Plan(ctx, arg0)
				}
				ret := runTarget(logger, wrapFn)
					handleError(logger, ret)
				case "deploy:production":
					expected := x + 1
					if expected > len(args.Args) {
						// note that expected and args at this point include the arg for the target itself
						// so we subtract 1 here to show the number of args without the target.
						logger.Printf("not enough arguments for target \"Deploy:Production\", expected %v, got %v\n", expected-1, len(args.Args)-1)
						_os.Exit(2)
					}
					if args.Verbose {
						logger.Println("Running target:", "Deploy:Production")
					}
					
			arg0 := args.Args[x]
			x++
				wrapFn := func(ctx _context.Context) error {
					return targets_mageimport.Deploy{}.Production(ctx, arg0)
				}
				ret := runTarget(logger, wrapFn)
					handleError(logger, ret)
				case "deploy:staging":
					expected := x + 1
					if expected > len(args.Args) {
						// note that expected and args at this point include the arg for the target itself
						// so we subtract 1 here to show the number of args without the target.
						logger.Printf("not enough arguments for target \"Deploy:Staging\", expected %v, got %v\n", expected-1, len(args.Args)-1)
						_os.Exit(2)
					}
					if args.Verbose {
						logger.Println("Running target:", "Deploy:Staging")
					}
					
			arg0 := args.Args[x]
			x++
				wrapFn := func(ctx _context.Context) error {
					return targets_mageimport.Deploy{}.Staging(ctx, arg0)
				}
				ret := runTarget(logger, wrapFn)
					handleError(logger, ret)
				case "lock:release":
					expected := x + 0
					if expected > len(args.Args) {
						// note that expected and args at this point include the arg for the target itself
						// so we subtract 1 here to show the number of args without the target.
						logger.Printf("not enough arguments for target \"Lock:Release\", expected %v, got %v\n", expected-1, len(args.Args)-1)
						_os.Exit(2)
					}
					if args.Verbose {
						logger.Println("Running target:", "Lock:Release")
					}
					
				var arg0 *string
				var arg1 *bool
				for x < len(args.Args) && _strings.HasPrefix(args.Args[x], "-") {
					_optArg := args.Args[x]
					_eqIdx := _strings.Index(_optArg, "=")
					var _optName, _optVal string
					if _eqIdx < 0 {
						_optName = _strings.ToLower(_optArg[1:])
						switch _optName {
						case "force":
							_optVal = "true"
						default:
							logger.Printf("invalid option %q for target \"Lock:Release\", expected -name=value format\n", _optArg)
							_os.Exit(2)
						}
					} else {
						_optName = _strings.ToLower(_optArg[1:_eqIdx])
						_optVal = _optArg[_eqIdx+1:]
					}
					switch _optName {
					case "reason":
						_tmp0 := _optVal
						arg0 = &_tmp0
					case "force":
						_tmp1, err := _strconv.ParseBool(_optVal)
						if err != nil {
							logger.Printf("can't convert option %q value %q to bool\n", _optName, _optVal)
							_os.Exit(2)
						}
						arg1 = &_tmp1
					default:
						logger.Printf("unknown option %q for target \"Lock:Release\"\n", _optName)
						_os.Exit(2)
					}
					x++
				}
				wrapFn := func(ctx _context.Context) error {
					return targets_mageimport.Lock{}.Release(ctx, arg0, arg1)
				}
				ret := runTarget(logger, wrapFn)
					handleError(logger, ret)
				case "notify:test":
					expected := x + 0
					if expected > len(args.Args) {
						// note that expected and args at this point include the arg for the target itself
						// so we subtract 1 here to show the number of args without the target.
						logger.Printf("not enough arguments for target \"Notify:Test\", expected %v, got %v\n", expected-1, len(args.Args)-1)
						_os.Exit(2)
					}
					if args.Verbose {
						logger.Println("Running target:", "Notify:Test")
					}
					
				wrapFn := func(ctx _context.Context) error {
					return targets_mageimport.Notify{}.Test(ctx)
				}
				ret := runTarget(logger, wrapFn)
					handleError(logger, ret)
				case "version:check":
					expected := x + 1
					if expected > len(args.Args) {
						// note that expected and args at this point include the arg for the target itself
						// so we subtract 1 here to show the number of args without the target.
						logger.Printf("not enough arguments for target \"Version:Check\", expected %v, got %v\n", expected-1, len(args.Args)-1)
						_os.Exit(2)
					}
					if args.Verbose {
						logger.Println("Running target:", "Version:Check")
					}
					
			arg0 := args.Args[x]
			x++
				wrapFn := func(ctx _context.Context) error {
					return targets_mageimport.Version{}.Check(arg0)
				}
				ret := runTarget(logger, wrapFn)
					handleError(logger, ret)
				case "version:next":
					expected := x + 0
					if expected > len(args.Args) {
						// note that expected and args at this point include the arg for the target itself
						// so we subtract 1 here to show the number of args without the target.
						logger.Printf("not enough arguments for target \"Version:Next\", expected %v, got %v\n", expected-1, len(args.Args)-1)
						_os.Exit(2)
					}
					if args.Verbose {
						logger.Println("Running target:", "Version:Next")
					}
					
				wrapFn := func(ctx _context.Context) error {
					return targets_mageimport.Version{}.Next()
				}
				ret := runTarget(logger, wrapFn)
					handleError(logger, ret)
				case "health":
					expected := x + 0
					if expected > len(args.Args) {
						// note that expected and args at this point include the arg for the target itself
						// so we subtract 1 here to show the number of args without the target.
						logger.Printf("not enough arguments for target \"Health\", expected %v, got %v\n", expected-1, len(args.Args)-1)
						_os.Exit(2)
					}
					if args.Verbose {
						logger.Println("Running target:", "Health")
					}
					
				wrapFn := func(ctx _context.Context) error {
					return targets_mageimport.Health(ctx)
				}
				ret := runTarget(logger, wrapFn)
					handleError(logger, ret)
				case "reconcile":
					expected := x + 0
					if expected > len(args.Args) {
						// note that expected and args at this point include the arg for the target itself
						// so we subtract 1 here to show the number of args without the target.
						logger.Printf("not enough arguments for target \"Reconcile\", expected %v, got %v\n", expected-1, len(args.Args)-1)
						_os.Exit(2)
					}
					if args.Verbose {
						logger.Println("Running target:", "Reconcile")
					}
					
				wrapFn := func(ctx _context.Context) error {
					return targets_mageimport.Reconcile(ctx)
				}
				ret := runTarget(logger, wrapFn)
					handleError(logger, ret)
				case "releasenotes":
					expected := x + 2
					if expected > len(args.Args) {
						// note that expected and args at this point include the arg for the target itself
						// so we subtract 1 here to show the number of args without the target.
						logger.Printf("not enough arguments for target \"Releasenotes\", expected %v, got %v\n", expected-1, len(args.Args)-1)
						_os.Exit(2)
					}
					if args.Verbose {
						logger.Println("Running target:", "Releasenotes")
					}
					
			arg0 := args.Args[x]
			x++
			arg1 := args.Args[x]
			x++
				wrapFn := func(ctx _context.Context) error {
					return targets_mageimport.Releasenotes(ctx, arg0, arg1)
				}
				ret := runTarget(logger, wrapFn)
					handleError(logger, ret)
				case "rollback":
					expected := x + 0
					if expected > len(args.Args) {
						// note that expected and args at this point include the arg for the target itself
						// so we subtract 1 here to show the number of args without the target.
						logger.Printf("not enough arguments for target \"Rollback\", expected %v, got %v\n", expected-1, len(args.Args)-1)
						_os.Exit(2)
					}
					if args.Verbose {
						logger.Println("Running target:", "Rollback")
					}
					
				var arg0 *string
				for x < len(args.Args) && _strings.HasPrefix(args.Args[x], "-") {
					_optArg := args.Args[x]
					_eqIdx := _strings.Index(_optArg, "=")
					var _optName, _optVal string
					if _eqIdx < 0 {
						_optName = _strings.ToLower(_optArg[1:])
						switch _optName {
						default:
							logger.Printf("invalid option %q for target \"Rollback\", expected -name=value format\n", _optArg)
							_os.Exit(2)
						}
					} else {
						_optName = _strings.ToLower(_optArg[1:_eqIdx])
						_optVal = _optArg[_eqIdx+1:]
					}
					switch _optName {
					case "to":
						_tmp0 := _optVal
						arg0 = &_tmp0
					default:
						logger.Printf("unknown option %q for target \"Rollback\"\n", _optName)
						_os.Exit(2)
					}
					x++
				}
				wrapFn := func(ctx _context.Context) error {
					return targets_mageimport.Rollback(ctx, arg0)
				}
				ret := runTarget(logger, wrapFn)
					handleError(logger, ret)
				case "smoke":
					expected := x + 0
					if expected > len(args.Args) {
						// note that expected and args at this point include the arg for the target itself
						// so we subtract 1 here to show the number of args without the target.
						logger.Printf("not enough arguments for target \"Smoke\", expected %v, got %v\n", expected-1, len(args.Args)-1)
						_os.Exit(2)
					}
					if args.Verbose {
						logger.Println("Running target:", "Smoke")
					}
					
				wrapFn := func(ctx _context.Context) error {
					return targets_mageimport.Smoke(ctx)
				}
				ret := runTarget(logger, wrapFn)
					handleError(logger, ret)
				case "status":
					expected := x + 0
					if expected > len(args.Args) {
						// note that expected and args at this point include the arg for the target itself
						// so we subtract 1 here to show the number of args without the target.
						logger.Printf("not enough arguments for target \"Status\", expected %v, got %v\n", expected-1, len(args.Args)-1)
						_os.Exit(2)
					}
					if args.Verbose {
						logger.Println("Running target:", "Status")
					}
					
				wrapFn := func(ctx _context.Context) error {
					return targets_mageimport.Status(ctx)
				}
				ret := runTarget(logger, wrapFn)
					handleError(logger, ret)
				case "versions":
					expected := x + 0
					if expected > len(args.Args) {
						// note that expected and args at this point include the arg for the target itself
						// so we subtract 1 here to show the number of args without the target.
						logger.Printf("not enough arguments for target \"Versions\", expected %v, got %v\n", expected-1, len(args.Args)-1)
						_os.Exit(2)
					}
					if args.Verbose {
						logger.Println("Running target:", "Versions")
					}
					
				wrapFn := func(ctx _context.Context) error {
					return targets_mageimport.Versions(ctx)
				}
				ret := runTarget(logger, wrapFn)
					handleError(logger, ret)
		default:
			logger.Printf("Unknown target specified: %q\n", target)
			_os.Exit(2)
		}
	}
}




