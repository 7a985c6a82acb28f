package sdkbridge_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentos-ai/agentos-otel/internal/localserver"
	"github.com/agentos-ai/agentos-otel/sdkbridge"
)

// bigRun traces a run whose children carry a prompt of promptBytes set at
// Start, and returns its trace id and its children's span ids.
func bigRun(ctx context.Context, tr trace.Tracer, children, promptBytes int) (trace.TraceID, []trace.SpanID) {
	prompt := messagesOf("user", strings.Repeat("p", promptBytes))
	ctx, root := tr.Start(ctx, "invoke_agent big", trace.WithAttributes(semconv.GenAIOperationNameInvokeAgent))
	ids := make([]trace.SpanID, children)
	for i := range children {
		_, c := tr.Start(ctx, "chat m", trace.WithAttributes(semconv.GenAIOperationNameChat,
			semconv.GenAIRequestModel("m"), semconv.GenAIInputMessagesKey.String(prompt)))
		c.SetAttributes(semconv.GenAIOutputMessagesKey.String(messagesOf("assistant", "ok")))
		ids[i] = c.SpanContext().SpanID()
		c.End()
	}
	root.End()
	return root.SpanContext().TraceID(), ids
}

func messagesOf(role, text string) string {
	return fmt.Sprintf(`[{"role":%q,"parts":[{"type":"text","content":%q}]}]`, role, text)
}

// dropCounts reads agentos.processor.spans.dropped by span and reason.
func dropCounts(t *testing.T, r *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			if m.Name != sdkbridge.DroppedSpansMetric || !ok {
				continue
			}
			for _, p := range sum.DataPoints {
				span, _ := p.Attributes.Value("span")
				reason, _ := p.Attributes.Value("reason")
				out[span.AsString()+"/"+reason.AsString()] += p.Value
			}
		}
	}
	return out
}

// While AgentOS answers 503, runs with 50 KB prompts far beyond the budget
// are traced: what the processor holds stays within MaxBufferedBytes,
// children are dropped and counted, every root starts and ends; once
// AgentOS is back every run arrives closed with its root's status and
// every child either whole or counted on its run. Then the queue takes
// runs again without dropping.
func TestLiveBytesBoundedWhileAgentOSDown(t *testing.T) {
	const budget = 4 << 20
	const outageRuns, children, prompt = 40, 6, 50 << 10
	srv, url := newServer(t)
	reader := sdkmetric.NewManualReader()
	logs := &captured{}
	sp, tp := newLive(t, url,
		sdkbridge.WithLimits(sdkbridge.Limits{MaxBufferedBytes: budget}),
		sdkbridge.WithRetry(sdkbridge.RetryConfig{Enabled: true, InitialInterval: 10 * time.Millisecond,
			MaxInterval: 50 * time.Millisecond, MaxElapsedTime: 5 * time.Minute}),
		sdkbridge.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))),
		sdkbridge.WithLogger(slog.New(logs)))
	ctx := context.Background()
	tr := tp.Tracer("test")

	// The sampler reads what the processor holds as fast as it can.
	var maxWeighed, maxNow atomic.Int64
	stop := make(chan struct{})
	var sampling sync.WaitGroup
	sampling.Go(func() {
		for {
			w, n := sdkbridge.Accounted(sp)
			maxWeighed.Store(max(maxWeighed.Load(), w))
			maxNow.Store(max(maxNow.Load(), n))
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Microsecond):
			}
		}
	})

	srv.SetFaults(localserver.Faults{ErrorRate: 1})
	childrenOf := map[string][]trace.SpanID{}
	for range outageRuns {
		id, kids := bigRun(ctx, tr, children, prompt)
		childrenOf[id.String()] = kids
	}
	waitFor(t, "children to be dropped at the byte bound", func() bool { return sp.DroppedSpans() > 0 })
	// Let the worker wait for room with the core full while AgentOS is
	// still down.
	time.Sleep(200 * time.Millisecond)
	if n := len(srv.Runs()); n != 0 {
		t.Fatalf("%d runs reached AgentOS while it answered 503", n)
	}
	srv.SetFaults(localserver.Faults{})
	if err := sp.ForceFlush(ctx); err != nil {
		t.Fatalf("ForceFlush after AgentOS came back: %v", err)
	}
	outageDrops := sp.DroppedSpans()

	// Deliveries freed the core: the worker learns it without new spans,
	// and runs within the budget are taken whole again.
	waitFor(t, "the processor to see the core's bytes freed", func() bool {
		w, _ := sdkbridge.Accounted(sp)
		return w < budget/8
	})
	for range 2 {
		id, kids := bigRun(ctx, tr, children, prompt)
		childrenOf[id.String()] = kids
	}
	drops := dropCounts(t, reader) // the processor's metrics end at Shutdown
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	close(stop)
	sampling.Wait()

	if d := sp.DroppedSpans(); d != outageDrops {
		t.Errorf("%d span starts and ends dropped after AgentOS came back, with room in the budget", d-outageDrops)
	}
	if w, n := maxWeighed.Load(), maxNow.Load(); w > budget || n > budget {
		t.Errorf("the processor held up to %d bytes (read now: %d), over its budget of %d", w, n, budget)
	} else {
		t.Logf("held at most %d bytes (read now: %d) of %d", w, n, budget)
	}
	if drops["child/buffer_full"] == 0 || drops["child/buffer_full"] != outageDrops {
		t.Errorf("drops by reason %v, want all %d children at the byte bound", drops, outageDrops)
	}
	if drops["root/buffer_full"]+drops["root/queue_full"] != 0 {
		t.Errorf("run roots dropped: %v", drops)
	}

	runs := srv.Runs()
	if len(runs) != len(childrenOf) {
		t.Fatalf("%d runs arrived, want %d", len(runs), len(childrenOf))
	}
	var warned int64
	for _, r := range runs {
		kids, ok := childrenOf[r.ExternalRunID]
		if !ok {
			t.Fatalf("run %s was not traced", r.ExternalRunID)
		}
		if r.Status != localserver.StatusCompleted {
			t.Errorf("run %s %s (%s), want completed as its root", r.ExternalRunID, r.Status, r.ErrorMessage)
		}
		checkPairs(t, r)
		perSpan := map[string]int{}
		var runWarned int64
		for _, e := range r.Events {
			p := payload(t, e)
			if e.Type == "spans.dropped" {
				n, _ := p["count"].(float64)
				runWarned += int64(n)
				continue
			}
			id, _ := p["span_id"].(string)
			perSpan[id]++
		}
		// A child is whole (its two events) or missing, and then both its
		// start and end were dropped and counted on its run.
		var missing int64
		for _, k := range kids {
			switch perSpan[k.String()] {
			case 2:
			case 0:
				missing++
			default:
				t.Errorf("run %s: child %s has %d events", r.ExternalRunID, k, perSpan[k.String()])
			}
		}
		if 2*missing > runWarned {
			t.Errorf("run %s: %d children missing, %d drops shown", r.ExternalRunID, missing, runWarned)
		}
		warned += runWarned
	}
	if warned != outageDrops {
		t.Errorf("runs show %d drops, the processor dropped %d", warned, outageDrops)
	}
	var logged bool
	for _, rec := range logs.records() {
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == "dropped_buffer_full" && a.Value.Int64() > 0 {
				logged = rec.Level == slog.LevelWarn
			}
			return true
		})
	}
	if !logged {
		t.Error("no warning logged for the drops at the byte bound")
	}
}
