//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const (
	agentC = "c0ffee00-1d2e-4f3a-8b4c-5d6e7f8a9b0c"
	keyC   = "aos_agent_e2e_c"
)

// TestScaleOutTierKilled: the scale-out layout from the shipped files, one
// router (lb.yaml) in front of three tiers (agentos-tier.yaml), each tier
// reporting as its own agent so that every run shows which tier handled
// it. A real SDK client sends agent turns at 250 traces/s; one tier is
// killed with SIGKILL under that load and restarted on the same storage
// 10 s later. Every turn must arrive exactly once, closed, with its whole
// timeline; every tier must have had a share; and the surviving tiers must
// not have received a child after its run closed (the router kept order).
func TestScaleOutTierKilled(t *testing.T) {
	const (
		rate   = 250 // traces per second
		n      = 2000
		killAt = 750 // traces sent when the tier is killed: 3 s of load
		pause  = 10 * time.Second
		victim = 2
	)
	agents := []struct{ id, key string }{{agentA, keyA}, {agentB, keyB}, {agentC, keyC}}
	keys := map[string]string{}
	for _, ag := range agents {
		keys[ag.id] = ag.key
	}
	a := startAgentOS(t, keys)

	bin := binary(t, "OTELCOL_AGENTOS")
	addrs := make([]string, len(agents))
	envs := make([][]string, len(agents))
	metrics := make([]string, len(agents))
	procs := make([]*killable, len(agents))
	for i, ag := range agents {
		addrs[i], metrics[i] = freeAddr(t), freeAddr(t)
		_, port, _ := net.SplitHostPort(metrics[i])
		envs[i] = []string{"OTLP_GRPC_ENDPOINT=" + addrs[i], "METRICS_PORT=" + port, "STORAGE_DIR=" + t.TempDir(),
			"AGENTOS_ENDPOINT=" + a.URL, "AGENTOS_API_KEY=" + ag.key, "AGENTOS_AGENT_ID=" + ag.id}
		procs[i] = startKillableConfig(t, bin, "agentos-tier.yaml", envs[i]...)
	}
	lb := freeAddr(t)
	collector(t, binary(t, "OTELCOL_LB"), "lb.yaml", "OTLP_HTTP_ENDPOINT="+lb, "AGENTOS_TIERS="+strings.Join(addrs, ","))

	var progress atomic.Int64
	type result struct {
		sent []sentRun
		took time.Duration
		err  error
	}
	done := make(chan result, 1)
	tp := newTracerProvider(t, lb, "e2e-scaleout")
	go func() {
		tr := tp.Tracer("e2e-scaleout")
		ctx := context.Background()
		sent := make([]sentRun, 0, n)
		var flushErr error
		start := time.Now()
		for i := range n {
			time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / rate)))
			// Every tenth turn's children go in a request of their own,
			// ahead of their root's.
			var flush func()
			if i%10 == 0 {
				flush = func() {
					if err := tp.ForceFlush(ctx); err != nil && flushErr == nil {
						flushErr = err
					}
				}
			}
			sent = append(sent, agentTurn(ctx, tr, start, i, flush))
			progress.Store(int64(i + 1))
		}
		err := errors.Join(flushErr, tp.Shutdown(ctx))
		done <- result{sent, time.Since(start), err}
	}()

	for progress.Load() < killAt {
		time.Sleep(time.Millisecond)
	}
	procs[victim].kill9()
	killedAfter := progress.Load()
	byAgent := map[string]int{}
	for _, r := range a.runs(t) {
		byAgent[r.AgentID]++
	}
	t.Logf("killed tier %d after %d traces sent; its agent had %d runs in AgentOS", victim, killedAfter, byAgent[agents[victim].id])
	time.Sleep(pause)
	procs[victim] = startKillableConfig(t, bin, "agentos-tier.yaml", envs[victim]...)
	t.Logf("restarted tier %d after %d traces sent", victim, progress.Load())

	res := <-done
	if res.err != nil {
		t.Fatalf("the client's exporter: %v", res.err)
	}
	t.Logf("%d traces sent in %v (%.0f/s)", len(res.sent), res.took.Round(time.Millisecond), float64(len(res.sent))/res.took.Seconds())
	runs := waitClosed(t, a, n, time.Minute)
	runs, resumed := forgiveCrashEffects(t, runs, procs[victim].log)

	arrived, extra, open := tally(res.sent, runs)
	t.Logf("runs sent %d, arrived %d, duplicated %d, open %d, in AgentOS %d", len(res.sent), arrived, extra, open, len(runs))
	perAgent := checkRuns(t, res.sent, runs)
	for i, ag := range agents {
		if perAgent[ag.id] == 0 {
			t.Errorf("tier %d handled no run: %v", i, perAgent)
		}
	}
	t.Logf("runs per tier: %d %d %d", perAgent[agentA], perAgent[agentB], perAgent[agentC])
	// A close AgentOS applied just before the kill, whose success the tier
	// had not stored yet, is sent again by the resumed run, and answered
	// 409 (already closed), which the exporter takes as done.
	if st := a.stats(t); st.Rejected != st.Status["409"] || st.Status["409"] > resumed {
		t.Errorf("the strict server rejected %d requests (%v): only closes of the %d resumed runs may be sent again", st.Rejected, st.Status, resumed)
	}

	for i := range agents {
		dropped := spansDropped(t, metrics[i])
		t.Logf("tier %d: agentos_spans_dropped %v", i, dropped)
		if i != victim && dropped["late"] != 0 {
			t.Errorf("tier %d (not killed) dropped %d late spans: the router reordered a trace", i, dropped["late"])
		}
	}
}

// waitClosed waits until want runs are closed in AgentOS, or until the
// deadline (the checks that follow then say which are missing), and
// returns the runs a second after: a run started twice shows up late.
func waitClosed(t *testing.T, a *agentos, want int, wait time.Duration) []recordedRun {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		closed := 0
		for _, r := range a.runs(t) {
			if r.Status != "running" {
				closed++
			}
		}
		if closed >= want {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%d of %d runs closed after %v", closed, want, wait)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second)
	return a.runs(t)
}

// tally counts the sent traces that arrived as a closed run, the runs
// beyond one per sent trace, and the runs left open.
func tally(sent []sentRun, runs []recordedRun) (arrived, extra, open int) {
	byTrace := map[string][]recordedRun{}
	for _, r := range runs {
		byTrace[r.ExternalRunID] = append(byTrace[r.ExternalRunID], r)
		if r.Status == "running" {
			open++
		}
	}
	for _, s := range sent {
		got := byTrace[s.traceID]
		extra += max(len(got)-1, 0)
		for _, r := range got {
			if r.Status != "running" {
				arrived++
				break
			}
		}
	}
	return arrived, extra, open
}

var spansDroppedLine = regexp.MustCompile(`^agentos_spans_dropped\{[^}]*reason="([a-z_]+)"[^}]*\} (\d+)$`)

// spansDropped reads agentos_spans_dropped by reason from a tier's
// Prometheus endpoint (service::telemetry::metrics in agentos-tier.yaml),
// failing if the tier does not expose it.
func spansDropped(t *testing.T, addr string) map[string]int64 {
	t.Helper()
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("the tier's metrics: %v", err)
	}
	defer res.Body.Close()
	out := map[string]int64{}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if m := spansDroppedLine.FindStringSubmatch(sc.Text()); m != nil {
			v, _ := strconv.ParseInt(m[2], 10, 64)
			out[m[1]] += v
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("the tier's metrics: %v", err)
	}
	if len(out) == 0 {
		t.Fatalf("http://%s/metrics has no agentos_spans_dropped", addr)
	}
	return out
}

var (
	mayExistLine   = regexp.MustCompile(`AgentOS may hold an open run with external_run_id ([0-9a-f]+):`)
	runsResumedRun = regexp.MustCompile(`"runs_resumed": (\d+)`)
)

// forgiveCrashEffects takes out of runs the two documented effects of a
// kill -9 with requests in flight (see the exporter README, "What a crash
// loses"), and fails the test where they are not as documented:
//   - a run whose run/start was in flight is started again, and AgentOS
//     keeps the first record open, without events: allowed only for runs
//     the restarted tier named on a line of its own;
//   - an events request in flight is sent again, so a resumed run may
//     hold a stretch of its events twice: allowed in at most as many runs
//     as the tier resumed.
//
// It returns the runs left, and how many runs the tier resumed.
//
// On a quiet machine neither happens; a loaded one widens the window.
func forgiveCrashEffects(t *testing.T, runs []recordedRun, restartedLog string) (kept []recordedRun, resumed int) {
	t.Helper()
	b, err := os.ReadFile(restartedLog)
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	for _, m := range mayExistLine.FindAllStringSubmatch(string(b), -1) {
		named[m[1]] = true
	}
	if m := runsResumedRun.FindStringSubmatch(string(b)); m != nil {
		resumed, _ = strconv.Atoi(m[1])
	}
	records := map[string]int{}
	for _, r := range runs {
		records[r.ExternalRunID]++
	}
	startedTwice, eventsTwice := 0, 0
	for _, r := range runs {
		if records[r.ExternalRunID] > 1 && r.Status == "running" && len(r.Events) == 0 && named[r.ExternalRunID] {
			startedTwice++
			continue
		}
		if deduped, ok := withoutRepeats(r.Events); ok {
			r.Events = deduped
			eventsTwice++
		}
		kept = append(kept, r)
	}
	t.Logf("crash effects: %d runs started again (named by the tier: %d), %d runs with events sent again (tier resumed %d)",
		startedTwice, len(named), eventsTwice, resumed)
	if eventsTwice > resumed {
		t.Errorf("%d runs hold events twice, more than the %d runs the tier resumed", eventsTwice, resumed)
	}
	return kept, resumed
}

// withoutRepeats drops events that repeat an earlier one of the run (same
// type, span and time), reporting whether there were any.
func withoutRepeats(events []recordedEvent) ([]recordedEvent, bool) {
	seen := map[string]bool{}
	var out []recordedEvent
	for _, e := range events {
		k := fmt.Sprint(e.Type, e.Payload["span_id"], e.OccurredAt.UnixNano())
		if seen[k] {
			continue
		}
		seen[k] = true
		e.SequenceNumber = int64(len(out) + 1)
		out = append(out, e)
	}
	return out, len(out) != len(events)
}
