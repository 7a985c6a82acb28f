package sdkbridge_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentos-ai/agentos-otel/internal/localserver"
	"github.com/agentos-ai/agentos-otel/sdkbridge"
)

func newLive(t *testing.T, url string, opts ...sdkbridge.Option) (*sdkbridge.SpanProcessor, *sdktrace.TracerProvider) {
	t.Helper()
	sp, err := sdkbridge.NewSpanProcessor(context.Background(), bridgeOptions(url, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return sp, sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
}

// payload decodes an event's payload.
func payload(t *testing.T, e localserver.RecordedEvent) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(e.Payload, &m); err != nil {
		t.Fatalf("payload of %s: %v", e.Type, err)
	}
	return m
}

func eventTypes(r localserver.Run) string {
	var types []string
	for _, e := range r.Events {
		types = append(types, e.Type)
	}
	return strings.Join(types, ",")
}

// checkPairs fails when a span has a start event without an end event or
// the other way round, or when the two are not of the same kind.
func checkPairs(t *testing.T, r localserver.Run) {
	t.Helper()
	kind := map[string]string{
		"llm.request": "llm", "llm.response": "llm", "tool.called": "tool", "tool.returned": "tool", "tool.failed": "tool",
		"agent.started": "agent", "agent.completed": "agent", "agent.failed": "agent",
		"step.started": "step", "step.completed": "step", "step.failed": "step",
	}
	starts := map[string]bool{"llm.request": true, "tool.called": true, "agent.started": true, "step.started": true}
	open := map[string]string{}
	for _, e := range r.Events {
		k, ok := kind[e.Type]
		if !ok {
			continue
		}
		id, _ := payload(t, e)["span_id"].(string)
		if starts[e.Type] {
			if _, dup := open[id]; dup {
				t.Errorf("span %s started twice", id)
			}
			open[id] = k
			continue
		}
		sk, ok := open[id]
		switch {
		case !ok:
			t.Errorf("span %s: %s without a start event", id, e.Type)
		case sk != k:
			t.Errorf("span %s: started as %s, ended with %s", id, sk, e.Type)
		}
		delete(open, id)
		open[id+"/ended"] = ""
	}
	for id, k := range open {
		if !strings.HasSuffix(id, "/ended") {
			t.Errorf("span %s: %s start without an end event", id, k)
		}
	}
}

func TestLiveReadsAttributesAtStart(t *testing.T) {
	srv, url := newServer(t)
	ctx := context.Background()
	_, tp := newLive(t, url)
	tr := tp.Tracer("test")

	rctx, root := tr.Start(ctx, "invoke_agent a", trace.WithAttributes(attribute.String("agentos.external_run_id", "at-start")))
	// Set after Start: too late for run/start, which was already sent.
	root.SetAttributes(attribute.String("agentos.external_run_id", "after-start"))

	// A chat span typed only after Start: a step, ended with what it was.
	_, chat := tr.Start(rctx, "chat m")
	chat.SetAttributes(semconv.GenAIOperationNameChat, semconv.GenAIRequestModel("m"))
	chat.End()

	// A tool typed at Start whose attributes change later: the start event
	// shows them as they were at Start.
	_, tool := tr.Start(rctx, "execute_tool lookup", trace.WithAttributes(semconv.GenAIOperationNameExecuteTool,
		semconv.GenAIToolName("lookup"), attribute.String("gen_ai.tool.call.arguments", "first")))
	tool.SetAttributes(attribute.String("gen_ai.tool.call.arguments", "changed"), attribute.String("gen_ai.tool.call.result", "ok"))
	tool.End()
	root.End()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	runs := srv.Runs()
	if len(runs) != 1 {
		t.Fatalf("got %d runs", len(runs))
	}
	r := runs[0]
	if r.ExternalRunID != "at-start" || r.Status != "completed" {
		t.Errorf("run external id %q status %s", r.ExternalRunID, r.Status)
	}
	if got, want := eventTypes(r), "step.started,step.completed,tool.called,tool.returned"; got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
	checkPairs(t, r)
	if p := payload(t, r.Events[1]); p["span_type"] != "llm" || p["model"] != "m" {
		t.Errorf("late-typed chat end payload %v", p)
	}
	if p := payload(t, r.Events[2]); p["input"] != "first" {
		t.Errorf("tool.called input %v, want the value at Start", p["input"])
	}
	if p := payload(t, r.Events[3]); p["output"] != "ok" {
		t.Errorf("tool.returned output %v", p["output"])
	}
}

// The worker converts child spans' attributes into memory it reuses batch
// after batch: over many batches every child's events carry its own
// attributes, and the run its root's, read at start and at end.
func TestLiveAttributesAcrossBatches(t *testing.T) {
	srv, url := newServer(t)
	ctx := context.Background()
	_, tp := newLive(t, url)
	tr := tp.Tracer("test")
	rctx, root := tr.Start(ctx, "invoke_agent a", trace.WithAttributes(semconv.GenAIOperationNameInvokeAgent,
		semconv.GenAIInputMessagesKey.String(`[{"role":"user","parts":[{"type":"text","content":"root in"}]}]`)))
	const children = 2000 // several batches of starts and ends
	for i := range children {
		_, s := tr.Start(rctx, "execute_tool t", trace.WithAttributes(semconv.GenAIOperationNameExecuteTool,
			semconv.GenAIToolName(fmt.Sprintf("tool-%d", i)), attribute.String("gen_ai.tool.call.arguments", fmt.Sprintf(`{"n":%d}`, i))))
		s.SetAttributes(attribute.String("gen_ai.tool.call.result", fmt.Sprintf(`{"r":%d}`, i)))
		s.End()
	}
	root.SetAttributes(semconv.GenAIOutputMessagesKey.String(`[{"role":"assistant","parts":[{"type":"text","content":"root out"}]}]`))
	root.End()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	runs := srv.Runs()
	if len(runs) != 1 {
		t.Fatalf("got %d runs", len(runs))
	}
	r := runs[0]
	if !strings.Contains(string(r.Input), "root in") || !strings.Contains(string(r.Output), "root out") {
		t.Errorf("run input %s output %s, want the root's", r.Input, r.Output)
	}
	if len(r.Events) != 2*children {
		t.Fatalf("%d events, want %d", len(r.Events), 2*children)
	}
	checkPairs(t, r)
	for _, e := range r.Events {
		p := payload(t, e)
		n := strings.TrimPrefix(p["tool"].(string), "tool-")
		switch e.Type {
		case "tool.called":
			if got, _ := json.Marshal(p["input"]); string(got) != `{"n":`+n+`}` {
				t.Fatalf("tool-%s called with %s", n, got)
			}
		case "tool.returned":
			if got, _ := json.Marshal(p["output"]); string(got) != `{"r":`+n+`}` {
				t.Fatalf("tool-%s returned %s", n, got)
			}
		}
	}
}

// adkTurn traces an agent turn the way Google ADK Go does: the merged tool
// span learns it is execute_tool only at its end.
func adkTurn(ctx context.Context, tr trace.Tracer, toolFails bool) {
	ctx, root := tr.Start(ctx, "invoke_agent helper", trace.WithAttributes(semconv.GenAIOperationNameInvokeAgent, semconv.GenAIAgentName("helper")))
	_, llm := tr.Start(ctx, "generate_content gemini", trace.WithAttributes(semconv.GenAIOperationNameGenerateContent))
	llm.End()
	_, merged := tr.Start(ctx, "execute_tool (merged)")
	merged.SetAttributes(semconv.GenAIOperationNameExecuteTool, semconv.GenAIToolName("(merged tools)"))
	if toolFails {
		merged.SetStatus(codes.Error, "tool broke")
	}
	merged.End()
	root.End()
}

func TestLiveLateClassifiedSpansPair(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail bool
		want string
	}{
		{"tool returns", false, "llm.request,llm.response,step.started,step.completed"},
		{"tool fails", true, "llm.request,llm.response,step.started,step.failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, url := newServer(t)
			ctx := context.Background()
			_, tp := newLive(t, url)
			adkTurn(ctx, tp.Tracer("adk"), tc.fail)
			if err := tp.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			r := srv.Runs()[0]
			if got := eventTypes(r); got != tc.want {
				t.Fatalf("events %s, want %s", got, tc.want)
			}
			checkPairs(t, r)
			end := payload(t, r.Events[3])
			if end["span_type"] != "tool" || end["tool"] != "(merged tools)" {
				t.Errorf("end payload lacks the tool learnt at the end: %v", end)
			}
		})
	}
}

func TestLiveRootsSurviveAFullQueue(t *testing.T) {
	srv, url := newServer(t)
	ctx := context.Background()
	const queue, runs, children = 4, 20, 10
	logs := &captured{}
	sp, tp := newLive(t, url, sdkbridge.WithQueueSize(queue), sdkbridge.WithLogger(slog.New(logs)))
	tr := tp.Tracer("test")
	release := sdkbridge.PauseWorker(sp)
	for i := range runs {
		rctx, root := tr.Start(ctx, "invoke_agent burst")
		for range children {
			_, c := tr.Start(rctx, "step")
			c.End()
		}
		if i%2 == 1 {
			root.SetStatus(codes.Error, "odd run failed")
		}
		root.End()
	}
	// Twenty roots started and ended, far beyond the queue of four: none
	// was dropped, while children beyond the queue were.
	dropped := sp.DroppedSpans()
	if want := int64(runs*children*2 - (queue - 1)); dropped != want {
		t.Fatalf("dropped %d span starts and ends, want %d (children only)", dropped, want)
	}
	release()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	got := srv.Runs()
	if len(got) != runs {
		t.Fatalf("got %d runs, want %d", len(got), runs)
	}
	var completed, failed, warned int64
	for _, r := range got {
		switch r.Status {
		case "completed":
			completed++
		case "failed":
			failed++
			if r.ErrorMessage != "odd run failed" {
				t.Errorf("failed run says %q, want its root's status", r.ErrorMessage)
			}
		default:
			t.Errorf("run left %s", r.Status)
		}
		checkPairs(t, r)
		for _, e := range r.Events {
			if e.Type != "spans.dropped" {
				continue
			}
			if e.Level != "warn" {
				t.Errorf("spans.dropped level %s", e.Level)
			}
			n, _ := payload(t, e)["count"].(float64)
			warned += int64(n)
		}
	}
	if completed != runs/2 || failed != runs/2 {
		t.Errorf("completed %d failed %d: the runs' status must be their roots'", completed, failed)
	}
	if warned != dropped {
		t.Errorf("runs show %d dropped spans, the processor dropped %d", warned, dropped)
	}
	// One log line: every drop happened before the worker looked again.
	var recs []slog.Record
	for _, r := range logs.records() {
		if strings.Contains(r.Message, "dropped") {
			recs = append(recs, r)
		}
	}
	if len(recs) != 1 || recs[0].Level != slog.LevelWarn {
		t.Fatalf("logged %d lines about drops, want one warning", len(recs))
	}
	recs[0].Attrs(func(a slog.Attr) bool {
		if a.Key == "dropped" && a.Value.Int64() != dropped {
			t.Errorf("logged dropped=%d, want %d", a.Value.Int64(), dropped)
		}
		return true
	})
}

// captured is a slog handler that keeps the records.
type captured struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (c *captured) Enabled(context.Context, slog.Level) bool { return true }
func (c *captured) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recs = append(c.recs, r.Clone())
	return nil
}
func (c *captured) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *captured) WithGroup(string) slog.Handler      { return c }
func (c *captured) records() []slog.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.recs)
}

func TestLiveShutdown(t *testing.T) {
	t.Run("once, later calls return nil", func(t *testing.T) {
		_, url := newServer(t)
		ctx := context.Background()
		sp, tp := newLive(t, url)
		if err := tp.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := sp.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown after Shutdown: %v, want nil", err)
			}
		}
		err := sp.ForceFlush(ctx)
		if !errors.Is(err, sdkbridge.ErrShutdown) || !strings.Contains(err.Error(), "span processor") {
			t.Fatalf("ForceFlush after Shutdown: %v, want ErrShutdown naming the span processor", err)
		}
	})
	t.Run("context ends first: finishes in the background", func(t *testing.T) {
		srv, url := newServer(t)
		ctx := context.Background()
		sp, tp := newLive(t, url)
		tr := tp.Tracer("test")
		rctx, root := tr.Start(ctx, "invoke_agent never ends")
		_, c := tr.Start(rctx, "step")
		c.End()
		_ = root
		if err := sp.ForceFlush(ctx); err != nil {
			t.Fatal(err)
		}
		release := srv.Hang()
		sctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		if err := sp.Shutdown(sctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown against a hanging server: %v, want DeadlineExceeded", err)
		}
		release()
		waitFor(t, "the background shutdown to close the run", func() bool {
			r := srv.Runs()
			return len(r) == 1 && r[0].Status == "failed"
		})
		if msg := srv.Runs()[0].ErrorMessage; !strings.Contains(msg, "shut down") {
			t.Errorf("run closed with %q", msg)
		}
		waitFor(t, "the processor's goroutines to end", func() bool { return ourGoroutines() == "" })
		if err := sp.Shutdown(ctx); err != nil {
			t.Fatalf("second Shutdown: %v", err)
		}
	})
}

// waitFor polls cond; the deadline only stops a test that would hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited in vain for %s; goroutines:\n%s", what, ourGoroutines())
		}
	}
}

// ourGoroutines returns the stacks of goroutines running the processor or
// the core behind it.
func ourGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var ours []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, mark := range []string{"sdkbridge.(*SpanProcessor)", "sdkbridge.(*worker)", "internal/pipeline.", "internal/delivery.", "internal/ingest."} {
			if strings.Contains(g, mark) {
				ours = append(ours, g)
				break
			}
		}
	}
	return strings.Join(ours, "\n\n")
}

// recordOnly records every span without sampling it.
type recordOnly struct{}

func (recordOnly) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	return sdktrace.SamplingResult{Decision: sdktrace.RecordOnly, Tracestate: trace.SpanContextFromContext(p.ParentContext).TraceState()}
}
func (recordOnly) Description() string { return "RecordOnly" }

func TestLiveIgnoresUnsampledSpans(t *testing.T) {
	srv, url := newServer(t)
	ctx := context.Background()
	sp, err := sdkbridge.NewSpanProcessor(ctx, bridgeOptions(url)...)
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp), sdktrace.WithSampler(recordOnly{}))
	agentTurn(ctx, tp.Tracer("test"), false)
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if st := srv.Stats(); len(srv.Runs()) != 0 || len(st.Requests) != 0 {
		t.Fatalf("record-only spans reached AgentOS: %d runs, requests %v", len(srv.Runs()), st.Requests)
	}
}

func TestLiveMaxRunDuration(t *testing.T) {
	srv, url := newServer(t)
	ctx := context.Background()
	_, tp := newLive(t, url, sdkbridge.WithMaxRunDuration(50*time.Millisecond))
	tr := tp.Tracer("test")
	rctx, root := tr.Start(ctx, "invoke_agent forgotten")
	_, c := tr.Start(rctx, "step")
	c.End()
	waitFor(t, "the run to be closed at its maximum duration", func() bool {
		r := srv.Runs()
		return len(r) == 1 && r[0].Status == "failed"
	})
	r := srv.Runs()[0]
	if !strings.Contains(r.ErrorMessage, "maximum run duration (50ms)") {
		t.Errorf("error message %q", r.ErrorMessage)
	}
	checkPairs(t, r)
	root.End() // too late: counted, not sent
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if got := srv.Runs(); len(got) != 1 || got[0].Status != "failed" {
		t.Fatalf("after the late root end: %+v", got)
	}
}

// A span's end queued right after its start shares its queue slot and is
// converted from it: what changed in between (attributes, name, span
// events, status) must still show, in batches whose boundary falls
// between such a start and end, and for a run root with no children.
func TestLiveStartAndEndQueuedTogether(t *testing.T) {
	srv, url := newServer(t)
	ctx := context.Background()
	sp, tp := newLive(t, url)
	tr := tp.Tracer("test")
	release := sdkbridge.PauseWorker(sp)
	rctx, root := tr.Start(ctx, "invoke_agent a", trace.WithAttributes(semconv.GenAIOperationNameInvokeAgent))
	// 1 + 2×127 spans fill a batch of 256 but one: the 128th child's start
	// and end go into the next batch together.
	const children = 130
	notes := 0
	for i := range children {
		attrs := []attribute.KeyValue{semconv.GenAIOperationNameExecuteTool, semconv.GenAIToolName(fmt.Sprintf("t-%d", i)),
			attribute.String("gen_ai.tool.call.arguments", fmt.Sprintf(`{"n":%d}`, i))}
		if i%4 == 1 {
			// Overwritten below: the same attributes, one value changed.
			attrs = append(attrs, attribute.String("gen_ai.tool.call.result", `{"r":-1}`))
		}
		_, s := tr.Start(rctx, fmt.Sprintf("execute_tool %d", i), trace.WithAttributes(attrs...))
		switch i % 4 {
		case 0:
			s.SetAttributes(attribute.String("gen_ai.tool.call.result", fmt.Sprintf(`{"r":%d}`, i)))
		case 1:
			s.SetAttributes(attribute.String("gen_ai.tool.call.result", fmt.Sprintf(`{"r":%d}`, i)))
		case 2:
			s.SetName(fmt.Sprintf("renamed %d", i))
			s.AddEvent("note", trace.WithAttributes(attribute.Int("i", i)))
			notes++
		case 3:
			s.SetStatus(codes.Error, "broke")
		}
		s.End()
	}
	root.End()
	_, lone := tr.Start(ctx, "invoke_agent lone", trace.WithAttributes(semconv.GenAIOperationNameInvokeAgent))
	lone.End()
	release()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if n := sp.DroppedSpans(); n != 0 {
		t.Fatalf("dropped %d", n)
	}
	runs := srv.Runs()
	if len(runs) != 2 {
		t.Fatalf("got %d runs, want 2", len(runs))
	}
	for _, r := range runs {
		if r.Status != "completed" {
			t.Errorf("run %s", r.Status)
		}
		if len(r.Events) == 0 {
			continue // the lone root
		}
		checkPairs(t, r)
		seen := map[string]int{}
		for _, e := range r.Events {
			seen[e.Type]++
			p := payload(t, e)
			if e.Type == "note" {
				continue
			}
			var i int
			if tool, _ := p["tool"].(string); tool == "" {
				t.Fatalf("%s payload %v", e.Type, p)
			} else if _, err := fmt.Sscanf(tool, "t-%d", &i); err != nil {
				t.Fatalf("%s tool %s", e.Type, tool)
			}
			name := p["span_name"]
			switch {
			case e.Type == "tool.called":
				args, _ := json.Marshal(p["input"])
				if name != fmt.Sprintf("execute_tool %d", i) || string(args) != fmt.Sprintf(`{"n":%d}`, i) {
					t.Errorf("tool %d called as %v with %s", i, name, args)
				}
			case i%4 == 3:
				if e.Type != "tool.failed" || p["error"] != "broke" {
					t.Errorf("tool %d ended with %s %v", i, e.Type, p)
				}
			case i%4 == 2:
				if e.Type != "tool.returned" || name != fmt.Sprintf("renamed %d", i) {
					t.Errorf("tool %d ended with %s as %v", i, e.Type, name)
				}
			default:
				out, _ := json.Marshal(p["output"])
				if e.Type != "tool.returned" || string(out) != fmt.Sprintf(`{"r":%d}`, i) {
					t.Errorf("tool %d ended with %s output %s", i, e.Type, out)
				}
			}
		}
		if seen["tool.called"] != children || seen["note"] != notes {
			t.Errorf("events %v, want %d tools and %d notes", seen, children, notes)
		}
	}
}
