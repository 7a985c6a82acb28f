package pdataspans_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/agentos-ai/agentos-otel/exporter/agentosexporter/internal/pdataspans"
	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/logjoin"
	"github.com/agentos-ai/agentos-otel/internal/mapping"
	"github.com/agentos-ai/agentos-otel/internal/runtracker"
)

var update = flag.Bool("update", false, "rewrite the golden request files")

const goldenAgent = "00000000-0000-4000-8000-000000000001"

// scenario is one golden input: OTLP JSON batches delivered at given times.
type scenario struct {
	Description string `json:"description"`
	Options     struct {
		Selector           string   `json:"selector"`
		Pattern            string   `json:"pattern"`
		Grace              string   `json:"grace"`
		MaxWait            string   `json:"max_wait"`
		OrphanTimeout      string   `json:"orphan_timeout"`
		Tasks              bool     `json:"tasks"`
		RemoteParentIsRoot bool     `json:"remote_parent_is_root"`
		Redact             []string `json:"redact"`
		RedactPatterns     []string `json:"redact_patterns"`
		RedactDrop         bool     `json:"redact_drop"`
		MinLevel           string   `json:"min_level"`
		MaxStringLen       int      `json:"max_string_length"`
	} `json:"options"`
	Steps []struct {
		Advance  string          `json:"advance"`
		OTLP     json.RawMessage `json:"otlp"`
		OTLPLogs json.RawMessage `json:"otlp_logs"`
		Shutdown bool            `json:"shutdown"`
	} `json:"steps"`
}

// request is one ingest call as the golden file shows it.
type request struct {
	Run     string          `json:"run"`
	Request string          `json:"request"`
	AgentID string          `json:"agent_id"`
	Body    json.RawMessage `json:"body"`
}

type golden struct {
	Requests          []request        `json:"requests"`
	Stats             runtracker.Stats `json:"stats"`
	LogRecordsDropped map[string]int64 `json:"log_records_dropped,omitempty"`
}

func duration(t *testing.T, s string, def time.Duration) time.Duration {
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("bad duration %q: %v", s, err)
	}
	return d
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("../../../../testdata/golden/*.otlp.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".otlp.json")
		t.Run(name, func(t *testing.T) {
			got := runScenario(t, file)
			want := strings.TrimSuffix(file, ".otlp.json") + ".requests.json"
			if *update {
				if err := os.WriteFile(want, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			expected, err := os.ReadFile(want)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(expected, got) {
				t.Errorf("requests differ from %s (run with -update to accept):\n%s", want, diffLines(string(expected), string(got)))
			}
		})
	}
}

func runScenario(t *testing.T, file string) []byte {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var sc scenario
	if err := json.Unmarshal(raw, &sc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	sel, err := mapping.NewSelector(sc.Options.Selector, sc.Options.Pattern)
	if err != nil {
		t.Fatal(err)
	}
	var patterns []*regexp.Regexp
	for _, p := range sc.Options.RedactPatterns {
		patterns = append(patterns, regexp.MustCompile(p))
	}
	m, err := mapping.New(mapping.Options{
		DefaultAgentID: goldenAgent,
		Selector:       sel,
		Tasks:          sc.Options.Tasks,
		Redaction:      mapping.Redaction{Names: sc.Options.Redact, Patterns: patterns, Drop: sc.Options.RedactDrop},
		MinLevel:       sc.Options.MinLevel,
		MaxStringLen:   sc.Options.MaxStringLen,
	})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := runtracker.New(m, runtracker.Options{
		Grace:              duration(t, sc.Options.Grace, 2*time.Second),
		MaxWait:            duration(t, sc.Options.MaxWait, 30*time.Second),
		OrphanTimeout:      duration(t, sc.Options.OrphanTimeout, 5*time.Minute),
		RemoteParentIsRoot: sc.Options.RemoteParentIsRoot,
	})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	// GenAI log records wait for their spans as in the exporter.
	late := func(recs []logjoin.Record) []logjoin.Record { return logjoin.Place(recs, tr.AttachLogs) }
	logs := logjoin.New(duration(t, sc.Options.MaxWait, 30*time.Second), nil, late)
	for _, step := range sc.Steps {
		if len(step.OTLPLogs) > 0 {
			tr.JoinLogs()
		}
	}
	var ops []runtracker.Op
	shut := false
	for i, step := range sc.Steps {
		now = now.Add(duration(t, step.Advance, 0))
		if len(step.OTLPLogs) > 0 {
			ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(step.OTLPLogs)
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			logs.Add(now, pdataspans.LogRecords(ld))
		}
		if len(step.OTLP) > 0 {
			td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(step.OTLP)
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			batch := pdataspans.Append(nil, td)
			logs.Attach(now, batch)
			ops = append(ops, tr.Add(now, batch)...)
		}
		if step.Shutdown {
			ops = append(ops, tr.Shutdown(now)...)
			shut = true
			continue
		}
		ops = append(ops, tr.Tick(now)...)
	}
	if !shut {
		ops = append(ops, tr.Shutdown(now)...)
	}
	logs.Close()
	out := golden{Requests: renderOps(t, ops), Stats: tr.Stats()}
	if d := logs.Dropped(); len(d) > 0 {
		out.LogRecordsDropped = d
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// renderOps turns ops into request bodies, checking each against the API's
// own validation with a stand-in run id, and checking the run lifecycle.
func renderOps(t *testing.T, ops []runtracker.Op) []request {
	t.Helper()
	const fakeRunID = "11111111-1111-4111-8111-111111111111"
	out := make([]request, 0, len(ops))
	state := map[runtracker.RunKey]string{}
	for _, op := range ops {
		runName := fmt.Sprintf("run-%d", op.Run)
		var body any
		var verr error
		switch op.Kind {
		case runtracker.OpStart:
			if state[op.Run] != "" {
				t.Errorf("%s started twice", runName)
			}
			state[op.Run] = "running"
			body, verr = op.Start, op.Start.Validate()
		case runtracker.OpEvents:
			r := agentosapi.EventsRequest{RunID: fakeRunID, Events: op.Events}
			verr = r.Validate()
			r.RunID = runName
			body = r
		case runtracker.OpTask:
			r := agentosapi.TaskRequest{RunID: fakeRunID, Task: op.Task}
			verr = r.Validate()
			r.RunID = runName
			body = r
		case runtracker.OpClose:
			if op.Close.Fail {
				r := agentosapi.FailRunRequest{RunID: fakeRunID, ErrorMessage: op.Close.ErrorMessage, ErrorDetail: op.Close.ErrorDetail}
				verr = r.Validate()
				r.RunID = runName
				body = r
			} else {
				r := agentosapi.CompleteRunRequest{RunID: fakeRunID, Output: op.Close.Output}
				verr = r.Validate()
				r.RunID = runName
				body = r
			}
		}
		if op.Kind != runtracker.OpStart && state[op.Run] != "running" {
			t.Errorf("%s: %s sent to a run that is %q", runName, op.Kind, state[op.Run])
		}
		if op.Kind == runtracker.OpClose {
			state[op.Run] = "closed"
		}
		if verr != nil {
			t.Errorf("%s: %s would be rejected: %v", runName, op.Kind, verr)
		}
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		name := op.Kind.String()
		if op.Kind == runtracker.OpClose {
			name = "run/complete"
			if op.Close.Fail {
				name = "run/fail"
			}
		}
		out = append(out, request{Run: runName, Request: name, AgentID: op.AgentID, Body: b})
	}
	for run, st := range state {
		if st != "closed" {
			t.Errorf("run-%d left %s", run, st)
		}
	}
	return out
}

// diffLines shows the first lines that differ.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n- %s\n+ %s\n", i+1, wl, gl)
			if shown++; shown == 5 {
				break
			}
		}
	}
	return b.String()
}
