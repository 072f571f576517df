package backup

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// Postgres dumps a PostgreSQL database with pg_dump --format=custom, either
// inside the database's container (docker exec, the seed's layout) or on the
// host with a connection URL. The dump is written on the host straight into
// the backup directory: it never passes through blueshift.
//
// Exactly one of Container and DSN must be set.
type Postgres struct {
	// Artifact names the source and its file ("<artifact>.dump");
	// default "database".
	Artifact string
	// Container is the name or ID of the container pg_dump runs in.
	Container string
	// User and Database are used with Container (pg_dump -U <user> <db>);
	// default "postgres" for both.
	User, Database string
	// Password, if the container's server asks for one, is handed to
	// docker exec through its environment (-e PGPASSWORD), never in argv.
	Password string
	// DSN is a postgres:// URL as seen from the host, for a pg_dump run on
	// the host. A password in it is moved to PGPASSWORD and removed from
	// argv and errors.
	DSN string
}

var _ interface {
	Restorer
	Estimator
	ToolChecker
} = (*Postgres)(nil)

// ErrBadDSN is returned for a DSN that is not a postgres:// URL.
var ErrBadDSN = errors.New("postgres DSN must be a postgres:// or postgresql:// URL")

// Name returns Artifact or "database".
func (p *Postgres) Name() string { return orDefault(p.Artifact, "database") }

func (p *Postgres) file() string { return p.Name() + ".dump" }

// pgTarget is how to reach the database: argv prefix and environment.
type pgTarget struct {
	// container is non-empty for docker exec.
	container string
	user, db  string
	dsn       string // without password
	env       []string
}

func (p *Postgres) target() (pgTarget, error) {
	switch {
	case p.Container != "" && p.DSN != "":
		return pgTarget{}, errors.New("postgres source: set Container or DSN, not both")
	case p.Container != "":
		t := pgTarget{container: p.Container, user: orDefault(p.User, "postgres"), db: orDefault(p.Database, "postgres")}
		if p.Password != "" {
			t.env = []string{"PGPASSWORD=" + p.Password}
		}
		return t, nil
	case p.DSN != "":
		dsn, pw, err := splitDSN(p.DSN)
		if err != nil {
			return pgTarget{}, err
		}
		t := pgTarget{dsn: dsn}
		if pw != "" {
			t.env = []string{"PGPASSWORD=" + pw}
		}
		return t, nil
	default:
		return pgTarget{}, errors.New("postgres source: set Container (docker exec) or DSN (pg_dump on the host)")
	}
}

// splitDSN removes the password from a postgres URL, returning the URL
// without it and the password.
func splitDSN(dsn string) (clean, password string, err error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		// url.Parse errors quote the input, which may hold the password.
		return "", "", ErrBadDSN
	}
	if u.User != nil {
		if pw, ok := u.User.Password(); ok {
			password = pw
			u.User = url.User(u.User.Username())
		}
	}
	q := u.Query()
	if pw := q.Get("password"); pw != "" {
		password = pw
		q.Del("password")
		u.RawQuery = q.Encode()
	}
	return u.String(), password, nil
}

// argv builds the command running prog with args against the database;
// stdin says whether docker exec must keep stdin open.
func (t pgTarget) argv(stdin bool, prog string, args ...string) []string {
	if t.container == "" {
		return append(append([]string{prog}, args...), "--no-password", "--dbname="+t.dsn)
	}
	argv := []string{"docker", "exec"}
	if stdin {
		argv = append(argv, "-i")
	}
	if len(t.env) > 0 {
		argv = append(argv, "-e", "PGPASSWORD") // value comes from docker's env
	}
	argv = append(argv, t.container, prog)
	argv = append(argv, args...)
	return append(argv, "--no-password", "--username="+t.user, "--dbname="+t.db)
}

// dumpArgv is the pg_dump command writing the archive to out on the host.
func (t pgTarget) dumpArgv(out string) []string {
	if t.container == "" {
		return t.argv(false, "pg_dump", "--format=custom", "--file="+out)
	}
	return stdoutToFile(out, t.argv(false, "pg_dump", "--format=custom")...)
}

// restoreArgv is the pg_restore command replacing the database's contents
// with the archive in, in one transaction.
func (t pgTarget) restoreArgv(in string) []string {
	args := []string{"--clean", "--if-exists", "--single-transaction", "--exit-on-error"}
	if t.container == "" {
		return append(t.argv(false, "pg_restore", args...), in)
	}
	return stdinFromFile(in, t.argv(true, "pg_restore", args...)...)
}

// listArgv is the pg_restore --list command reading the archive in: on the
// host, or in container when the host has no pg_restore.
func listArgv(container, in string) []string {
	if container == "" {
		return []string{"pg_restore", "--list", "--", in}
	}
	return stdinFromFile(in, "docker", "exec", "-i", container, "pg_restore", "--list")
}

// sizeQuery is the SQL Estimate runs.
const sizeQuery = "SELECT pg_database_size(current_database())"

func (t pgTarget) sizeArgv() []string {
	return t.argv(false, "psql", "--no-psqlrc", "--tuples-only", "--no-align", "--quiet", "--command="+sizeQuery)
}

func (t pgTarget) versionArgv() []string {
	if t.container == "" {
		return []string{"pg_dump", "--version"}
	}
	return []string{"docker", "exec", t.container, "pg_dump", "--version"}
}

// Backup runs pg_dump on the host or in the container, writing
// <artifact>.dump into dir.
func (p *Postgres) Backup(ctx context.Context, r host.Runner, dir string) ([]Artifact, error) {
	t, err := p.target()
	if err != nil {
		return nil, err
	}
	out := path.Join(dir, p.file())
	if err := runSecret(ctx, r, host.Cmd{Argv: t.dumpArgv(out), Env: t.env}); err != nil {
		return nil, fmt.Errorf("pg_dump %s: %w", p.where(), err)
	}
	return []Artifact{{Path: p.file(), Kind: KindPostgres, Container: t.container}}, nil
}

// Restore replaces the database's contents with the dump (pg_restore
// --clean --if-exists in a single transaction: on error nothing changes).
// Tables created after the backup are left as they are.
func (p *Postgres) Restore(ctx context.Context, r host.Runner, dir string, arts []Artifact) error {
	t, err := p.target()
	if err != nil {
		return err
	}
	a, err := oneArtifact(p.Name(), arts, KindPostgres)
	if err != nil {
		return err
	}
	if err := runSecret(ctx, r, host.Cmd{Argv: t.restoreArgv(path.Join(dir, a.Path)), Env: t.env}); err != nil {
		return fmt.Errorf("pg_restore %s: %w", p.where(), err)
	}
	return nil
}

// Estimate returns pg_database_size of the database.
func (p *Postgres) Estimate(ctx context.Context, r host.Runner) (int64, error) {
	t, err := p.target()
	if err != nil {
		return 0, err
	}
	out, err := outputEnv(ctx, r, t.env, t.sizeArgv()...)
	if err != nil {
		return 0, fmt.Errorf("estimate database size %s: %w", p.where(), err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("estimate database size %s: psql printed %q", p.where(), out)
	}
	return n, nil
}

// CheckTools checks pg_dump runs where the dump will be taken.
func (p *Postgres) CheckTools(ctx context.Context, r host.Runner) error {
	t, err := p.target()
	if err != nil {
		return err
	}
	if _, err := output(ctx, r, t.versionArgv()...); err != nil {
		return fmt.Errorf("pg_dump is not available %s: install the PostgreSQL client there: %w", p.where(), err)
	}
	return nil
}

// where says where pg_dump runs, for errors; never includes a password.
func (p *Postgres) where() string {
	if p.Container != "" {
		return "in container " + p.Container
	}
	if dsn, _, err := splitDSN(p.DSN); err == nil {
		u, _ := url.Parse(dsn)
		return "on the host for " + u.Redacted()
	}
	return "on the host"
}

// oneArtifact finds the single artifact of kind among arts.
func oneArtifact(source string, arts []Artifact, kind Kind) (Artifact, error) {
	for _, a := range arts {
		if a.Kind == kind {
			return a, nil
		}
	}
	return Artifact{}, fmt.Errorf("source %s: %w: no %s artifact in the backup", source, ErrArtifactMissing, kind)
}

// ErrArtifactMissing is returned when a backup lacks what a restore needs.
var ErrArtifactMissing = errors.New("artifact missing")
