package sdkbridge_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentos-ai/agentos-otel/internal/localserver"
	"github.com/agentos-ai/agentos-otel/internal/localservertest"
	"github.com/agentos-ai/agentos-otel/sdkbridge"
)

// exportRuns sends what turn traces through an Exporter configured with
// bridgeOptions and opts, shuts it down and returns the runs AgentOS holds.
func exportRuns(t *testing.T, turn func(context.Context, trace.Tracer), opts ...sdkbridge.Option) []localserver.Run {
	t.Helper()
	srv, url := newServer(t)
	ctx := context.Background()
	exp, err := sdkbridge.NewExporter(ctx, bridgeOptions(url, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	turn(ctx, tp.Tracer("test"))
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	return srv.Runs()
}

func plainTurn(ctx context.Context, tr trace.Tracer) { agentTurn(ctx, tr, false) }

func runsJSON(t *testing.T, runs []localserver.Run) string {
	t.Helper()
	b, err := json.Marshal(runs)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Redaction through the SDK: masked by name and by pattern, or dropped,
// in every payload AgentOS receives.
func TestWithRedaction(t *testing.T) {
	turn := func(ctx context.Context, tr trace.Tracer) {
		secrets := trace.WithAttributes(attribute.String("user.password", "hunter2-secret"),
			attribute.String("session_token", "tok-abc123"), attribute.String("user.name", "ada"))
		ctx, root := tr.Start(ctx, "invoke_agent demo", secrets) // in run/start's input
		_, step := tr.Start(ctx, "plan", secrets)                // in the step events
		step.End()
		root.End()
	}
	for _, drop := range []bool{false, true} {
		runs := exportRuns(t, turn, sdkbridge.WithRedaction(sdkbridge.Redaction{
			Attributes: []string{"user.password"},
			Patterns:   []*regexp.Regexp{regexp.MustCompile(`(?i)token`)},
			Drop:       drop,
		}))
		got := runsJSON(t, runs)
		if len(runs) != 1 || !strings.Contains(got, "ada") {
			t.Fatalf("drop=%v: the tool's other attributes did not arrive: %s", drop, got)
		}
		for _, secret := range []string{"hunter2-secret", "tok-abc123"} {
			if strings.Contains(got, secret) {
				t.Errorf("drop=%v: %q reached AgentOS", drop, secret)
			}
		}
		if masked := strings.Contains(got, "[REDACTED]"); masked == drop {
			t.Errorf("drop=%v: masked %v in %s", drop, masked, got)
		}
	}
}

func TestWithTriggerType(t *testing.T) {
	runs := exportRuns(t, plainTurn, sdkbridge.WithTriggerType(sdkbridge.TriggerWebhook))
	if len(runs) != 1 || runs[0].TriggerType != "webhook" {
		t.Fatalf("runs %+v, want one webhook run", runs)
	}
	// The root's own agentos.trigger_type wins.
	runs = exportRuns(t, func(ctx context.Context, tr trace.Tracer) {
		_, root := tr.Start(ctx, "invoke_agent nightly", trace.WithAttributes(attribute.String("agentos.trigger_type", "scheduled")))
		root.End()
	}, sdkbridge.WithTriggerType(sdkbridge.TriggerWebhook))
	if len(runs) != 1 || runs[0].TriggerType != "scheduled" {
		t.Fatalf("runs %+v, want one scheduled run", runs)
	}
}

func TestWithTasks(t *testing.T) {
	if runs := exportRuns(t, plainTurn); len(runs) != 1 || len(runs[0].Tasks) != 0 {
		t.Fatalf("without WithTasks: runs %+v, want one run without tasks", runs)
	}
	runs := exportRuns(t, plainTurn, sdkbridge.WithTasks())
	if len(runs) != 1 {
		t.Fatalf("runs %+v", runs)
	}
	var names []string
	for _, task := range runs[0].Tasks {
		names = append(names, task.Name+"/"+task.Status)
	}
	if !strings.Contains(strings.Join(names, " "), "lookup") {
		t.Errorf("tasks %v, want the lookup tool among them", names)
	}
}

func TestWithMaxStringLength(t *testing.T) {
	long := strings.Repeat("x", 2000)
	runs := exportRuns(t, func(ctx context.Context, tr trace.Tracer) {
		ctx, root := tr.Start(ctx, "invoke_agent demo")
		_, tool := tr.Start(ctx, "step", trace.WithAttributes(attribute.String("note", long)))
		tool.End()
		root.End()
	}, sdkbridge.WithMaxStringLength(100))
	got := runsJSON(t, runs)
	if strings.Contains(got, strings.Repeat("x", 101)) || !strings.Contains(got, "…[truncated]") {
		t.Fatalf("the 2000-character attribute was not cut to 100 with a marker: %.400s", got)
	}
}

// A span whose parent is in another process: with the default (true) it
// is a run at once; with false the bridge waits for the parent, so nothing
// is sent within MaxWait. The deprecated name does the same.
func TestWithRemoteParentIsRoot(t *testing.T) {
	remote := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5, 6}, TraceFlags: trace.FlagsSampled, Remote: true,
	})
	for _, tc := range []struct {
		name string
		opts []sdkbridge.Option
		runs int
	}{
		{"default", nil, 1},
		{"true", []sdkbridge.Option{sdkbridge.WithRemoteParentIsRoot(true)}, 1},
		{"false", []sdkbridge.Option{sdkbridge.WithRemoteParentIsRoot(false)}, 0},
		{"deprecated false", []sdkbridge.Option{sdkbridge.WithRemoteParentAsRoot(false)}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, url := newServer(t)
			ctx := context.Background()
			opts := append(tc.opts, sdkbridge.WithTiming(sdkbridge.Timing{MaxWait: time.Hour, GracePeriod: 10 * time.Millisecond}))
			exp, err := sdkbridge.NewExporter(ctx, bridgeOptions(url, opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
			_, span := tp.Tracer("test").Start(trace.ContextWithRemoteSpanContext(ctx, remote), "invoke_agent handler")
			span.End()
			if err := exp.ForceFlush(ctx); err != nil {
				t.Fatal(err)
			}
			if runs := srv.Runs(); len(runs) != tc.runs {
				t.Errorf("%d runs after ForceFlush, want %d", len(runs), tc.runs)
			}
			_ = tp.Shutdown(ctx)
		})
	}
}

// WithMeterProvider registers the live processor's drop counter, for child
// and root spans, and Shutdown unregisters it.
func TestWithMeterProviderRegistersDroppedSpans(t *testing.T) {
	_, url := newServer(t)
	ctx := context.Background()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	sp, err := sdkbridge.NewSpanProcessor(ctx, bridgeOptions(url, sdkbridge.WithMeterProvider(mp))...)
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	agentTurn(ctx, tp.Tracer("test"), false)

	dropped := func() map[string]int64 {
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(ctx, &rm); err != nil {
			t.Fatal(err)
		}
		var out map[string]int64
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if m.Name != sdkbridge.DroppedSpansMetric {
					continue
				}
				out = map[string]int64{}
				for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
					span, _ := dp.Attributes.Value("span")
					out[span.AsString()] = dp.Value
				}
			}
		}
		return out
	}
	if got := dropped(); len(got) != 2 || got["child"] != 0 || got["root"] != 0 {
		t.Fatalf("%s = %v, want child and root, both 0", sdkbridge.DroppedSpansMetric, got)
	}
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if got := dropped(); got != nil {
		t.Errorf("%s still reported after Shutdown: %v", sdkbridge.DroppedSpansMetric, got)
	}
}

// Options only the live processor honours are refused by NewExporter,
// naming them, and taken by NewSpanProcessor; one []Option serves both.
func TestProcessorOptionsRefusedByExporter(t *testing.T) {
	_, url := newServer(t)
	ctx := context.Background()
	opts := bridgeOptions(url, sdkbridge.WithQueueSize(128), sdkbridge.WithMaxRunDuration(time.Minute))
	_, err := sdkbridge.NewExporter(ctx, opts...)
	if err == nil || !strings.Contains(err.Error(), "WithQueueSize, WithMaxRunDuration: an option of NewSpanProcessor") {
		t.Fatalf("NewExporter: %v, want an error naming both options", err)
	}
	sp, err := sdkbridge.NewSpanProcessor(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := sp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

// Without WithLogger, a run that is not delivered reaches otel.Handle too;
// with it, only the logger.
func TestDeliveryErrorsReachOtelHandle(t *testing.T) {
	var mu sync.Mutex
	var handled []error
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		mu.Lock()
		defer mu.Unlock()
		handled = append(handled, err)
	}))
	const wrongKey = "aos_agent_wrong_for_handler"
	run := func(extra ...sdkbridge.Option) []error {
		_, url := newServer(t)
		ctx := context.Background()
		mu.Lock()
		handled = nil
		mu.Unlock()
		opts := append([]sdkbridge.Option{
			sdkbridge.WithEndpoint(url), sdkbridge.WithAPIKey(wrongKey), sdkbridge.WithAgentID(agentID),
			sdkbridge.WithTiming(sdkbridge.Timing{GracePeriod: 10 * time.Millisecond}),
		}, extra...)
		exp, err := sdkbridge.NewExporter(ctx, opts...)
		if err != nil {
			t.Fatal(err)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
		agentTurn(ctx, tp.Tracer("test"), false)
		var de *sdkbridge.DeliveryError
		if err := tp.Shutdown(ctx); !errors.As(err, &de) {
			t.Fatalf("Shutdown: %v, want a DeliveryError", err)
		}
		mu.Lock()
		defer mu.Unlock()
		var ours []error
		for _, e := range handled {
			if strings.Contains(e.Error(), "run not delivered") {
				ours = append(ours, e)
			}
		}
		return ours
	}
	got := run()
	if len(got) != 1 || !strings.Contains(got[0].Error(), "401") && !strings.Contains(got[0].Error(), "unauthorized") {
		t.Fatalf("otel.Handle got %v, want the run that was not delivered, saying why", got)
	}
	if strings.Contains(got[0].Error(), wrongKey) {
		t.Errorf("the key reached the error handler: %v", got[0])
	}
	if got := run(sdkbridge.WithLogger(slog.New(slog.DiscardHandler))); len(got) != 0 {
		t.Errorf("with WithLogger, otel.Handle got %v", got)
	}
}

// DeliveryError is the package's own type: its causes can be named and
// counted without importing anything internal.
func TestDeliveryErrorCauses(t *testing.T) {
	_, url := newServer(t)
	ctx := context.Background()
	exp, err := sdkbridge.NewExporter(ctx, bridgeOptions(url, sdkbridge.WithAPIKey("aos_agent_rejected"))...)
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	agentTurn(ctx, tp.Tracer("test"), false)
	agentTurn(ctx, tp.Tracer("test"), true)
	err = tp.Shutdown(ctx)
	var de *sdkbridge.DeliveryError
	if !errors.As(err, &de) {
		t.Fatalf("Shutdown: %v", err)
	}
	if de.Runs != 2 || len(de.Causes) != 1 || de.Causes[0].Runs != 2 || !errors.Is(de.Causes[0].Err, sdkbridge.ErrUnauthorized) {
		t.Fatalf("DeliveryError %+v, want 2 runs under one ErrUnauthorized cause", de)
	}
	if !strings.HasPrefix(de.Error(), "agentos: 2 runs not delivered: ") {
		t.Errorf("Error() = %q", de.Error())
	}
}

func TestWithMinLevel(t *testing.T) {
	turn := func(ctx context.Context, tr trace.Tracer) {
		ctx, root := tr.Start(ctx, "invoke_agent demo")
		_, step := tr.Start(ctx, "plan")
		step.AddEvent("cache.miss", trace.WithAttributes(attribute.String("agentos.level", "debug")))
		step.AddEvent("cache.stale", trace.WithAttributes(attribute.String("agentos.level", "warn")))
		step.End()
		root.End()
	}
	types := func(runs []localserver.Run) string {
		var ts []string
		for _, e := range runs[0].Events {
			ts = append(ts, e.Type)
		}
		return strings.Join(ts, ",")
	}
	all := types(exportRuns(t, turn))
	if !strings.Contains(all, "cache.miss") || !strings.Contains(all, "cache.stale") {
		t.Fatalf("by default every event is sent: %s", all)
	}
	warn := types(exportRuns(t, turn, sdkbridge.WithMinLevel(sdkbridge.LevelWarn)))
	if strings.Contains(warn, "cache.miss") || !strings.Contains(warn, "cache.stale") {
		t.Fatalf("WithMinLevel(LevelWarn) sent %s", warn)
	}
}

// A root naming another agent is reported to it with that agent's key.
func TestWithAgentKeys(t *testing.T) {
	const otherAgent, otherKey = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a", "aos_agent_other_key"
	srv, url := localservertest.Start(t, localserver.Options{},
		localservertest.Agent{ID: agentID, Key: apiKey}, localservertest.Agent{ID: otherAgent, Key: otherKey})
	ctx := context.Background()
	exp, err := sdkbridge.NewExporter(ctx, bridgeOptions(url, sdkbridge.WithAgentKeys(map[string]string{otherAgent: otherKey}))...)
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	_, root := tp.Tracer("test").Start(ctx, "invoke_agent other", trace.WithAttributes(attribute.String("agentos.agent_id", otherAgent)))
	root.End()
	agentTurn(ctx, tp.Tracer("test"), false)
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, r := range srv.Runs() {
		got[r.AgentID]++
	}
	if got[otherAgent] != 1 || got[agentID] != 1 {
		t.Fatalf("runs by agent %v, want one each", got)
	}
}
