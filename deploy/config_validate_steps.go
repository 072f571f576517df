package deploy

import (
	"fmt"

	"github.com/blueshift-deploy/blueshift/deploy/internal/yamlconf"
)

// Validation of the steps around the switch: hooks, backup, tests,
// timeouts and registry.

// hooks checks hooks.*.
func (v *envCheck) hooks() {
	h := v.e.Hooks
	if len(h.Migrate) > 0 {
		v.knownService("hooks.migrate_service", h.MigrateService)
	}
	v.positive("hooks.migrate_timeout", h.MigrateTimeout)
	for i, hk := range h.AfterStart {
		f := fmt.Sprintf("hooks.after_start[%d]", i)
		v.knownService(f+".service", hk.Service)
		if len(hk.Command) == 0 {
			v.missingAt(f+".command", "required: the argv to run")
		}
		v.positive(f+".timeout", hk.Timeout)
	}
}

// backup checks backup.*.
func (v *envCheck) backup() {
	b := v.e.Backup
	v.atLeastOne("backup.keep", b.Keep)
	if b.Dir == "" {
		v.missingAt("backup.dir", "must not be empty (default backups)")
	}
	v.backupPostgres(b.Postgres)
	if b.Media.Volume != "" && b.Media.Path != "" {
		v.addAt("backup.media", "set either volume or path, not both")
	}
	if len(b.AppDump.Command) > 0 {
		v.knownService("backup.app_dump.service", b.AppDump.Service)
	}
	v.positive("backup.timeout", b.Timeout)
}

// backupPostgres checks backup.postgres.*.
func (v *envCheck) backupPostgres(pg BackupPostgres) {
	if pg.Service != "" && pg.DSN != "" {
		v.addAt("backup.postgres", "set either service (pg_dump in its container) or dsn (pg_dump on the host), not both")
	}
	if pg.Service == "" {
		return
	}
	v.knownService("backup.postgres.service", pg.Service)
}

// tests checks tests.*: the time bound and the names in tests.env.
func (v *envCheck) tests() {
	t := v.e.Tests
	v.positive("tests.timeout", t.Timeout)
	seen := map[string]bool{}
	for i, name := range t.Env {
		f := v.at(fmt.Sprintf("tests.env[%d]", i))
		switch {
		case !yamlconf.IsVarName(name):
			v.add(f, "%q is not a variable name (letters, digits, _): list the names of the variables the tests need", name)
		case seen[name]:
			v.add(f, "%s is listed twice", name)
		}
		seen[name] = true
	}
}

// timeouts checks timeouts.*.
func (v *envCheck) timeouts() {
	t := v.e.Timeouts
	v.positive("timeouts.deployment", t.Deployment)
	v.positive("timeouts.start", t.Start)
	v.positive("timeouts.drain", t.Drain)
	v.positive("timeouts.notify", t.Notify)
}

// registry checks registry.*.
func (v *envCheck) registry() {
	if r := v.e.Registry; r.Password != "" && r.Username == "" {
		v.missingAt("registry.username", "required with registry.password")
	}
}
