package pipeline

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/agentos-ai/agentos-otel/internal/delivery"
	"github.com/agentos-ai/agentos-otel/internal/ingest"
	"github.com/agentos-ai/agentos-otel/internal/localserver"
	"github.com/agentos-ai/agentos-otel/internal/mapping"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

const (
	agent = "3b241101-e2bb-4255-8caf-4136c566a962"
	key   = "aos_agent_pipeline"
)

func span(trace byte, id, parent byte, start time.Time) spans.Span {
	s := spans.Span{TraceID: spans.TraceID{trace}, SpanID: spans.SpanID{id}, Name: "step",
		StartTime: start, EndTime: start.Add(time.Millisecond)}
	if parent != 0 {
		s.ParentSpanID = spans.SpanID{parent}
	}
	return s
}

// sums reads every counter and gauge as name{reason or request} -> value.
func sums(t *testing.T, r *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			var points []metricdata.DataPoint[int64]
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				points = d.DataPoints
			case metricdata.Gauge[int64]:
				points = d.DataPoints
			}
			for _, p := range points {
				name := m.Name
				for _, kv := range p.Attributes.ToSlice() {
					name += "{" + kv.Value.Emit() + "}"
				}
				out[name] += p.Value
			}
		}
	}
	return out
}

func TestSelfTelemetry(t *testing.T) {
	srv := localserver.New(localserver.Options{})
	srv.RegisterAgent(agent, key)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	reader := sdkmetric.NewManualReader()
	retry := ingest.DefaultRetryPolicy()
	retry.InitialInterval, retry.MaxElapsedTime = time.Millisecond, time.Second
	p, err := New(Config{
		Ingest:        ingest.Config{BaseURL: hs.URL, DefaultKey: key, Retry: retry},
		Mapping:       mapping.Options{DefaultAgentID: agent},
		MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
		TickInterval:  -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t0 := time.Now()
	// Run 1 completes with two events; run 2 fails its events request.
	if err := p.ConsumeSpans(ctx, []spans.Span{span(1, 2, 1, t0), span(1, 1, 0, t0)}); err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	late := span(1, 3, 1, t0)
	_ = p.ConsumeSpans(ctx, []spans.Span{late})
	// Tracker counters are observed while the pipeline runs.
	if got := sums(t, reader); got["agentos.spans.dropped{late}"] != 1 || got["agentos.traces.open"] != 0 {
		t.Errorf("before shutdown: %v", got)
	}
	srv.FailNext(1, 400, "")
	_ = p.ConsumeSpans(ctx, []spans.Span{span(2, 2, 1, t0), span(2, 1, 0, t0)})
	// The first request of run 2 (run/start) gets the 400: the run is never
	// created, one request failed, and its events were never sent.
	// Shutdown reports it.
	var failed *delivery.FailedRunsError
	if err := p.Shutdown(ctx); !errors.As(err, &failed) || failed.Runs != 1 {
		t.Fatalf("Shutdown: %v, want 1 run not delivered", err)
	}
	got := sums(t, reader)
	want := map[string]int64{
		"agentos.runs.started":                    1,
		"agentos.runs.completed":                  1,
		"agentos.events.sent":                     2,
		"agentos.requests.failed{run/start}":      1,
		"agentos.requests.failed{events}":         0,
		"agentos.requests.failed{close}":          0,
		"agentos.events.dropped{run_not_started}": 2,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
}

// A server slower than the client's timeout leaves run/start's outcome
// unknown: the bridge stops after two attempts, says so through Flush and
// counts the run that may exist without its id.
func TestAmbiguousStartIsReportedAndCounted(t *testing.T) {
	srv := localserver.New(localserver.Options{})
	srv.RegisterAgent(agent, key)
	srv.SetFaults(localserver.Faults{Latency: time.Second})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	reader := sdkmetric.NewManualReader()
	retry := ingest.DefaultRetryPolicy()
	retry.InitialInterval, retry.MaxElapsedTime = time.Millisecond, 10*time.Second
	p, err := New(Config{
		Ingest:        ingest.Config{BaseURL: hs.URL, DefaultKey: key, Retry: retry, Timeout: 20 * time.Millisecond},
		Mapping:       mapping.Options{DefaultAgentID: agent},
		MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
		TickInterval:  -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := p.ConsumeSpans(ctx, []spans.Span{span(1, 1, 0, time.Now())}); err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(ctx); !errors.Is(err, ingest.ErrRunMayExist) {
		t.Fatalf("Flush: %v, want ErrRunMayExist", err)
	}
	if got := sums(t, reader)["agentos.runs.may_exist"]; got != 1 {
		t.Errorf("agentos.runs.may_exist = %d, want 1", got)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v, want nil: Flush reported the run", err)
	}
	if n := srv.Stats().Requests["/api/ingest/v1/run/start"]; n != 2 {
		t.Errorf("%d run/start requests, want 2", n)
	}
}

// The tracker ticks at a quarter of the grace period, so a run closes at
// most that late, within bounds that keep a long grace responsive and a
// tiny one from spinning.
func TestTickInterval(t *testing.T) {
	for grace, want := range map[time.Duration]time.Duration{
		0:                      250 * time.Millisecond, // the default grace, 2 s
		500 * time.Millisecond: 125 * time.Millisecond,
		time.Millisecond:       25 * time.Millisecond,
		time.Minute:            250 * time.Millisecond,
	} {
		if got := tickInterval(grace); got != want {
			t.Errorf("grace %v: tick %v, want %v", grace, got, want)
		}
	}
}
