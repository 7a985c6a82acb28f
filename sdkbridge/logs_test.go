package sdkbridge_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentos-ai/agentos-otel/sdkbridge"
)

// genAITurn is a Go agent whose chat content is only in GenAI log records;
// one record comes after its span ended.
func genAITurn(ctx context.Context, tr trace.Tracer, logger otellog.Logger, afterChat func()) {
	ctx, root := tr.Start(ctx, "invoke_agent demo", trace.WithAttributes(semconv.GenAIOperationNameInvokeAgent))
	chatCtx, chat := tr.Start(ctx, "chat m", trace.WithAttributes(semconv.GenAIOperationNameChat, semconv.GenAIRequestModel("m")))
	emit := func(name string, body attribute.Value) {
		var r otellog.Record
		r.SetEventName(name)
		r.SetTimestamp(time.Now())
		r.SetBody(body)
		logger.Emit(chatCtx, r)
	}
	emit("gen_ai.user.message", attribute.MapValue(attribute.String("content", "Weather?")))
	emit("gen_ai.choice", attribute.MapValue(attribute.String("finish_reason", "stop"),
		attribute.Map("message", attribute.String("content", "Sunny."))))
	var app otellog.Record
	app.SetBody(attribute.StringValue("an application log line"))
	logger.Emit(chatCtx, app)
	chat.End()
	afterChat()
	emit("gen_ai.choice", attribute.MapValue(attribute.String("finish_reason", "late")))
	root.End()
}

// TestLogExporter: both trace sides take a Go agent's GenAI log records
// (sdklog, simple processor) as their span's content. The record after its
// span joins it in the exporter, whose run is not sent yet; the live
// processor has sent the span's end already, so it counts the record,
// never sends it.
func TestLogExporter(t *testing.T) {
	type bridge interface {
		LogExporter() sdklog.Exporter
		DroppedLogRecords() int64
	}
	for _, mode := range []string{"exporter", "live"} {
		t.Run(mode, func(t *testing.T) {
			srv, url := newServer(t)
			ctx := context.Background()
			var b bridge
			var opt sdktrace.TracerProviderOption
			if mode == "exporter" {
				exp, err := sdkbridge.NewExporter(ctx, bridgeOptions(url)...)
				if err != nil {
					t.Fatal(err)
				}
				b, opt = exp, sdktrace.WithSyncer(exp)
			} else {
				sp, err := sdkbridge.NewSpanProcessor(ctx, bridgeOptions(url)...)
				if err != nil {
					t.Fatal(err)
				}
				b, opt = sp, sdktrace.WithSpanProcessor(sp)
			}
			tp := sdktrace.NewTracerProvider(opt)
			lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(b.LogExporter())))
			// The live processor takes a span's end on its own goroutine:
			// a flush makes the last record come after that.
			genAITurn(ctx, tp.Tracer("t"), lp.Logger("openai"), func() { _ = tp.ForceFlush(ctx) })
			if err := lp.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			if err := tp.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			runs := srv.Runs()
			if len(runs) != 1 {
				t.Fatalf("%d runs", len(runs))
			}
			var all []string
			var response string
			for _, e := range runs[0].Events {
				all = append(all, e.Type)
				if e.Type == "llm.response" {
					response = string(e.Payload)
				}
			}
			if got := strings.Join(all, ","); got != "llm.request,llm.response" {
				t.Errorf("events %s: consumed records must not be sent as events", got)
			}
			reasons, dropped := `"finish_reasons":["stop","late"]`, int64(0)
			if mode == "live" {
				reasons, dropped = `"finish_reasons":["stop"]`, 1
			}
			for _, want := range []string{`"prompt":[{"role":"user","content":"Weather?"}]`, `"response":[{"role":"assistant","content":"Sunny."}]`, reasons} {
				all := ""
				for _, e := range runs[0].Events {
					all += string(e.Payload)
				}
				if !strings.Contains(all, want) {
					t.Errorf("no %s in %s", want, all)
				}
			}
			if mode == "live" && !strings.Contains(response, `"prompt"`) {
				t.Errorf("live: the prompt only a record held belongs in the end event: %s", response)
			}
			if n := b.DroppedLogRecords(); n != dropped {
				t.Errorf("dropped %d records, want %d", n, dropped)
			}
		})
	}
}
