package sdkbridge_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/agentos-ai/agentos-otel/sdkbridge"
)

// A key AgentOS rejects reaches the caller: ForceFlush reports the runs
// that failed since the previous call, Shutdown those after it, each once,
// naming the cause and never the key.
// (The live processor's twin is TestProcessorReportsRejectedKey.)
func TestRejectedKeyIsReturnedByForceFlushAndShutdown(t *testing.T) {
	_, url := newServer(t)
	const wrongKey = "aos_agent_wrong_secret"
	exp, err := sdkbridge.NewExporter(context.Background(), bridgeOptions(url, sdkbridge.WithAPIKey(wrongKey))...)
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
	tr := tp.Tracer("test")
	ctx := context.Background()
	for range 3 {
		agentTurn(ctx, tr, false)
	}
	// The SDK's batch processor exports its queue on ForceFlush but does not
	// pass the call on, so the exporter's own ForceFlush reports.
	if err := tp.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	err = exp.ForceFlush(ctx)
	var failed *sdkbridge.DeliveryError
	if !errors.As(err, &failed) || failed.Runs != 3 {
		t.Fatalf("ForceFlush: %v, want 3 runs not delivered", err)
	}
	if !errors.Is(err, sdkbridge.ErrUnauthorized) || strings.Contains(err.Error(), wrongKey) {
		t.Errorf("ForceFlush error %q should match ErrUnauthorized and not show the key", err)
	}
	agentTurn(ctx, tr, false)
	err = tp.Shutdown(ctx)
	if !errors.As(err, &failed) || failed.Runs != 1 {
		t.Fatalf("Shutdown: %v, want the 1 run since ForceFlush", err)
	}
}

func TestProcessorReportsRejectedKey(t *testing.T) {
	_, url := newServer(t)
	sp, err := sdkbridge.NewSpanProcessor(context.Background(), bridgeOptions(url, sdkbridge.WithAPIKey("aos_agent_wrong"))...)
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	ctx := context.Background()
	agentTurn(ctx, tp.Tracer("test"), false)
	var failed *sdkbridge.DeliveryError
	if err := tp.ForceFlush(ctx); !errors.As(err, &failed) || failed.Runs != 1 {
		t.Fatalf("ForceFlush: %v, want 1 run not delivered", err)
	}
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v, want nil: the failure was reported by ForceFlush", err)
	}
}

// With AgentOS unreachable, Shutdown under the SDK's batch processor still
// says why before its deadline: the batch processor stops listening at the
// deadline, so the exporter gives up a moment earlier and reports.
func TestUnreachableEndpointIsNamedBeforeTheDeadline(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	_ = l.Close() // nothing listens there any more: connection refused
	exp, err := sdkbridge.NewExporter(context.Background(), bridgeOptions(url,
		sdkbridge.WithRetry(sdkbridge.RetryConfig{Enabled: true, InitialInterval: 10 * time.Millisecond, MaxElapsedTime: time.Minute}))...)
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
	agentTurn(context.Background(), tp.Tracer("test"), false)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err = tp.Shutdown(ctx)
	var failed *sdkbridge.DeliveryError
	if !errors.As(err, &failed) || failed.Runs != 1 || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Shutdown: %v, want 1 run not delivered because the connection was refused", err)
	}
}
