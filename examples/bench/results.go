package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Results is everything one Run measured; Table renders it, WriteJSON saves
// it. Durations are nanoseconds in JSON.
type Results struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Machine  Machine   `json:"machine"`
	Settings Settings  `json:"settings"`
	// Load has one row per scenario run under load.
	Load []LoadRow `json:"load"`
	// Phases are the deployment phases' medians over Settings.Runs full
	// deployments; Deploy splits their total.
	Phases []PhaseRow `json:"phases"`
	Deploy Breakdown  `json:"deploy"`
	// Rollback holds the rollback timings.
	Rollback RollbackTimes `json:"rollback"`
	// SSH is nil when the SSH scenario did not run.
	SSH *SSHResult `json:"ssh,omitempty"`
	// Thebot is nil when the thebot scenario did not run.
	Thebot *ThebotResult `json:"thebot,omitempty"`
	// Backup is nil when the backup part did not run.
	Backup *BackupResult `json:"backup,omitempty"`
	// Problems lists the parts that failed, with why.
	Problems []string `json:"problems,omitempty"`
}

// Machine describes where the numbers come from.
type Machine struct {
	Cores    int    `json:"cores"`
	MemoryMB int64  `json:"memory_mb"`
	Kernel   string `json:"kernel"`
	Docker   string `json:"docker"`
	Compose  string `json:"compose"`
	Proxy    string `json:"proxy"`
	Postgres string `json:"postgres,omitempty"`
	Go       string `json:"go"`
}

// Settings are the knobs a run used.
type Settings struct {
	Runs    int           `json:"runs"`
	Rate    int           `json:"rate"`
	DBMB    int           `json:"db_mb"`
	Monitor time.Duration `json:"monitor_window_ns"`
	Drain   time.Duration `json:"drain_ns"`
}

// LoadRow is the load sent through the proxy during one scenario (all its
// runs).
type LoadRow struct {
	Scenario string        `json:"scenario"`
	Runs     int           `json:"runs"`
	Sent     int           `json:"sent"`
	Failed   int           `json:"failed"`
	Rate     float64       `json:"rate"`
	P50      time.Duration `json:"p50_ns"`
	P99      time.Duration `json:"p99_ns"`
	// Outage is the median over runs of the time between the first and
	// the last failed request of a run.
	Outage time.Duration `json:"outage_ns"`
	Errors []string      `json:"errors,omitempty"`
}

// PhaseRow is one phase's wall time over the deployments.
type PhaseRow struct {
	Name   string        `json:"name"`
	Median time.Duration `json:"median_ns"`
	Min    time.Duration `json:"min_ns"`
	Max    time.Duration `json:"max_ns"`
	Runs   int           `json:"runs"`
}

// Breakdown splits a deployment's median wall time (each term a median
// over the runs).
type Breakdown struct {
	Total     time.Duration `json:"total_ns"`
	Pull      time.Duration `json:"pull_ns"`
	Readiness time.Duration `json:"readiness_ns"` // the health phase minus its commands (Readiness)
	Waits     time.Duration `json:"waits_ns"`     // drain + monitor window
	Overhead  time.Duration `json:"overhead_ns"`
	// Commands is the commands a deployment ran on the host (median; the
	// sum of its report's per-phase counts).
	Commands int `json:"remote_commands"`
}

// RollbackTimes are medians over runs, with every run's value.
type RollbackTimes struct {
	// Manual: from the rollback pipeline's start to the old version
	// answering every request through the proxy; ManualPipeline: the
	// pipeline's wall time (it goes on draining and stopping after that).
	Manual         time.Duration   `json:"manual_to_old_ns"`
	ManualRuns     []time.Duration `json:"manual_to_old_runs_ns"`
	ManualPipeline time.Duration   `json:"manual_pipeline_ns"`
	// ManualFirstAnswer: from the rollback pipeline's start to the first
	// answer from the old version through the proxy (when that request
	// was sent). ManualCommands: the commands a rollback ran on the host.
	ManualFirstAnswer time.Duration `json:"manual_first_old_answer_ns"`
	ManualCommands    int           `json:"manual_remote_commands"`
	// Warm...: the same for a rollback to a warm standby (a deployment with
	// standby on just before it).
	Warm            time.Duration   `json:"warm_to_old_ns,omitempty"`
	WarmRuns        []time.Duration `json:"warm_to_old_runs_ns,omitempty"`
	WarmPipeline    time.Duration   `json:"warm_pipeline_ns,omitempty"`
	WarmFirstAnswer time.Duration   `json:"warm_first_old_answer_ns,omitempty"`
	WarmCommands    int             `json:"warm_remote_commands,omitempty"`
	// Auto: from the failure injected after the switch to the rollback's
	// last undo step finished; AutoToOld: to the old version answering
	// every request.
	Auto      time.Duration   `json:"auto_failure_to_rolled_back_ns"`
	AutoRuns  []time.Duration `json:"auto_failure_to_rolled_back_runs_ns"`
	AutoToOld time.Duration   `json:"auto_failure_to_old_ns"`
	// Monitor: with the app failing after the switch (FAIL_AFTER), from its
	// first failed answer to the old version answering every request.
	Monitor time.Duration `json:"monitor_failure_to_old_ns"`
}

// SSHResult is the SSH scenario: the demo app deployed and rolled back
// through a real sshd whose sessions take LoginDelay to start, over a link
// adding LinkDelay each way. Figures are medians over Runs.
type SSHResult struct {
	LoginDelay time.Duration `json:"login_delay_ns"`
	LinkDelay  time.Duration `json:"link_delay_ns"`
	// SessionCost is one command's cost over the link (`true`, median of
	// a few), what every remote command costs at least.
	SessionCost time.Duration `json:"session_cost_ns"`
	Runs        int           `json:"runs"`
	Deploy      SSHRun        `json:"deploy"`
	Rollback    SSHRun        `json:"rollback"`
	// WarmRollback is a rollback to a warm standby (a deployment with
	// standby on just before it).
	WarmRollback SSHRun `json:"warm_rollback"`
}

// SSHRun is one command over SSH (a deployment or a rollback), timed as
// its user waits for it: from before connecting to the pipeline's end.
type SSHRun struct {
	// Total: from before connecting to the end of the pipeline; Connect:
	// to the engine opened (SSH handshake, compose detection).
	Total   time.Duration `json:"total_ns"`
	Connect time.Duration `json:"connect_ns"`
	// Readiness is the health phase minus its commands (Readiness: waiting
	// for the app to answer, its probes going over the link), Waits the configured drain and monitor
	// window; Overhead = Total - Readiness - Waits (the images are
	// local: no pull). Deployments only.
	Readiness time.Duration `json:"readiness_ns,omitempty"`
	Waits     time.Duration `json:"waits_ns,omitempty"`
	Overhead  time.Duration `json:"overhead_ns,omitempty"`
	// Commands: every command run on the host, Open's included;
	// PhaseCommands: those the report counts in its phases.
	Commands      int `json:"remote_commands"`
	PhaseCommands int `json:"phase_remote_commands"`
	// FirstOldAnswer (rollbacks): from before connecting to the first
	// answer from the old version through nginx (when that request was
	// sent); ToOld: to the old version answering every request.
	FirstOldAnswer time.Duration `json:"first_old_answer_ns,omitempty"`
	ToOld          time.Duration `json:"to_old_ns,omitempty"`
	// Phases are the last run's phases with their commands.
	Phases []PhaseCommands `json:"phases"`
}

// PhaseCommands is one phase (or "undo <phase>") of a run with the
// commands it ran on the host and their summed time.
type PhaseCommands struct {
	Name        string        `json:"name"`
	Duration    time.Duration `json:"duration_ns"`
	Commands    int           `json:"remote_commands"`
	CommandTime time.Duration `json:"remote_time_ns"`
}

// BackupResult compares the backup package with plain pg_dump on one
// database.
type BackupResult struct {
	DBBytes   int64 `json:"db_bytes"` // pg_database_size
	DumpBytes int64 `json:"dump_bytes"`
	// Tool (backup.Plan.Create: dump, checksum, manifest, fsync) and Raw
	// (pg_dump -Fc > file) are medians over Runs runs of each.
	Runs     int             `json:"runs"`
	Tool     time.Duration   `json:"tool_ns"`
	Raw      time.Duration   `json:"raw_ns"`
	ToolRuns []time.Duration `json:"tool_runs_ns"`
	RawRuns  []time.Duration `json:"raw_runs_ns"`
	// ToolHeapPeak and ToolRSSPeak are blueshift's Go heap and resident
	// set sampled every 5 ms during Create; RawRSS is pg_dump's own peak
	// resident set (the same pg_dump runs under blueshift).
	ToolHeapPeak int64 `json:"tool_heap_peak_bytes"`
	ToolRSSPeak  int64 `json:"tool_rss_peak_bytes"`
	RawRSS       int64 `json:"pg_dump_maxrss_bytes"`

	server string // the PostgreSQL server's version
}

// MBps is a database size over a duration, in MiB/s.
func MBps(bytes int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(bytes) / (1 << 20) / d.Seconds()
}

// WriteJSON writes r, indented, to path.
func (r *Results) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write bench results: %w", err)
	}
	return nil
}

// ms formats d as milliseconds, or seconds from 10 s on.
func ms(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= 100*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// Table renders r as the one table `go tool mage bench` prints.
func (r *Results) Table() string {
	var b strings.Builder
	r.WriteTable(&b)
	return b.String()
}

// WriteTable writes the table of r to w.
func (r *Results) WriteTable(w io.Writer) {
	m, s := r.Machine, r.Settings
	parts := []string{fmt.Sprintf("%d cores", m.Cores), fmt.Sprintf("%d MiB RAM", m.MemoryMB)}
	for _, f := range []struct{ label, v string }{
		{"kernel ", m.Kernel}, {"Docker ", m.Docker}, {"", m.Compose}, {"proxy ", m.Proxy}, {"PostgreSQL ", m.Postgres}, {"", m.Go},
	} {
		if f.v != "" {
			parts = append(parts, f.label+f.v)
		}
	}
	fmt.Fprintf(w, "blueshift bench: %s\n", strings.Join(parts, ", "))
	if len(r.Load) > 0 {
		fmt.Fprintf(w, "medians of %d runs per scenario; load %d requests/s through the proxy; monitor window %s, drain %s\n",
			s.Runs, s.Rate, s.Monitor, s.Drain)
	}

	var tw *tabwriter.Writer
	if len(r.Load) > 0 {
		fmt.Fprintf(w, "\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "ZERO DOWNTIME\truns\trequests\tfailed\toutage\tp50\tp99\n")
		total, failed := 0, 0
		for _, l := range r.Load {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t%s\n", l.Scenario, l.Runs, l.Sent, l.Failed, ms(l.Outage), ms(l.P50), ms(l.P99))
			total += l.Sent
			failed += l.Failed
		}
		fmt.Fprintf(tw, "all scenarios\t\t%d\t%d\n", total, failed)
		tw.Flush()

	}

	if len(r.Phases) > 0 {
		fmt.Fprintf(w, "\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "DEPLOYMENT PHASES\tmedian\tmin\tmax\n")
		for _, p := range r.Phases {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Name, ms(p.Median), ms(p.Min), ms(p.Max))
		}
		d := r.Deploy
		fmt.Fprintf(tw, "total\t%s\n", ms(d.Total))
		tw.Flush()
		pull := ms(d.Pull)
		if d.Pull == 0 {
			pull = "0 (images are local)"
		}
		fmt.Fprintf(w, "overhead: %s = total %s - image pull %s - app readiness (health probes) %s - configured waits (drain + monitor) %s\n",
			ms(d.Overhead), ms(d.Total), pull, ms(d.Readiness), ms(d.Waits))

	}

	if rb := r.Rollback; rb.Manual > 0 || rb.Auto > 0 || rb.Monitor > 0 {
		fmt.Fprintf(w, "\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "ROLLBACK\tmedian\truns\n")
		fmt.Fprintf(tw, "manual rollback: start to old version answering every request\t%s\t%s\n", ms(rb.Manual), msList(rb.ManualRuns))
		fmt.Fprintf(tw, "manual rollback: whole pipeline (incl. drain, stop)\t%s\n", ms(rb.ManualPipeline))
		if rb.Warm > 0 {
			fmt.Fprintf(tw, "rollback to a warm standby: start to old version answering every request\t%s\t%s\n", ms(rb.Warm), msList(rb.WarmRuns))
			fmt.Fprintf(tw, "rollback to a warm standby: start to first answer from the old version\t%s\n", ms(rb.WarmFirstAnswer))
		}
		fmt.Fprintf(tw, "failure after switch: injected failure to rollback completed\t%s\t%s\n", ms(rb.Auto), msList(rb.AutoRuns))
		fmt.Fprintf(tw, "failure after switch: injected failure to old version answering\t%s\n", ms(rb.AutoToOld))
		if rb.Monitor > 0 {
			fmt.Fprintf(tw, "app failing after switch: first error to old version answering (monitor)\t%s\t1\n", ms(rb.Monitor))
		}
		tw.Flush()
	}

	if sr := r.SSH; sr != nil {
		r.writeSSHTable(w, sr)
	}

	if tr := r.Thebot; tr != nil {
		writeThebotTable(w, tr)
	}

	if bk := r.Backup; bk != nil {
		fmt.Fprintf(w, "\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "BACKUP (PostgreSQL database %s, dump %s; medians of %d runs)\ttime\tMiB/s\tmemory\n", mib(bk.DBBytes), mib(bk.DumpBytes), bk.Runs)
		fmt.Fprintf(tw, "blueshift backup.Plan (pg_dump, sha256, manifest, fsync)\t%s\t%.0f\tGo heap peak %s, RSS peak %s\n",
			ms(bk.Tool), MBps(bk.DBBytes, bk.Tool), mib(bk.ToolHeapPeak), mib(bk.ToolRSSPeak))
		fmt.Fprintf(tw, "pg_dump -Fc > file\t%s\t%.0f\tpg_dump max RSS %s\n", ms(bk.Raw), MBps(bk.DBBytes, bk.Raw), mib(bk.RawRSS))
		tw.Flush()
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "PROBLEM: %s\n", p)
	}
}

// writeThebotTable writes the thebot scenario: its load, the deployment's
// phases and how long the images took to build.
func writeThebotTable(w io.Writer, tr *ThebotResult) {
	fmt.Fprintf(w, "\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "THEBOT (examples/thebot)\trequests\tfailed\tp50\tp99\n")
	for _, l := range tr.Load {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", l.Scenario, l.Sent, l.Failed, ms(l.P50), ms(l.P99))
	}
	tw.Flush()
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "thebot v1.0.1 deployment phases\ttime\n")
	for _, p := range tr.Phases {
		fmt.Fprintf(tw, "%s\t%s\n", p.Name, ms(p.Median))
	}
	fmt.Fprintf(tw, "total\t%s\n", ms(tr.Total))
	tw.Flush()
	build := "warm (base image cached)"
	if tr.BaseBuilt {
		build = "cold (base image built)"
	}
	fmt.Fprintf(w, "thebot images, %s: base %s, docker builds %s, push %s\n", build, ms(tr.Base), ms(tr.Build), ms(tr.Push))
}

// writeSSHTable writes the SSH scenario next to the local figures.
func (r *Results) writeSSHTable(w io.Writer, sr *SSHResult) {
	fmt.Fprintf(w, "\nSSH: sshd on 127.0.0.1, each session starts %s late, link +%s each way; one command costs %s; medians of %d run(s)\n",
		ms(sr.LoginDelay), ms(sr.LinkDelay), ms(sr.SessionCost), sr.Runs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	local := func(d time.Duration) string {
		if d == 0 {
			return "-"
		}
		return ms(d)
	}
	localN := func(n int) string {
		if n == 0 {
			return "-"
		}
		return fmt.Sprint(n)
	}
	d, rb := sr.Deploy, sr.Rollback
	fmt.Fprintf(tw, "\tlocal\tSSH\n")
	fmt.Fprintf(tw, "remote commands per deployment (phases; all)\t%s\t%d; %d\n", localN(r.Deploy.Commands), d.PhaseCommands, d.Commands)
	fmt.Fprintf(tw, "remote commands per rollback (phases; all)\t%s\t%d; %d\n", localN(r.Rollback.ManualCommands), rb.PhaseCommands, rb.Commands)
	fmt.Fprintf(tw, "deployment: total (SSH: from connecting)\t%s\t%s\n", local(r.Deploy.Total), ms(d.Total))
	fmt.Fprintf(tw, "deployment: blueshift's overhead\t%s\t%s\n", local(r.Deploy.Overhead), ms(d.Overhead))
	fmt.Fprintf(tw, "rollback: start to first answer from the old version\t%s\t%s\n", local(r.Rollback.ManualFirstAnswer), ms(rb.FirstOldAnswer))
	fmt.Fprintf(tw, "rollback: start to old version answering every request\t%s\t%s\n", local(r.Rollback.Manual), ms(rb.ToOld))
	fmt.Fprintf(tw, "rollback: whole command\t%s\t%s\n", local(r.Rollback.ManualPipeline), ms(rb.Total))
	if wr := sr.WarmRollback; wr.Total > 0 || r.Rollback.Warm > 0 {
		fmt.Fprintf(tw, "warm-standby rollback: remote commands (phases; all)\t%s\t%d; %d\n", localN(r.Rollback.WarmCommands), wr.PhaseCommands, wr.Commands)
		fmt.Fprintf(tw, "warm-standby rollback: start to first answer from the old version\t%s\t%s\n", local(r.Rollback.WarmFirstAnswer), ms(wr.FirstOldAnswer))
		fmt.Fprintf(tw, "warm-standby rollback: start to old version answering every request\t%s\t%s\n", local(r.Rollback.Warm), ms(wr.ToOld))
		fmt.Fprintf(tw, "warm-standby rollback: whole command\t%s\t%s\n", local(r.Rollback.WarmPipeline), ms(wr.Total))
	}
	tw.Flush()
	fmt.Fprintf(w, "SSH overhead: %s = total %s - app readiness (health probes) %s - configured waits %s (connecting took %s)\n",
		ms(d.Overhead), ms(d.Total), ms(d.Readiness), ms(d.Waits), ms(d.Connect))
	for _, run := range []struct {
		name   string
		phases []PhaseCommands
	}{{"DEPLOYMENT OVER SSH", d.Phases}, {"ROLLBACK OVER SSH", rb.Phases}, {"WARM-STANDBY ROLLBACK OVER SSH", sr.WarmRollback.Phases}} {
		if len(run.phases) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "%s (last run)\ttime\tremote commands\ttheir time\n", run.name)
		for _, p := range run.phases {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", p.Name, ms(p.Duration), p.Commands, ms(p.CommandTime))
		}
		tw.Flush()
	}
}

func msList(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = ms(d)
	}
	return strings.Join(parts, ", ")
}

// ErrDroppedRequests is returned by ZeroDowntime when a blueshift scenario
// that must not drop requests did.
var ErrDroppedRequests = errors.New("blueshift dropped requests")

// ZeroDowntime checks the promise the bench measures: a deployment, a manual
// rollback and an automatic rollback after the switch, locally or over
// SSH, fail no request. (The
// monitor scenario's release breaks itself on purpose; the seed's method is
// the baseline.)
func (r *Results) ZeroDowntime() error {
	var bad []string
	rows := r.Load
	if r.Thebot != nil {
		rows = append(slices.Clone(rows), r.Thebot.Load...)
	}
	for _, row := range rows {
		if strings.HasPrefix(row.Scenario, ScenarioThebot) && row.Failed > 0 {
			bad = append(bad, fmt.Sprintf("%s: %d of %d failed", row.Scenario, row.Failed, row.Sent))
		}
		switch row.Scenario {
		case ScenarioDeploy, ScenarioManual, ScenarioWarm, ScenarioAuto, ScenarioSSHDeploy, ScenarioSSHRollback, ScenarioSSHWarm:
			if row.Failed > 0 {
				bad = append(bad, fmt.Sprintf("%s: %d of %d failed", row.Scenario, row.Failed, row.Sent))
			}
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %s", ErrDroppedRequests, strings.Join(bad, "; "))
	}
	return nil
}
