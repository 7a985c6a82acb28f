package sdkbridge_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentos-ai/agentos-otel/internal/localserver"
	"github.com/agentos-ai/agentos-otel/internal/localservertest"
	"github.com/agentos-ai/agentos-otel/internal/mapping"
	"github.com/agentos-ai/agentos-otel/sdkbridge"
)

const (
	agentID = "3b241101-e2bb-4255-8caf-4136c566a962"
	apiKey  = "aos_agent_test_key"
)

func newServer(t testing.TB) (*localserver.Server, string) {
	t.Helper()
	return localservertest.Start(t, localserver.Options{}, localservertest.Agent{ID: agentID, Key: apiKey})
}

func bridgeOptions(url string, extra ...sdkbridge.Option) []sdkbridge.Option {
	return append([]sdkbridge.Option{
		sdkbridge.WithEndpoint(url), sdkbridge.WithAPIKey(apiKey), sdkbridge.WithAgentID(agentID),
		sdkbridge.WithTiming(sdkbridge.Timing{GracePeriod: 50 * time.Millisecond}),
		sdkbridge.WithRetry(sdkbridge.RetryConfig{Enabled: true, InitialInterval: 10 * time.Millisecond, MaxElapsedTime: 5 * time.Second}),
		sdkbridge.WithLogger(slog.New(slog.DiscardHandler)),
	}, extra...)
}

// agentTurn makes one run: chat, a tool with a span event, chat; fail makes
// the tool and the root fail.
func agentTurn(ctx context.Context, tr trace.Tracer, fail bool) {
	ctx, root := tr.Start(ctx, "invoke_agent demo", trace.WithAttributes(
		semconv.GenAIOperationNameInvokeAgent, semconv.GenAIAgentName("demo")))
	_, chat := tr.Start(ctx, "chat m", trace.WithAttributes(semconv.GenAIOperationNameChat,
		semconv.GenAIRequestModel("m"), semconv.GenAIUsageInputTokens(10), semconv.GenAIUsageOutputTokens(3)))
	time.Sleep(time.Millisecond)
	chat.End()
	_, tool := tr.Start(ctx, "execute_tool lookup", trace.WithAttributes(semconv.GenAIOperationNameExecuteTool,
		semconv.GenAIToolName("lookup")))
	tool.AddEvent("cache.miss", trace.WithAttributes(attribute.String("key", "k")))
	if fail {
		err := errors.New("lookup exploded")
		tool.RecordError(err)
		tool.SetStatus(codes.Error, err.Error())
	}
	tool.End()
	if fail {
		root.RecordError(errors.New("agent gave up"))
		root.SetStatus(codes.Error, "agent gave up")
	} else {
		_, chat2 := tr.Start(ctx, "chat m", trace.WithAttributes(semconv.GenAIOperationNameChat,
			semconv.GenAIRequestModel("m"), semconv.GenAIUsageInputTokens(20), semconv.GenAIUsageOutputTokens(5)))
		chat2.End()
	}
	root.End()
}

func TestExporterUnderBatcherAndSyncer(t *testing.T) {
	for name, register := range map[string]func(sdktrace.SpanExporter) sdktrace.TracerProviderOption{
		"batcher": func(e sdktrace.SpanExporter) sdktrace.TracerProviderOption { return sdktrace.WithBatcher(e) },
		"syncer":  func(e sdktrace.SpanExporter) sdktrace.TracerProviderOption { return sdktrace.WithSyncer(e) },
	} {
		t.Run(name, func(t *testing.T) {
			srv, url := newServer(t)
			ctx := context.Background()
			exp, err := sdkbridge.NewExporter(ctx, bridgeOptions(url)...)
			if err != nil {
				t.Fatal(err)
			}
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(register(exp), sdktrace.WithSpanProcessor(rec))
			tr := tp.Tracer("test")
			agentTurn(ctx, tr, false)
			agentTurn(ctx, tr, true)
			if err := tp.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			runs := srv.Runs()
			if len(runs) != 2 {
				t.Fatalf("got %d runs, want 2", len(runs))
			}
			byTrace := map[string]localserver.Run{}
			for _, r := range runs {
				byTrace[r.ExternalRunID] = r
			}
			ended := rec.Ended()
			wantTimes := map[string]bool{} // every occurred_at the spans can produce
			for _, s := range ended {
				wantTimes[mapping.FormatTime(s.StartTime())] = true
				wantTimes[mapping.FormatTime(s.EndTime())] = true
				for _, e := range s.Events() {
					wantTimes[mapping.FormatTime(e.Time)] = true
				}
			}
			var ok, failed int
			for _, r := range runs {
				var types []string
				prev := ""
				for _, e := range r.Events {
					types = append(types, e.Type)
					if !wantTimes[e.OccurredAt] {
						t.Errorf("occurred_at %s of %s matches no span timestamp", e.OccurredAt, e.Type)
					}
					if e.OccurredAt < prev {
						t.Errorf("events out of order: %s after %s", e.OccurredAt, prev)
					}
					prev = e.OccurredAt
				}
				got := strings.Join(types, ",")
				switch r.Status {
				case "completed":
					ok++
					want := "llm.request,llm.response,tool.called,cache.miss,tool.returned,llm.request,llm.response"
					if got != want {
						t.Errorf("completed run events\n got %s\nwant %s", got, want)
					}
					var out struct {
						Summary struct {
							InputTokens  int `json:"input_tokens"`
							OutputTokens int `json:"output_tokens"`
							LLMCalls     int `json:"llm_calls"`
							ToolCalls    int `json:"tool_calls"`
						} `json:"summary"`
					}
					if err := json.Unmarshal(r.Output, &out); err != nil {
						t.Fatal(err)
					}
					if out.Summary.InputTokens != 30 || out.Summary.OutputTokens != 8 || out.Summary.LLMCalls != 2 || out.Summary.ToolCalls != 1 {
						t.Errorf("summary %+v", out.Summary)
					}
				case "failed":
					failed++
					want := "llm.request,llm.response,tool.called,cache.miss,exception,tool.failed,exception"
					if got != want {
						t.Errorf("failed run events\n got %s\nwant %s", got, want)
					}
					if r.ErrorMessage != "agent gave up" {
						t.Errorf("error_message %q", r.ErrorMessage)
					}
				default:
					t.Errorf("run %s left %s", r.ID, r.Status)
				}
				if r.AgentID != agentID || r.TriggerType != "sdk" {
					t.Errorf("run agent %s trigger %s", r.AgentID, r.TriggerType)
				}
			}
			if ok != 1 || failed != 1 {
				t.Fatalf("completed %d, failed %d", ok, failed)
			}
			if err := exp.Shutdown(ctx); err != nil {
				t.Errorf("second Shutdown: %v, want nil, as otlptrace's exporter answers", err)
			}
			if err := exp.ExportSpans(ctx, nil); !errors.Is(err, sdkbridge.ErrShutdown) {
				t.Errorf("ExportSpans after Shutdown: %v, want ErrShutdown", err)
			}
		})
	}
}

func TestShutdownClosesRunWhoseRootIsOpen(t *testing.T) {
	for _, live := range []bool{false, true} {
		t.Run(map[bool]string{false: "exporter", true: "processor"}[live], func(t *testing.T) {
			srv, url := newServer(t)
			ctx := context.Background()
			var tp *sdktrace.TracerProvider
			if live {
				sp, err := sdkbridge.NewSpanProcessor(ctx, bridgeOptions(url)...)
				if err != nil {
					t.Fatal(err)
				}
				tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
			} else {
				exp, err := sdkbridge.NewExporter(ctx, bridgeOptions(url)...)
				if err != nil {
					t.Fatal(err)
				}
				tp = sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
			}
			tr := tp.Tracer("test")
			cctx, root := tr.Start(ctx, "invoke_agent slow", trace.WithAttributes(semconv.GenAIOperationNameInvokeAgent))
			_, child := tr.Start(cctx, "chat m", trace.WithAttributes(semconv.GenAIOperationNameChat))
			child.End()
			if err := tp.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			_ = root // never ended
			runs := srv.Runs()
			if len(runs) != 1 {
				t.Fatalf("got %d runs, want 1", len(runs))
			}
			r := runs[0]
			if r.Status != "failed" || !strings.Contains(r.ErrorMessage, "shut down") {
				t.Fatalf("run %s: %q, want failed saying it shut down", r.Status, r.ErrorMessage)
			}
			if len(r.Events) != 2 {
				t.Errorf("got %d events, want the child's two", len(r.Events))
			}
		})
	}
}

func TestLiveRunIsRunningBeforeRootEnds(t *testing.T) {
	srv, url := newServer(t)
	ctx := context.Background()
	sp, err := sdkbridge.NewSpanProcessor(ctx, bridgeOptions(url)...)
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	tr := tp.Tracer("test")
	cctx, root := tr.Start(ctx, "invoke_agent live", trace.WithAttributes(semconv.GenAIOperationNameInvokeAgent))
	_, child := tr.Start(cctx, "execute_tool t", trace.WithAttributes(semconv.GenAIOperationNameExecuteTool, semconv.GenAIToolName("t")))

	// The run and the child's start event reach AgentOS while both spans are open.
	if err := sp.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	runs := srv.Runs()
	if len(runs) != 1 || runs[0].Status != "running" {
		t.Fatalf("before the root ended: %+v, want one running run", runs)
	}
	if len(runs[0].Events) != 1 || runs[0].Events[0].Type != "tool.called" {
		t.Fatalf("events before the tool ended: %+v", runs[0].Events)
	}
	child.End()
	root.End()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	r := srv.Runs()[0]
	if r.Status != "completed" || len(r.Events) != 2 || r.Events[1].Type != "tool.returned" {
		t.Fatalf("after: %s with %+v", r.Status, r.Events)
	}
}

func TestProcessorDoesNotBlockWhenServerHangs(t *testing.T) {
	srv, url := newServer(t)
	release := srv.Hang()
	defer release()
	ctx := context.Background()
	sp, err := sdkbridge.NewSpanProcessor(ctx, bridgeOptions(url, sdkbridge.WithQueueSize(64))...)
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	tr := tp.Tracer("test")

	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 2000 {
			cctx, root := tr.Start(ctx, "invoke_agent x")
			_, c := tr.Start(cctx, "step")
			c.End()
			root.End()
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("starting and ending spans blocked while the server hangs")
	}
	// The spans are processed in the background: wait until a request is
	// stuck in the hanging server, or the test would prove nothing.
	for deadline := time.Now().Add(10 * time.Second); srv.Stats().Requests["/api/ingest/v1/run/start"] == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no request reached the hanging server")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// More spans while requests hang: still no blocking.
	more := make(chan struct{})
	go func() {
		defer close(more)
		for range 2000 {
			_, s := tr.Start(ctx, "invoke_agent y")
			s.End()
		}
	}()
	select {
	case <-more:
	case <-time.After(30 * time.Second):
		t.Fatal("starting and ending spans blocked while requests hang")
	}
	// With the server still hanging, Shutdown gives up at its deadline.
	sctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := tp.Shutdown(sctx); err == nil {
		t.Fatal("Shutdown succeeded against a hanging server")
	}
	// The shutdown goes on in the background; once the server answers it
	// ends, leaving no goroutine behind.
	release()
	waitFor(t, "the background shutdown to end", func() bool { return ourGoroutines() == "" })
}

func TestConfiguration(t *testing.T) {
	ctx := context.Background()
	t.Run("environment alone", func(t *testing.T) {
		srv, url := newServer(t)
		t.Setenv(sdkbridge.EnvAPIKey, apiKey)
		t.Setenv(sdkbridge.EnvAgentID, agentID)
		t.Setenv(sdkbridge.EnvEndpoint, url)
		exp, err := sdkbridge.NewExporter(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
		_, s := tp.Tracer("t").Start(ctx, "root")
		s.End()
		if err := tp.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		if runs := srv.Runs(); len(runs) != 1 || runs[0].Status != "completed" {
			t.Fatalf("runs: %+v", runs)
		}
	})
	t.Run("options win over environment", func(t *testing.T) {
		t.Setenv(sdkbridge.EnvEndpoint, "::not a url")
		t.Setenv(sdkbridge.EnvAPIKey, apiKey)
		t.Setenv(sdkbridge.EnvAgentID, agentID)
		exp, err := sdkbridge.NewExporter(ctx, sdkbridge.WithEndpoint("https://agentos.example"))
		if err != nil {
			t.Fatal(err)
		}
		_ = exp.Shutdown(ctx)
	})
	for _, tc := range []struct {
		name string
		env  map[string]string
		opts []sdkbridge.Option
		want string
	}{
		{"no agent id", map[string]string{sdkbridge.EnvAPIKey: apiKey}, nil, "AGENTOS_AGENT_ID"},
		{"no key", map[string]string{sdkbridge.EnvAgentID: agentID}, nil, "AGENTOS_API_KEY"},
		{"endpoint with the ingest path", map[string]string{sdkbridge.EnvAPIKey: apiKey, sdkbridge.EnvAgentID: agentID, sdkbridge.EnvEndpoint: "https://agentos-ai.dev/api/ingest/v1"}, nil, "use the base URL"},
		{"plain http to a remote host", map[string]string{sdkbridge.EnvAPIKey: apiKey, sdkbridge.EnvAgentID: agentID}, []sdkbridge.Option{sdkbridge.WithEndpoint("http://agentos.example")}, "endpoint"},
		{"agent id not a uuid", map[string]string{sdkbridge.EnvAPIKey: apiKey, sdkbridge.EnvAgentID: "agent-7"}, nil, `AGENTOS_AGENT_ID / WithAgentID: "agent-7" is not a uuid`},
		{"bad min level", map[string]string{sdkbridge.EnvAPIKey: apiKey, sdkbridge.EnvAgentID: agentID}, []sdkbridge.Option{sdkbridge.WithMinLevel("loud")}, `WithMinLevel: "loud" is not one of`},
		{"negative grace", map[string]string{sdkbridge.EnvAPIKey: apiKey, sdkbridge.EnvAgentID: agentID}, []sdkbridge.Option{sdkbridge.WithTiming(sdkbridge.Timing{GracePeriod: -time.Second})}, "WithTiming(Timing{GracePeriod}): must not be negative"},
		{"request bytes too small", map[string]string{sdkbridge.EnvAPIKey: apiKey, sdkbridge.EnvAgentID: agentID}, []sdkbridge.Option{sdkbridge.WithLimits(sdkbridge.Limits{MaxRequestBytes: 10})}, "WithLimits(Limits{MaxRequestBytes})"},
		{"bad selector", map[string]string{sdkbridge.EnvAPIKey: apiKey, sdkbridge.EnvAgentID: agentID}, []sdkbridge.Option{sdkbridge.WithRunSelector(sdkbridge.RootsNamed("("))}, "WithRunSelector"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{sdkbridge.EnvAPIKey, sdkbridge.EnvAgentID, sdkbridge.EnvEndpoint} {
				t.Setenv(k, tc.env[k])
			}
			_, err := sdkbridge.NewExporter(ctx, tc.opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %s", err, tc.want)
			}
			if strings.Contains(err.Error(), apiKey) {
				t.Fatalf("error reveals the key: %v", err)
			}
			// SDK users read their own settings' names, not the Collector's.
			for _, collectorName := range []string{"agent_id", "min_level", "grace_period", "max_request_bytes", "Config."} {
				if strings.Contains(err.Error(), collectorName) {
					t.Errorf("error %q names %s, a setting SDK users do not have", err, collectorName)
				}
			}
		})
	}
}
