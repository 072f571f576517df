package deploy

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// migratePhase runs the migration and the after-start hooks in the next
// colour.
type migratePhase struct{ e *Engine }

func (migratePhase) Name() string { return PhaseMigrate }

func (p migratePhase) Run(ctx context.Context, d *Deployment) error {
	e := p.e
	h := e.Env.Hooks
	run := func(service string, argv []string, field string, limit time.Duration) error {
		d.Progress(fmt.Sprintf("%s: %s", service, strings.Join(argv, " ")))
		var out string
		err := bounded(ctx, e.field(field), limit, func(ctx context.Context) (err error) {
			out, err = e.execInColour(ctx, d.Next, service, argv)
			return err
		})
		if err != nil {
			d.Logs = tail(out, 30)
			return fmt.Errorf("%s in %s (%s): %w", strings.Join(argv, " "), service, d.Next, err)
		}
		return nil
	}
	if len(h.Migrate) > 0 {
		if err := run(h.MigrateService, h.Migrate, "hooks.migrate_timeout", h.MigrateTimeout); err != nil {
			return err
		}
	}
	for i, c := range h.AfterStart {
		if err := run(c.Service, c.Command, fmt.Sprintf("hooks.after_start[%d].timeout", i), c.Timeout); err != nil {
			return err
		}
	}
	return nil
}

func (p migratePhase) Plan(_ context.Context, d *Deployment) (string, error) {
	h := p.e.Env.Hooks
	var parts []string
	if len(h.Migrate) > 0 {
		parts = append(parts, h.MigrateService+": "+strings.Join(h.Migrate, " "))
	}
	for _, c := range h.AfterStart {
		parts = append(parts, c.Service+": "+strings.Join(c.Command, " "))
	}
	if len(parts) == 0 {
		return "nothing: no hooks configured", nil
	}
	return "run in " + string(d.Next) + ": " + strings.Join(parts, "; "), nil
}
