package deploy

import (
	"context"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/releasenotes"
)

// releaseNotes writes the notes between the previous release's commit and
// the one deployed, from the git repository blueshift runs in. Notes are a
// courtesy: without git history they are left empty, never an error.
func (e *Engine) releaseNotes(ctx context.Context, d *Deployment) {
	from := ""
	if d.Previous != nil {
		from = d.Previous.Commit
	}
	to := d.Commit
	if to == "" {
		return
	}
	n, err := releasenotes.Generate(ctx, host.NewLocal(), releasenotes.Options{Dir: e.composeFileDir, From: from, To: to})
	if err != nil {
		e.logger.Debug("release notes unavailable", "err", err)
		return
	}
	d.Notes, d.NotesShort = n.Markdown(), n.Short(1500)
}
