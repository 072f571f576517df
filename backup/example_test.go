package backup_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/blueshift-deploy/blueshift/backup"
	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// A pre-deploy backup, as a deployment's backup phase takes it. In
// production the sources would be a Postgres in the app's database
// container, the media volume and a DockerState, and the Runner an SSH host.
func ExamplePlan_Create() {
	ctx := context.Background()
	app, _ := os.MkdirTemp("", "shop")
	defer os.RemoveAll(app)
	_ = os.Mkdir(app+"/media", 0o755)
	_ = os.WriteFile(app+"/media/logo.png", []byte("png"), 0o644)

	plan := &backup.Plan{
		Options: backup.Options{
			AppDir:  app,
			Version: "v1.0.1",
			Now:     func() time.Time { return time.Date(2024, 12, 27, 18, 30, 50, 0, time.UTC) },
		},
		Runner: host.NewLocal(),
		Sources: []backup.Source{
			// &backup.Postgres{Container: "shop-db-1", User: "shop", Database: "shop"},
			&backup.Media{Path: app + "/media"},
			&backup.Release{Info: backup.ReleaseInfo{Version: "v1.0.0", Commit: "4f2a9c1", Colour: "blue"}},
		},
	}
	res, err := plan.Create(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.ID)
	for _, a := range res.Manifest.Artifacts {
		fmt.Println(a.Source, a.Path, a.Kind)
	}
	if err := backup.Verify(ctx, plan.Runner, res.Path); err != nil {
		fmt.Println(err)
	}
	infos, _ := backup.List(ctx, plan.Runner, plan.BackupsDir())
	fmt.Println(infos[0].ID, "complete:", infos[0].Complete, "verified:", infos[0].Verified)
	// Output:
	// pre-deploy-v1.0.1-20241227_183050
	// media media.tar.gz tar.gz
	// release release.json json
	// pre-deploy-v1.0.1-20241227_183050 complete: true verified: true
}

// A restore refuses to run until a person confirms it with the backup's ID.
func ExamplePlan_Restore() {
	plan := &backup.Plan{Options: backup.Options{AppDir: "/srv/shop"}, Runner: host.NewLocal(),
		Sources: []backup.Source{&backup.Postgres{Container: "shop-db-1"}}}
	id := "pre-deploy-v1.0.1-20241227_183050"
	_, err := plan.Restore(context.Background(), backup.RestoreOptions{ID: id, Confirm: backup.ConfirmedByEnv(id)})
	fmt.Println(errors.Is(err, backup.ErrNotConfirmed))
	fmt.Println(err)
	// Output:
	// true
	// restore pre-deploy-v1.0.1-20241227_183050: restore not confirmed: it replaces live data; set BLUESHIFT_CONFIRM_RESTORE=pre-deploy-v1.0.1-20241227_183050 or pass -confirm
}

// Keep the ten newest complete backups and the one of the rollback point.
func ExamplePrune() {
	dir, _ := os.MkdirTemp("", "backups")
	defer os.RemoveAll(dir)
	pruned, err := backup.Prune(context.Background(), host.NewLocal(), dir, backup.DefaultKeep, []string{"pre-deploy-v1.0.0-20241201_120000"})
	fmt.Println(pruned, err)
	// Output:
	// [] <nil>
}
