package deploy

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/blueshift-deploy/blueshift/backup"
	"github.com/blueshift-deploy/blueshift/deploy/compose"
	"github.com/blueshift-deploy/blueshift/deploy/container"
	"github.com/blueshift-deploy/blueshift/deploy/state"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// backupPlan is the pre-deployment backup of this environment: the
// database, media, the Docker state and the live release.
func (e *Engine) backupPlan(ctx context.Context, v string, current *state.Release, live version.Colour) (*backup.Plan, error) {
	b := e.Env.Backup
	plan := &backup.Plan{Runner: e.Host, Options: backup.Options{AppDir: e.Env.Path, Dir: e.BackupsDir(), App: e.App, Version: v, Logger: e.Logger}}
	if pg := b.Postgres; pg.Enabled() {
		src := &backup.Postgres{User: pg.User, Database: pg.Database, DSN: pg.DSN.Reveal()}
		if pg.Service != "" {
			var err error
			if src.User, src.Database, err = e.postgresLogin(ctx, pg); err != nil {
				return nil, err
			}
			id, err := e.serviceContainer(ctx, compose.SharedColour, pg.Service)
			switch {
			case err != nil && !live.Valid():
				// A first deployment: the database does not run yet.
				src = nil
			case err != nil:
				return nil, fmt.Errorf("environments.%s.backup.postgres.service: %w", e.Env.Name, err)
			default:
				src.Container, src.DSN = id, ""
			}
		}
		if src != nil {
			plan.Sources = append(plan.Sources, src)
		}
	}
	// A first deployment has no media volume yet: nothing to back up there.
	if m := b.Media; m.Path != "" || m.Volume != "" && live.Valid() {
		src := &backup.Media{Path: m.Path}
		if m.Volume != "" {
			src.Volume = e.App + "_" + m.Volume
			if strings.HasPrefix(m.Volume, e.App+"_") {
				src.Volume = m.Volume
			}
		}
		if src.Path != "" && !path.IsAbs(src.Path) {
			src.Path = path.Join(e.Env.Path, src.Path)
		}
		plan.Sources = append(plan.Sources, src)
	}
	if c := b.AppDump; len(c.Command) > 0 && live.Valid() {
		id, err := e.serviceContainer(ctx, string(live), c.Service)
		if err != nil {
			return nil, fmt.Errorf("environments.%s.backup.app_dump.service: %w", e.Env.Name, err)
		}
		plan.Sources = append(plan.Sources, &backup.Command{Artifact: "app-dump", File: "app-dump.json", Container: id, Argv: c.Command})
	}
	// Both colours' files: the backup copies those that exist (asking the
	// host here was a `test -e` per colour, twice a deployment).
	var files []string
	for _, c := range []version.Colour{version.Blue, version.Green} {
		files = append(files, e.colourCLI(c).Files[0])
	}
	plan.Sources = append(plan.Sources, &backup.DockerState{Filters: []string{"label=" + compose.LabelApp + "=" + e.App}, ComposeFiles: files})
	info := backup.ReleaseInfo{Colour: string(live)}
	if current != nil {
		info.Version, info.Commit, info.DeployedAt = current.Version, current.Commit, current.DeployedAt
	}
	plan.Sources = append(plan.Sources, &backup.Release{Info: info})
	return plan, nil
}

// postgresLogin is backup.postgres's user and database: as configured,
// else what the compose file gives the service, as the official postgres
// image reads it: the user from POSTGRES_USER (default "postgres"), the
// database from POSTGRES_DB (default the user). Before, the user defaulted
// to "postgres", a role that does not exist when POSTGRES_USER is set, and
// every deployment after the first failed its backup.
func (e *Engine) postgresLogin(ctx context.Context, pg BackupPostgres) (user, db string, err error) {
	user, db = pg.User, pg.Database
	if user != "" && db != "" {
		return user, db, nil
	}
	p, err := e.loadProject(ctx)
	if err != nil {
		return "", "", err
	}
	vars, err := e.hostEnvFile(ctx)
	if err != nil {
		return "", "", err
	}
	if user == "" {
		if user, _ = p.ServiceVariable(pg.Service, "POSTGRES_USER", vars); user == "" {
			user = "postgres"
		}
	}
	if db == "" {
		if db, _ = p.ServiceVariable(pg.Service, "POSTGRES_DB", vars); db == "" {
			db = user
		}
	}
	return user, db, nil
}

// serviceContainer finds the running container of service in colour
// ("shared" for the shared project).
func (e *Engine) serviceContainer(ctx context.Context, colour, service string) (string, error) {
	cs, err := container.Containers(ctx, e.Docker, e.App, colour)
	if err != nil {
		return "", err
	}
	for _, c := range cs {
		if c.Service == service && c.State == "running" {
			return c.ID, nil
		}
	}
	return "", fmt.Errorf("no running container of service %q in %s (is it started?)", service, colour)
}
