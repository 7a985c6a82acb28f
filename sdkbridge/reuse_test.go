package sdkbridge_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/agentos-ai/agentos-otel/sdkbridge"
)

// The exporter reuses its converted spans and their attributes from one
// call to the next: spans exported one per call, whose runs keep them
// across calls (children held for their root, roots for their close), reach
// AgentOS exactly as the same spans exported in one call do.
func TestExporterReuseAcrossCallsChangesNothing(t *testing.T) {
	ctx := context.Background()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	for i := range 6 {
		agentTurn(ctx, tp.Tracer("test"), i%3 == 1)
	}
	ended := rec.Ended()
	export := func(perCall int) map[string]string {
		srv, url := newServer(t)
		exp, err := sdkbridge.NewExporter(ctx, bridgeOptions(url)...)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(ended); i += perCall {
			if err := exp.ExportSpans(ctx, ended[i:min(i+perCall, len(ended))]); err != nil {
				t.Fatal(err)
			}
		}
		if err := exp.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, r := range srv.Runs() {
			type event struct{ Type, Level, OccurredAt, Payload string }
			var evs []event
			for _, e := range r.Events {
				evs = append(evs, event{e.Type, e.Level, e.OccurredAt, string(e.Payload)})
			}
			b, err := json.Marshal([]any{r.AgentID, r.TriggerType, r.Input, r.Status, r.Output, r.ErrorMessage, r.ErrorDetail, evs, r.Tasks})
			if err != nil {
				t.Fatal(err)
			}
			out[r.ExternalRunID] = string(b)
		}
		return out
	}
	whole, one := export(len(ended)), export(1)
	if len(whole) != 6 || !reflect.DeepEqual(one, whole) {
		for id, w := range whole {
			if one[id] != w {
				t.Fatalf("run %s exported one span per call:\n%s\nin one call:\n%s", id, one[id], w)
			}
		}
		t.Fatalf("%d runs one span per call, %d in one call", len(one), len(whole))
	}
}
