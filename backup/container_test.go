package backup

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// fakeDocker is a docker executable that checks docker exec's flags and
// container name, logs its argv and runs the command on this machine (so
// pg_dump and pg_restore reach the real PostgreSQL as in a container).
const fakeDocker = `printf '%s\n' "$*" >>"$FAKE_DOCKER_LOG"
[ "$1" = exec ] || { echo "fake docker: unsupported command $1" >&2; exit 2; }
shift
while :; do
	case "$1" in
	-i) shift ;;
	-e) [ -n "$(printenv "$2")" ] || { echo "fake docker: -e $2 is not set in docker's environment" >&2; exit 3; }; shift 2 ;;
	-*) echo "fake docker: unknown flag $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ "$1" = "$FAKE_CONTAINER" ] || { echo "Error response from daemon: No such container: $1" >&2; exit 1; }
shift
exec "$@"
`

// TestContainerMode runs pg_dump and pg_restore through docker exec (a
// fake docker in front of the real PostgreSQL) and restores row-for-row.
func TestContainerMode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := testDB(t)
	seedDB(t, dsn, 20, 500)
	want := snapshotDB(t, dsn)

	bin := t.TempDir()
	writeScript(t, bin, "docker", fakeDocker)
	log := filepath.Join(bin, "docker.log")
	r := &fakeBinRunner{local: host.NewLocal(), dir: bin,
		env: []string{"FAKE_DOCKER_LOG=" + log, "FAKE_CONTAINER=shop-db-1", "PGHOST=127.0.0.1", "PGPORT=5432"}}
	pg := &Postgres{Container: "shop-db-1", User: "blueshift", Database: dbName(dsn), Password: "blueshift"}
	plan := &Plan{Options: Options{AppDir: t.TempDir(), Version: "v2.0.0"}, Runner: r, Sources: []Source{pg}}

	if err := plan.CheckTools(ctx); err != nil {
		t.Fatalf("CheckTools: %v", err)
	}
	if n, _, err := plan.Estimate(ctx); err != nil || n < 100000 {
		t.Fatalf("Estimate = %d, %v: want the database size", n, err)
	}
	res, err := plan.Create(ctx)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if a := res.Manifest.Artifacts[0]; a.Container != "shop-db-1" || a.Kind != KindPostgres {
		t.Errorf("artifact %+v: want the container recorded for pg_restore", a)
	}
	if err := Verify(ctx, r, res.Path); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	mutateDB(t, dsn)
	if _, err := plan.Restore(ctx, RestoreOptions{ID: res.ID, Confirm: true}); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if got := snapshotDB(t, dsn); got != want {
		t.Errorf("database after restore differs")
	}

	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	db := dbName(dsn)
	for _, line := range []string{
		"exec shop-db-1 pg_dump --version",
		"exec -e PGPASSWORD shop-db-1 psql --no-psqlrc --tuples-only --no-align --quiet --command=" + sizeQuery + " --no-password --username=blueshift --dbname=" + db,
		"exec -e PGPASSWORD shop-db-1 pg_dump --format=custom --no-password --username=blueshift --dbname=" + db,
		"exec -i shop-db-1 pg_restore --list",
		"exec -i -e PGPASSWORD shop-db-1 pg_restore --clean --if-exists --single-transaction --exit-on-error --no-password --username=blueshift --dbname=" + db,
	} {
		if !slices.Contains(strings.Split(string(data), "\n"), line) {
			t.Errorf("docker was not called as %q; calls:\n%s", line, data)
		}
	}
	if strings.Contains(string(data), "PGPASSWORD=") {
		t.Errorf("password passed in docker's argv:\n%s", data)
	}

	// A wrong container name fails clearly and leaves no backup.
	bad := &Plan{Options: Options{Dir: plan.BackupsDir(), Version: "v2.0.1"}, Runner: r,
		Sources: []Source{&Postgres{Container: "nope", User: "blueshift", Database: db}}}
	if _, err := bad.Create(ctx); err == nil || !strings.Contains(err.Error(), "No such container: nope") || !strings.Contains(err.Error(), "in container nope") {
		t.Errorf("Create with a missing container = %v", err)
	}
	if ids := completeBackups(t, r, plan.BackupsDir()); len(ids) != 2 {
		t.Errorf("complete backups %v: want only the backup and its safety backup", ids)
	}
}
