//go:build e2e

package e2e

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentos-ai/agentos-otel/internal/localserver"
)

const (
	agentA = "3b241101-e2bb-4255-8caf-4136c566a962"
	agentB = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
	keyA   = "aos_agent_e2e_a"
	keyB   = "aos_agent_e2e_b"
)

func binary(t *testing.T, env string) string {
	t.Helper()
	p := os.Getenv(env)
	if p == "" {
		t.Fatalf("%s is not set: run e2e/run.sh", env)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s: %v", env, err)
	}
	return p
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func agentos(t *testing.T) (*localserver.Server, string) {
	t.Helper()
	srv := localserver.New(localserver.Options{})
	srv.RegisterAgent(agentA, keyA)
	srv.RegisterAgent(agentB, keyB)
	ln, err := localserver.Listen("127.0.0.1:0", srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close(context.Background()) })
	return srv, ln.URL()
}

// collector starts a collector binary and waits for its health check.
func collector(t *testing.T, bin, config string, env ...string) {
	t.Helper()
	health := freeAddr(t)
	logPath := filepath.Join(t.TempDir(), "collector.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config", filepath.Join("..", "testdata", "collector", config))
	cmd.Env = append(os.Environ(), append(env, "HEALTH_ENDPOINT="+health)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("%s log:\n%s", config, b)
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("%s exited: %v\n%s", config, err, b)
		default:
		}
		if res, err := http.Get("http://" + health); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("%s not healthy within a minute\n%s", config, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sendTraces sends n agent runs over OTLP/HTTP; every fifth one fails. It
// returns how many events each run should show.
func sendTraces(t *testing.T, otlpAddr string, n int) int {
	t.Helper()
	ctx := context.Background()
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(otlpAddr), otlptracehttp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(50*time.Millisecond)))
	tr := tp.Tracer("e2e")
	for i := range n {
		rctx, root := tr.Start(ctx, "invoke_agent e2e", trace.WithAttributes(semconv.GenAIOperationNameInvokeAgent))
		_, chat := tr.Start(rctx, "chat m", trace.WithAttributes(semconv.GenAIOperationNameChat,
			semconv.GenAIRequestModel("m"), semconv.GenAIUsageInputTokens(10), semconv.GenAIUsageOutputTokens(2)))
		chat.End()
		_, tool := tr.Start(rctx, "execute_tool lookup", trace.WithAttributes(semconv.GenAIOperationNameExecuteTool,
			semconv.GenAIToolName("lookup")))
		tool.AddEvent("cache.miss", trace.WithAttributes(attribute.Int("run", i)))
		tool.End()
		if i%5 == 4 {
			root.SetStatus(codes.Error, "run failed on purpose")
		}
		root.End()
	}
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	return 5 // llm.request, llm.response, tool.called, cache.miss, tool.returned
}

// waitForRuns waits until want runs are closed.
func waitForRuns(t *testing.T, srv *localserver.Server, want int) []localserver.Run {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		runs := srv.Runs()
		closed := 0
		for _, r := range runs {
			if r.Status != localserver.StatusRunning {
				closed++
			}
		}
		if closed >= want {
			return runs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d runs closed after a minute (%d started)", closed, want, len(runs))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func checkRuns(t *testing.T, runs []localserver.Run, want, events int) map[string]int {
	t.Helper()
	if len(runs) != want {
		t.Fatalf("%d runs, want %d", len(runs), want)
	}
	perTrace := map[string]int{}
	perAgent := map[string]int{}
	failed := 0
	for _, r := range runs {
		perTrace[r.ExternalRunID]++
		perAgent[r.AgentID]++
		if r.Status == localserver.StatusFailed {
			failed++
		}
		if len(r.Events) != events {
			var types []string
			for _, e := range r.Events {
				types = append(types, e.Type)
			}
			t.Errorf("run of trace %s has %d events (%s), want %d", r.ExternalRunID, len(r.Events), strings.Join(types, ","), events)
		}
	}
	for trace, n := range perTrace {
		if n != 1 {
			t.Errorf("trace %s became %d runs: it was split", trace, n)
		}
	}
	if failed != want/5 {
		t.Errorf("%d runs failed, want %d", failed, want/5)
	}
	return perAgent
}

func TestBasicPipeline(t *testing.T) {
	for _, config := range []string{"basic.yaml", "persistent-queue.yaml"} {
		t.Run(config, func(t *testing.T) {
			srv, url := agentos(t)
			otlp := freeAddr(t)
			collector(t, binary(t, "OTELCOL_AGENTOS"), config,
				"OTLP_HTTP_ENDPOINT="+otlp, "AGENTOS_ENDPOINT="+url, "AGENTOS_API_KEY="+keyA,
				"AGENTOS_AGENT_ID="+agentA, "STORAGE_DIR="+t.TempDir())
			const n = 20
			events := sendTraces(t, otlp, n)
			checkRuns(t, waitForRuns(t, srv, n), n, events)
			if rej := srv.Stats().Rejected; rej != 0 {
				t.Errorf("the strict server rejected %d requests", rej)
			}
		})
	}
}

func TestTwoTierScaleOut(t *testing.T) {
	srv, url := agentos(t)
	tierA, tierB := freeAddr(t), freeAddr(t)
	bin := binary(t, "OTELCOL_AGENTOS")
	// Each instance reports as its own agent, so the runs show which one
	// handled them.
	collector(t, bin, "agentos-tier.yaml", "OTLP_GRPC_ENDPOINT="+tierA, "AGENTOS_ENDPOINT="+url,
		"AGENTOS_API_KEY="+keyA, "AGENTOS_AGENT_ID="+agentA)
	collector(t, bin, "agentos-tier.yaml", "OTLP_GRPC_ENDPOINT="+tierB, "AGENTOS_ENDPOINT="+url,
		"AGENTOS_API_KEY="+keyB, "AGENTOS_AGENT_ID="+agentB)
	lb := freeAddr(t)
	collector(t, binary(t, "OTELCOL_LB"), "lb.yaml", "OTLP_HTTP_ENDPOINT="+lb,
		"AGENTOS_TIER_A="+tierA, "AGENTOS_TIER_B="+tierB)

	const n = 100
	events := sendTraces(t, lb, n)
	perAgent := checkRuns(t, waitForRuns(t, srv, n), n, events)
	if perAgent[agentA] == 0 || perAgent[agentB] == 0 {
		t.Fatalf("runs per instance %v: the routing tier did not spread traces", perAgent)
	}
	t.Logf("runs per instance: a=%d b=%d", perAgent[agentA], perAgent[agentB])
	if rej := srv.Stats().Rejected; rej != 0 {
		t.Errorf("the strict server rejected %d requests", rej)
	}
}
