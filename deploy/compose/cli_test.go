package compose

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
)

func TestCLIArgv(t *testing.T) {
	v2 := CLI{ProjectName: "shop-blue", Files: []string{".blueshift/blue.yml"}, EnvFile: ".env.production", Profiles: []string{"jobs"}, Dir: "/srv/shop"}
	v1 := v2
	v1.Binary, v1.Legacy = V1, true
	g := "docker compose --project-name shop-blue --file .blueshift/blue.yml --env-file .env.production --profile jobs "
	l := "docker-compose --project-name shop-blue --file .blueshift/blue.yml --env-file .env.production --profile jobs "
	for _, tc := range []struct {
		name     string
		cmd      host.Cmd
		want     string
		wantEnv  []string
		cliForV1 bool
	}{
		{"up v2", v2.Up(90 * time.Second), g + "up --detach --remove-orphans --wait --wait-timeout 90", nil, false},
		{"up v2 rounds up", v2.Up(1500*time.Millisecond, "web"), g + "up --detach --remove-orphans --wait --wait-timeout 2 web", nil, false},
		{"up v2 no wait", v2.Up(0, "web"), g + "up --detach --remove-orphans web", nil, false},
		{"up v1 never waits", v1.Up(90 * time.Second), l + "up --detach --remove-orphans", nil, true},
		{"up no recreate", v2.UpNoRecreate("db", "redis"), g + "up --detach --no-recreate db redis", nil, false},
		{"up no recreate v1", v1.UpNoRecreate(), l + "up --detach --no-recreate", nil, true},
		{"stop", v2.Stop(30*time.Second, "web"), g + "stop --timeout 30 web", nil, false},
		{"stop default", v1.Stop(0), l + "stop", nil, true},
		{"start", v2.Start(), g + "start", nil, false},
		{"down keeps volumes", v2.Down(false), g + "down --remove-orphans", nil, false},
		{"down volumes", v1.Down(true), l + "down --remove-orphans --volumes", nil, true},
		{"ps v2", v2.Ps(), g + "ps --all --format json", nil, false},
		{"ps v1", v1.Ps(), l + "ps --all -q", nil, true},
		{"exec", v2.Exec("backend", []string{"DJANGO_SETTINGS=prod", "TOKEN=s3cret"}, "python", "manage.py", "migrate"),
			g + "exec -T --env DJANGO_SETTINGS --env TOKEN backend python manage.py migrate", []string{"DJANGO_SETTINGS=prod", "TOKEN=s3cret"}, false},
		{"run", v1.Run("backend", nil, "python", "manage.py", "collectstatic", "--noinput"),
			l + "run --rm -T --no-deps backend python manage.py collectstatic --noinput", nil, true},
		{"logs", v2.Logs(200, "backend"), g + "logs --no-color --tail 200 backend", nil, false},
		{"config", v2.Config(), g + "config --quiet", nil, false},
	} {
		if got := strings.Join(tc.cmd.Argv, " "); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
		if tc.cmd.Dir != "/srv/shop" {
			t.Errorf("%s: dir %q", tc.name, tc.cmd.Dir)
		}
		if strings.Join(tc.cmd.Env, " ") != strings.Join(tc.wantEnv, " ") {
			t.Errorf("%s: env %q, want %q", tc.name, tc.cmd.Env, tc.wantEnv)
		}
		if strings.Contains(strings.Join(tc.cmd.Argv, " "), "s3cret") {
			t.Errorf("%s: a secret value is on the command line", tc.name)
		}
	}
	if got := strings.Join(CLI{}.Argv("version"), " "); got != "docker compose version" {
		t.Errorf("zero CLI: %s", got)
	}
}

// fakeRunner answers commands from a table keyed by the joined argv.
type fakeRunner map[string]string

func (f fakeRunner) Run(ctx context.Context, cmd host.Cmd) error {
	out, ok := f[strings.Join(cmd.Argv, " ")]
	if !ok {
		return &host.ExitError{Host: "fake", Argv: cmd.Argv, Code: 127, StderrTail: cmd.Argv[0] + ": not found"}
	}
	if cmd.Stdout != nil {
		io.WriteString(cmd.Stdout, out)
	}
	return nil
}

func TestDetectCLI(t *testing.T) {
	ctx := context.Background()
	cli, v, err := DetectCLI(ctx, fakeRunner{"docker compose version --short": "v2.40.3\n", "docker-compose version --short": "1.29.2\n"})
	if err != nil || v != "2.40.3" || cli.Legacy || strings.Join(cli.Binary, " ") != "docker compose" {
		t.Errorf("v2 and v1 present: %+v %q %v", cli, v, err)
	}
	cli, v, err = DetectCLI(ctx, fakeRunner{"docker-compose version --short": "1.29.2\n"})
	if err != nil || v != "1.29.2" || !cli.Legacy || strings.Join(cli.Binary, " ") != "docker-compose" {
		t.Errorf("only v1: %+v %q %v", cli, v, err)
	}
	cli, v, err = DetectCLI(ctx, fakeRunner{"docker-compose version --short": "2.29.0\n"})
	if err != nil || v != "2.29.0" || cli.Legacy {
		t.Errorf("standalone docker-compose v2: %+v %q %v", cli, v, err)
	}
	_, _, err = DetectCLI(ctx, fakeRunner{})
	if !errors.Is(err, ErrNoCompose) || !strings.Contains(err.Error(), "docker-compose-plugin") {
		t.Errorf("neither: %v", err)
	}
	var exit *host.ExitError
	if !errors.As(err, &exit) {
		t.Errorf("neither: the runner's errors are not wrapped: %v", err)
	}
}

func TestDetectCLILocal(t *testing.T) {
	composeV2(t)
	cli, v, err := DetectCLI(context.Background(), host.NewLocal())
	hosttest.Require(t, "docker compose", err)
	if cli.Legacy || !strings.HasPrefix(v, "2.") {
		t.Errorf("local: %+v %q, want Compose v2", cli, v)
	}
}
