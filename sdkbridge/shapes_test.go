package sdkbridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentos-ai/agentos-otel/internal/localserver"
	"github.com/agentos-ai/agentos-otel/sdkbridge"
)

// Very deep and very wide traces through a live processor whose queue is
// far too small for them: what is dropped is logged and shown on the run,
// every event that is sent pairs or stands for a drop, and the run ends
// with its root's status.
func TestLiveProcessorDeepAndWideTraces(t *testing.T) {
	for _, tc := range []struct {
		name   string
		trace  func(ctx context.Context, tr trace.Tracer)
		status string
	}{
		{"10,000 levels deep", func(ctx context.Context, tr trace.Tracer) {
			var open []trace.Span
			for range 10_000 {
				var s trace.Span
				ctx, s = tr.Start(ctx, "step")
				open = append(open, s)
			}
			for i := len(open) - 1; i >= 0; i-- {
				open[i].End()
			}
		}, localserver.StatusCompleted},
		{"20,000 wide, root failing", func(ctx context.Context, tr trace.Tracer) {
			for range 20_000 {
				_, s := tr.Start(ctx, "step")
				s.End()
			}
		}, localserver.StatusFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, url := newServer(t)
			var logs bytes.Buffer
			sp, err := sdkbridge.NewSpanProcessor(context.Background(), bridgeOptions(url,
				sdkbridge.WithQueueSize(256),
				sdkbridge.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))))...)
			if err != nil {
				t.Fatal(err)
			}
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
			ctx, root := tp.Tracer("test").Start(context.Background(), "agent")
			tc.trace(ctx, tp.Tracer("test"))
			if tc.status == localserver.StatusFailed {
				root.SetStatus(codes.Error, "gave up")
			}
			root.End()
			if err := tp.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			runs := srv.Runs()
			if len(runs) != 1 || runs[0].Status != tc.status {
				t.Fatalf("runs %d, status %v, want one %s run", len(runs), runs, tc.status)
			}
			dropped := sp.DroppedSpans()
			if dropped == 0 {
				t.Fatal("nothing was dropped: the test does not test drops")
			}
			shown := int64(0)
			pairs := map[string]int{} // span id: starts minus ends
			for _, e := range runs[0].Events {
				var p struct {
					Count  int64
					SpanID string `json:"span_id"`
				}
				if err := json.Unmarshal(e.Payload, &p); err != nil {
					t.Fatal(err)
				}
				switch e.Type {
				case "spans.dropped":
					shown += p.Count
				case "step.started":
					pairs[p.SpanID]++
				case "step.completed", "step.failed":
					pairs[p.SpanID]--
				}
			}
			for id, n := range pairs {
				if n != 0 {
					t.Fatalf("span %s: its start and end events do not pair (%+d)", id, n)
				}
			}
			if len(pairs) == 0 {
				t.Fatal("no step events were sent")
			}
			if shown != dropped {
				t.Errorf("the run shows %d dropped, the processor counted %d", shown, dropped)
			}
			if !strings.Contains(logs.String(), "queue full") {
				t.Errorf("drops were not logged:\n%s", logs.String())
			}
		})
	}
}
