package bench

import (
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/compose"
)

const ms1 = time.Millisecond

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{[]time.Duration{7}, 7},
		{[]time.Duration{9, 1, 5}, 5},
		{[]time.Duration{4, 1, 3, 2}, 2}, // (2+3)/2 rounds down in integer ns
		{[]time.Duration{10 * ms1, 30 * ms1, 20 * ms1, 40 * ms1}, 25 * ms1},
		{[]time.Duration{5, 100, 1, 3, 2}, 3},
	} {
		in := append([]time.Duration(nil), c.in...)
		assert.Equal(t, c.want, Median(c.in), "Median(%v)", c.in)
		assert.Equal(t, in, c.in, "Median must not reorder its argument")
	}
}

func TestOverhead(t *testing.T) {
	s := time.Second
	assert.Equal(t, 2500*ms1, Overhead(10*s, 500*ms1, s, 6*s))
	assert.Equal(t, 4*s, Overhead(10*s, 0, 0, 6*s))
	assert.Equal(t, time.Duration(0), Overhead(5*s, 0, s, 6*s), "never negative")
}

func TestFinalStreak(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * 10 * ms1) }
	mk := func(vs ...string) []Sample {
		var out []Sample
		for i, v := range vs {
			out = append(out, Sample{At: at(i), Version: v, OK: v != "x"})
		}
		return out
	}
	// old, new, a failure, then old three times: the streak starts at 3.
	got, ok := FinalStreak(mk("a", "b", "x", "a", "a", "a"), "a", 3)
	require.True(t, ok)
	assert.Equal(t, at(3), got)
	// Not long enough yet.
	_, ok = FinalStreak(mk("a", "b", "a", "a"), "a", 3)
	assert.False(t, ok)
	// Ends with another version: no final streak.
	_, ok = FinalStreak(mk("a", "a", "a", "b"), "a", 1)
	assert.False(t, ok)
	// A failed answer that carries the version still breaks the streak.
	s := mk("a", "a", "a", "a")
	s[1].OK = false
	got, ok = FinalStreak(s, "a", 2)
	require.True(t, ok)
	assert.Equal(t, at(2), got)
	_, ok = FinalStreak(nil, "a", 0)
	assert.False(t, ok)
}

func TestPhaseMedians(t *testing.T) {
	runs := [][]PhaseTime{
		{{"lock", 10 * ms1}, {"start", 1000 * ms1}, {"verify", 5000 * ms1}},
		{{"lock", 30 * ms1}, {"start", 3000 * ms1}},
		{{"lock", 20 * ms1}, {"start", 2000 * ms1}, {"verify", 5002 * ms1}},
	}
	got := PhaseMedians(runs)
	want := []PhaseRow{
		{Name: "lock", Median: 20 * ms1, Min: 10 * ms1, Max: 30 * ms1, Runs: 3},
		{Name: "start", Median: 2000 * ms1, Min: 1000 * ms1, Max: 3000 * ms1, Runs: 3},
		{Name: "verify", Median: 5001 * ms1, Min: 5000 * ms1, Max: 5002 * ms1, Runs: 2},
	}
	assert.Equal(t, want, got)
}

func TestOutages(t *testing.T) {
	t0 := time.Unix(2000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	w := []window{{at(0), at(10 * time.Second)}, {at(10 * time.Second), at(20 * time.Second)}, {at(20 * time.Second), at(30 * time.Second)}}
	fails := []time.Time{at(12 * time.Second), at(3 * time.Second), at(11 * time.Second), at(3*time.Second + 400*ms1), at(25 * time.Second)}
	assert.Equal(t, []time.Duration{400 * ms1, time.Second, 0}, Outages(fails, w))
	assert.Equal(t, []time.Duration{0, 0, 0}, Outages(nil, w))
}

func TestOptionsFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	o, err := OptionsFromEnv(env(nil))
	require.NoError(t, err)
	o = o.withDefaults()
	assert.Equal(t, DefaultRuns, o.Runs)
	assert.Equal(t, DefaultRate, o.Rate)
	assert.Equal(t, DefaultDBMB, o.DBMB)
	assert.Equal(t, DefaultBackupRuns, o.BackupRuns)
	assert.NotEmpty(t, o.PostgresURL)

	o, err = OptionsFromEnv(env(map[string]string{RunsEnv: "7", RateEnv: "500", DBEnv: "1024", BackupRunsEnv: "1", PostgresEnv: "postgres://x@h/db"}))
	require.NoError(t, err)
	o = o.withDefaults()
	assert.Equal(t, 7, o.Runs)
	assert.Equal(t, 500, o.Rate)
	assert.Equal(t, 1024, o.DBMB)
	assert.Equal(t, 1, o.BackupRuns)
	assert.Equal(t, "postgres://x@h/db", o.PostgresURL)

	o, err = OptionsFromEnv(env(map[string]string{DBEnv: "0"}))
	require.NoError(t, err)
	assert.Negative(t, o.withDefaults().DBMB, "0 skips the backup part")

	for k, v := range map[string]string{RunsEnv: "0", RateEnv: "fast", DBEnv: "-1"} {
		_, err := OptionsFromEnv(env(map[string]string{k: v}))
		require.Error(t, err, "%s=%s", k, v)
		assert.True(t, strings.HasPrefix(err.Error(), k+"="), "error names the variable: %v", err)
	}
	assert.Equal(t, DefaultOut, OutputPath(env(nil)))
	assert.Equal(t, "/x.json", OutputPath(env(map[string]string{OutEnv: "/x.json"})))
}

// The commands the bench runs are data: pinned here.
func TestCommands(t *testing.T) {
	cli := compose.CLI{Binary: compose.V2, ProjectName: "shop-seed", Files: []string{"/w/seed.yml"}, Dir: "/w"}
	stop, up := SeedSwitch(cli)
	assert.Equal(t, "docker compose --project-name shop-seed --file /w/seed.yml stop", strings.Join(stop.Argv, " "))
	assert.Equal(t, "docker compose --project-name shop-seed --file /w/seed.yml up --detach --remove-orphans", strings.Join(up.Argv, " "))

	u, err := url.Parse("postgres://bench:s3cret@127.0.0.1:5432/db1?sslmode=disable")
	require.NoError(t, err)
	argv := PgDumpArgv(u)
	assert.Equal(t, []string{"pg_dump", "-Fc", "postgres://bench@127.0.0.1:5432/db1?sslmode=disable"}, argv)
	assert.NotContains(t, strings.Join(argv, " "), "s3cret", "the password goes through PGPASSWORD")
	assert.Equal(t, "s3cret", func() string { p, _ := u.User.Password(); return p }(), "PgDumpArgv must not modify its argument")
	assert.NotContains(t, redact(u.String()), "s3cret")

	conf := nginxConf("/p", "/p/up.conf", "shop_production_web", [2]int{18080, 18081}, 19000)
	for _, want := range []string{"include /p/up.conf;", "listen 127.0.0.1:18080;", "proxy_pass http://shop_production_web;", "listen 127.0.0.1:18081;", "proxy_pass http://127.0.0.1:19000;", "daemon off;"} {
		assert.Contains(t, conf, want)
	}
}

func TestMemTotal(t *testing.T) {
	assert.Equal(t, int64(24105), memTotalMB("MemTotal:       24683596 kB\nMemFree: 1 kB\n"))
	assert.Equal(t, int64(0), memTotalMB("nothing"))
	assert.Positive(t, rssBytes())
}

func sampleResults() *Results {
	s := time.Second
	return &Results{
		Machine:  Machine{Cores: 2, MemoryMB: 24105, Kernel: "6.1.0", Docker: "20.10.24", Compose: "compose 2.40.3", Proxy: "nginx/1.22.1", Go: "go1.26.0"},
		Settings: Settings{Runs: 5, Rate: 300, DBMB: 256, Monitor: 5 * s, Drain: s},
		Load: []LoadRow{
			{Scenario: ScenarioDeploy, Runs: 5, Sent: 15000, P50: 1100 * time.Microsecond, P99: 46 * ms1},
			{Scenario: ScenarioSeed, Runs: 5, Sent: 5000, Failed: 1900, Outage: 1288 * ms1, P50: 14 * ms1, P99: 1144 * ms1},
		},
		Phases:   []PhaseRow{{Name: "start", Median: 1498 * ms1}, {Name: "verify", Median: 5 * s}},
		Deploy:   Breakdown{Total: 10100 * ms1, Readiness: 22 * ms1, Waits: 6 * s, Overhead: 4078 * ms1},
		Rollback: RollbackTimes{Manual: 2209 * ms1, ManualRuns: []time.Duration{2209 * ms1, 2300 * ms1}, ManualPipeline: 4994 * ms1, Auto: 1780 * ms1, AutoRuns: []time.Duration{1780 * ms1}, AutoToOld: 153 * ms1},
		Backup:   &BackupResult{Runs: 3, DBBytes: 270 << 20, DumpBytes: 256 << 20, Tool: 4 * s, Raw: 3 * s, ToolHeapPeak: 3 << 20, ToolRSSPeak: 40 << 20, RawRSS: 12 << 20},
	}
}

func TestTable(t *testing.T) {
	tab := sampleResults().Table()
	for _, want := range []string{
		"2 cores, 24105 MiB RAM, kernel 6.1.0, Docker 20.10.24",
		"medians of 5 runs",
		"load 300 requests/s",
		"all scenarios",
		"20000     1900", // totals
		"overhead: 4078 ms = total 10.1 s - image pull 0 (images are local) - app readiness (health probes) 22.0 ms - configured waits (drain + monitor) 6000 ms",
		"2209 ms, 2300 ms",
		"pg_dump -Fc > file",
		"68", // 270 MiB / 4 s
		"90", // 270 MiB / 3 s
	} {
		assert.Contains(t, tab, want)
	}
	assert.NotContains(t, tab, "PROBLEM")
	r := sampleResults()
	r.Problems = []string{"backup: connect"}
	assert.Contains(t, r.Table(), "PROBLEM: backup: connect")
}

func TestWriteJSON(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.json")
	require.NoError(t, sampleResults().WriteJSON(p))
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	var back Results
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, 1288*ms1, back.Load[1].Outage)
	assert.Contains(t, string(b), `"outage_ns": 1288000000`)
	assert.Equal(t, 3, back.Backup.Runs)
}

func TestMBps(t *testing.T) {
	assert.InDelta(t, 64.0, MBps(256<<20, 4*time.Second), 1e-9)
	assert.Zero(t, MBps(1, 0))
}

func TestOnlyEnv(t *testing.T) {
	for _, v := range []string{"", OnlyDeploy, OnlyBackup} {
		o, err := OptionsFromEnv(func(k string) string {
			if k == OnlyEnv {
				return v
			}
			return ""
		})
		require.NoError(t, err)
		assert.Equal(t, v, o.Only)
	}
	_, err := OptionsFromEnv(func(k string) string {
		if k == OnlyEnv {
			return "everything"
		}
		return ""
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), OnlyEnv+`="everything"`)
}

// A backup-only run prints the machine and the backup, nothing empty.
func TestTableBackupOnly(t *testing.T) {
	r := sampleResults()
	r.Load, r.Phases, r.Rollback = nil, nil, RollbackTimes{}
	tab := r.Table()
	assert.Contains(t, tab, "BACKUP")
	for _, absent := range []string{"ZERO DOWNTIME", "DEPLOYMENT PHASES", "ROLLBACK", "overhead"} {
		assert.NotContains(t, tab, absent)
	}
}

func TestFirstFailure(t *testing.T) {
	t0 := time.Unix(3000, 0)
	_, ok := FirstFailure([]Sample{{At: t0, OK: true, Version: "a"}})
	assert.False(t, ok)
	got, ok := FirstFailure([]Sample{{At: t0, OK: true}, {At: t0.Add(ms1)}, {At: t0.Add(2 * ms1)}})
	require.True(t, ok)
	assert.Equal(t, t0.Add(ms1), got)
}

func TestZeroDowntimeVerdict(t *testing.T) {
	r := &Results{Load: []LoadRow{
		{Scenario: ScenarioDeploy, Sent: 100},
		{Scenario: ScenarioMonitor, Sent: 100, Failed: 12}, // on purpose
		{Scenario: ScenarioSeed, Sent: 100, Failed: 30},    // the baseline
	}}
	if err := r.ZeroDowntime(); err != nil {
		t.Fatalf("expected and baseline failures must not fail the verdict: %v", err)
	}
	r.Load = append(r.Load, LoadRow{Scenario: ScenarioManual, Sent: 100, Failed: 1})
	err := r.ZeroDowntime()
	if !errors.Is(err, ErrDroppedRequests) || !strings.Contains(err.Error(), "manual rollback: 1 of 100") {
		t.Fatalf("a dropped request in a rollback must fail the verdict: %v", err)
	}
}

// TestFirstAnswer: the rollback's "old version answers" moment over SSH is
// the first answer from it sent after the rollback started, not the end
// of a streak.
func TestFirstAnswer(t *testing.T) {
	t0 := time.Unix(4000, 0)
	s := []Sample{
		{At: t0, OK: true, Version: "a"},              // before the start
		{At: t0.Add(ms1), OK: true, Version: "b"},     // the new version
		{At: t0.Add(2 * ms1)},                         // a failure
		{At: t0.Add(3 * ms1), OK: true, Version: "a"}, // the first answer
		{At: t0.Add(4 * ms1), OK: true, Version: "b"},
	}
	got, ok := FirstAnswer(s, "a", t0.Add(ms1))
	require.True(t, ok)
	assert.Equal(t, t0.Add(3*ms1), got)
	_, ok = FirstAnswer(s, "c", t0)
	assert.False(t, ok)
}

// TestScenariosEnv: the SSH scenario takes minutes, so the default run
// (`go tool mage bench` in .ci/run) leaves it out; BLUESHIFT_BENCH_SCENARIOS
// picks it.
func TestScenariosEnv(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	o, err := OptionsFromEnv(env(nil))
	require.NoError(t, err)
	assert.True(t, o.runs(ScenariosLocal))
	assert.True(t, o.runs(ScenariosBackup))
	assert.False(t, o.runs(ScenariosSSH), "not in the default run")

	o, err = OptionsFromEnv(env(map[string]string{OnlyEnv: OnlyDeploy}))
	require.NoError(t, err)
	assert.True(t, o.runs(ScenariosLocal))
	assert.False(t, o.runs(ScenariosBackup))

	o, err = OptionsFromEnv(env(map[string]string{ScenariosEnv: "ssh, local", SSHRunsEnv: "2"}))
	require.NoError(t, err)
	assert.True(t, o.runs(ScenariosSSH))
	assert.True(t, o.runs(ScenariosLocal))
	assert.False(t, o.runs(ScenariosBackup))
	assert.Equal(t, 2, o.SSHRuns)

	assert.False(t, o.runs(ScenariosThebot), "not in the default run")
	o, err = OptionsFromEnv(env(map[string]string{ScenariosEnv: "thebot"}))
	require.NoError(t, err)
	assert.True(t, o.runs(ScenariosThebot))
	assert.False(t, o.runs(ScenariosLocal))

	_, err = OptionsFromEnv(env(map[string]string{ScenariosEnv: "ssh,remote"}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), ScenariosEnv+`="ssh,remote": "remote" is not a scenario`)
}

// TestTableSSH: the SSH figures are printed next to the local ones.
func TestTableSSH(t *testing.T) {
	r := sampleResults()
	r.Deploy.Commands, r.Rollback.ManualCommands, r.Rollback.ManualFirstAnswer = 231, 121, 800*ms1
	r.SSH = &SSHResult{
		LoginDelay: 100 * ms1, LinkDelay: 50 * ms1, SessionCost: 310 * ms1, Runs: 1,
		Deploy: SSHRun{Total: 90 * time.Second, Connect: 900 * ms1, Readiness: 3 * time.Second, Waits: 6 * time.Second,
			Overhead: 81 * time.Second, Commands: 233, PhaseCommands: 231,
			Phases: []PhaseCommands{{Name: "lock", Duration: 4 * time.Second, Commands: 9, CommandTime: 3900 * ms1}}},
		Rollback: SSHRun{Total: 40 * time.Second, Commands: 123, PhaseCommands: 121, FirstOldAnswer: 12 * time.Second, ToOld: 12500 * ms1},
	}
	tab := r.Table()
	for _, want := range []string{
		"each session starts 100 ms late, link +50.0 ms each way; one command costs 310 ms",
		"remote commands per deployment (phases; all)            231      231; 233",
		"remote commands per rollback (phases; all)              121      121; 123",
		"rollback: start to first answer from the old version    800 ms   12.0 s",
		"SSH overhead: 81.0 s = total 90.0 s - app readiness (health probes) 3000 ms - configured waits 6000 ms (connecting took 900 ms)",
		"lock                            4000 ms  9                3900 ms",
	} {
		assert.Contains(t, tab, want)
	}
	r.Load = append(r.Load, LoadRow{Scenario: ScenarioSSHRollback, Sent: 10, Failed: 1})
	assert.ErrorIs(t, r.ZeroDowntime(), ErrDroppedRequests, "a request dropped over SSH fails the verdict too")
}

// TestTableThebot: the thebot scenario's load, phases and build times are
// printed, and a request it dropped fails the verdict.
func TestTableThebot(t *testing.T) {
	r := sampleResults()
	require.NoError(t, r.ZeroDowntime())
	r.Thebot = &ThebotResult{Base: 300 * ms1, Build: 2100 * ms1, Push: 7900 * ms1, Total: 75 * time.Second,
		Phases: []PhaseRow{{Name: "test", Median: 21 * time.Second}},
		Load:   []LoadRow{{Scenario: ScenarioThebot + ": GET / at 150/s", Sent: 11000, P50: 3 * ms1, P99: 40 * ms1}}}
	tab := r.Table()
	for _, want := range []string{
		"thebot v1.0.0 -> v1.0.1: GET / at 150/s  11000     0       3.0 ms  40.0 ms",
		"test                             21.0 s",
		"total                            75.0 s",
		"thebot images, warm (base image cached): base 300 ms, docker builds 2100 ms, push 7900 ms",
	} {
		assert.Contains(t, tab, want)
	}
	require.NoError(t, r.ZeroDowntime())
	r.Thebot.Load[0].Failed = 1
	assert.ErrorIs(t, r.ZeroDowntime(), ErrDroppedRequests, "a request thebot's deployment dropped fails the verdict")
}

// TestReadiness: over SSH the health phase writes the in-flight marker
// (seven commands before issue 17's reductions, 2.4 s over the bench's
// link); that is blueshift's overhead, not the app's readiness.
func TestReadiness(t *testing.T) {
	assert.Equal(t, 200*ms1, Readiness(deploy.PhaseResult{Duration: 2600 * ms1, RemoteCommands: 7, RemoteTime: 2400 * ms1}))
	assert.Equal(t, 26*ms1, Readiness(deploy.PhaseResult{Duration: 26 * ms1}))
}
