package pipeline

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// records keeps what a logger was given.
type records struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec)
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

func (r *records) warnings(prefix string) []slog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []slog.Record
	for _, rec := range r.recs {
		if rec.Level == slog.LevelWarn && strings.HasPrefix(rec.Message, prefix) {
			out = append(out, rec)
		}
	}
	return out
}

func attrs(rec slog.Record) map[string]string {
	m := map[string]string{}
	rec.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	return m
}

// Spans that reach a run after it closed are never silent: one warning
// per run names it, with how many spans and events came late; past 100
// runs a minute, one line counts the rest.
func TestLateSpansAreLoggedPerRun(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	srv := newServer(t)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	c := &clock{now: t0}
	log := &records{}
	cfg := durableConfig(hs.URL, nil, c, nil)
	cfg.Logger = slog.New(log)
	p := mustNew(t, cfg)

	const runs = 130
	for id := range byte(runs) {
		must(t, p.ConsumeSpans(ctx, trace3(id+1, t0)[2:])) // the root alone
	}
	c.now = c.now.Add(2 * time.Second)
	p.Tick() // every run closes
	for id := range byte(runs) {
		// Its two children, after the run closed: a start and an end
		// event each.
		must(t, p.ConsumeSpans(ctx, trace3(id+1, t0)[:2]))
	}
	p.Tick()

	lines := log.warnings("AgentOS run with external_run_id ")
	if len(lines) != lateLinesPerWindow {
		t.Fatalf("%d lines naming a run, want %d (the window's limit)", len(lines), lateLinesPerWindow)
	}
	first := attrs(lines[0])
	if first["external_run_id"] != spansTraceHex(1) || first["late_spans"] != "2" || first["late_events"] != "4" {
		t.Errorf("first line: %q %v", lines[0].Message, first)
	}
	if !strings.Contains(lines[0].Message, spansTraceHex(1)) {
		t.Errorf("the message does not name the run: %q", lines[0].Message)
	}
	must(t, p.Shutdown(ctx))
	rest := log.warnings("more AgentOS runs were closed before some of their spans arrived")
	if len(rest) != 1 || attrs(rest[0])["late_spans"] != "60" {
		t.Fatalf("summary lines: %v, want one counting the 30 runs' 60 spans", rest)
	}
	if got := p.Stats().SpansLate; got != 2*runs {
		t.Errorf("SpansLate = %d, want %d", got, 2*runs)
	}
}

func spansTraceHex(id byte) string {
	return span(id, 1, 0, time.Time{}).TraceID.String()
}

// A live span whose run root was never seen to start (the processor
// dropped it at its memory bound) is counted as dropped, reason no_run.
func TestLiveSpansWithoutTheirRunAreCounted(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	reader := sdkmetric.NewManualReader()
	p := mustNew(t, durableConfig(hs.URL, nil, &clock{now: time.Now()}, reader))
	child := span(4, 2, 1, time.Now())
	must(t, p.Live(ctx, []LiveSpan{{Span: child}, {Span: child, Ended: true}}))
	if got := sums(t, reader)["agentos.spans.dropped{no_run}"]; got != 2 {
		t.Errorf("agentos.spans.dropped{no_run} = %d, want 2 (the child's start and end)", got)
	}
	must(t, p.Shutdown(ctx))
	if n := len(srv.Runs()); n != 0 {
		t.Errorf("%d runs reached AgentOS", n)
	}
}
