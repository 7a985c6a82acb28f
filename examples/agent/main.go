// Command agent is a small agent instrumented with OpenTelemetry whose
// traces reach AgentOS through the sdkbridge. Its LLM and tool calls are
// simulated: no network is needed.
//
// With AGENTOS_API_KEY set it reports to AgentOS (or AGENTOS_ENDPOINT) and
// prints what was delivered, counted by the bridge's own metrics. Without
// it, it starts an embedded local AgentOS-compatible server and
// prints each run it received, with its timeline.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/agentos-ai/agentos-otel/internal/localserver"
	"github.com/agentos-ai/agentos-otel/sdkbridge"
)

func main() {
	live := flag.Bool("live", false, "use the live span processor instead of the exporter")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *live); err != nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		os.Exit(1)
	}
}

// Used for the embedded server only; real keys come from AGENTOS_API_KEY.
const (
	localAgentID = "7f3c9a2e-4b1d-4e8a-9c6f-2d5b8e1a7c40"
	localKey     = "aos_agent_local_demo"
)

func run(ctx context.Context, w io.Writer, live bool) error {
	var opts []sdkbridge.Option
	var server *localserver.Server
	if os.Getenv(sdkbridge.EnvAPIKey) == "" {
		server = localserver.New(localserver.Options{})
		server.RegisterAgent(localAgentID, localKey)
		ln, err := localserver.Listen("127.0.0.1:0", server)
		if err != nil {
			return err
		}
		defer ln.Close(context.Background())
		fmt.Fprintf(w, "No %s set: reporting to an embedded local AgentOS at %s\n\n", sdkbridge.EnvAPIKey, ln.URL())
		opts = append(opts, sdkbridge.WithEndpoint(ln.URL()), sdkbridge.WithAPIKey(localKey), sdkbridge.WithAgentID(localAgentID))
	}
	// The bridge's own metrics say what reached AgentOS.
	metrics := sdkmetric.NewManualReader()
	opts = append(opts,
		sdkbridge.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))),
		sdkbridge.WithTiming(sdkbridge.Timing{GracePeriod: 200 * time.Millisecond}),
		sdkbridge.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(metrics))),
	)

	var tpOpt sdktrace.TracerProviderOption
	var flushBridge func(context.Context) error
	if live {
		sp, err := sdkbridge.NewSpanProcessor(ctx, opts...)
		if err != nil {
			return err
		}
		tpOpt, flushBridge = sdktrace.WithSpanProcessor(sp), sp.ForceFlush
	} else {
		exp, err := sdkbridge.NewExporter(ctx, opts...)
		if err != nil {
			return err
		}
		tpOpt, flushBridge = sdktrace.WithBatcher(exp), exp.ForceFlush
	}
	tp := sdktrace.NewTracerProvider(tpOpt, sdktrace.WithResource(agentResource()))

	a := newAgent(tp.Tracer("examples/agent"))
	for _, q := range questions {
		answer, err := a.Invoke(ctx, q)
		if err != nil {
			fmt.Fprintf(w, "agent: %q failed: %v\n", q, err)
			continue
		}
		fmt.Fprintf(w, "agent: %q -> %q\n", q, answer)
	}

	shutdownCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// Deliver everything first (the SDK's batcher does not pass ForceFlush
	// on to its exporter), so the metrics count it before Shutdown ends them.
	flushErr := tp.ForceFlush(shutdownCtx)
	flushErr = errors.Join(flushErr, flushBridge(shutdownCtx))
	if server == nil {
		fmt.Fprintln(w)
		printDelivered(shutdownCtx, w, metrics)
	}
	if err := errors.Join(flushErr, tp.Shutdown(shutdownCtx)); err != nil {
		return fmt.Errorf("delivering the runs: %w", err)
	}
	if server != nil {
		fmt.Fprintln(w)
		printRuns(w, server.Runs())
	}
	return nil
}
