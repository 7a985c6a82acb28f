package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

	"github.com/agentos-ai/agentos-otel/sdkbridge"
)

// loadConfig is what the soak hands a load child (-role load), as JSON.
type loadConfig struct {
	FrontEnd frontEnd
	// Endpoint is the AgentOS base URL for the SDK front ends, the
	// collector's OTLP/HTTP host:port otherwise.
	Endpoint        string
	AgentID, APIKey string
	TracePrefix     [8]byte
	Runs, Spans     int
	Workers         int
	Pace            time.Duration
	Timeout         time.Duration // HTTP client timeout of the SDK front ends; 0: default
	Batch           int           // the batch span processor's batch size, exported every 5 ms; 0: its defaults
	// Resend makes the OTLP client send a batch again until the collector
	// acknowledges it (or the deadline passes): otlptracehttp does not
	// retry a refused connection, and a killed collector refuses them.
	Resend   bool
	Deadline time.Duration // from the first span, for everything including Shutdown
}

// loadResult is what a load child prints on stdout.
type loadResult struct {
	Start         time.Time     // first span produced
	Produced      time.Duration // until every run was traced
	Elapsed       time.Duration // until Shutdown returned
	ShutdownError string        `json:",omitempty"`
	Dropped       int64         `json:",omitempty"` // the live processor's dropped span starts and ends
}

// runLoad is the load child: it traces cfg.Runs runs from cfg.Workers
// goroutines, like an agent serving many sessions, then shuts the tracer
// provider down, which delivers what is left.
func runLoad(cfgJSON string) error {
	var cfg loadConfig
	if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
		return fmt.Errorf("load config: %w", err)
	}
	ctx := context.Background()
	tp, dropped, err := newTracerProvider(ctx, cfg)
	if err != nil {
		return err
	}
	tracer := tp.Tracer("soak")
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range cfg.Workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= cfg.Runs {
					return
				}
				if cfg.Pace > 0 {
					time.Sleep(time.Until(start.Add(cfg.Pace * time.Duration(i) / time.Duration(cfg.Runs))))
				}
				emitRun(ctx, tracer, traceID(cfg.TracePrefix, i), cfg.Spans)
			}
		})
	}
	wg.Wait()
	res := loadResult{Start: start, Produced: time.Since(start)}
	sctx, cancel := context.WithDeadline(ctx, start.Add(cfg.Deadline))
	defer cancel()
	if err := tp.Shutdown(sctx); err != nil {
		res.ShutdownError = err.Error()
	}
	res.Elapsed = time.Since(start)
	if dropped != nil {
		res.Dropped = dropped()
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// newTracerProvider wires the real SDK to cfg's front end. The batch span
// processor blocks the producers when its queue is full instead of
// dropping: the soak measures the bridge, not the SDK's queue.
func newTracerProvider(ctx context.Context, cfg loadConfig) (*sdktrace.TracerProvider, func() int64, error) {
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName("soak-agent"))),
		sdktrace.WithIDGenerator(presetIDs{}),
	}
	bridge := []sdkbridge.Option{
		sdkbridge.WithEndpoint(cfg.Endpoint), sdkbridge.WithAPIKey(cfg.APIKey), sdkbridge.WithAgentID(cfg.AgentID),
	}
	if cfg.Timeout > 0 {
		// WithTimeout, not a client of its own: the default client's pool
		// is sized to the runs in flight.
		bridge = append(bridge, sdkbridge.WithTimeout(cfg.Timeout))
	}
	var dropped func() int64
	switch cfg.FrontEnd {
	case exporterFE:
		exp, err := sdkbridge.NewExporter(ctx, bridge...)
		if err != nil {
			return nil, nil, err
		}
		opts = append(opts, sdktrace.WithBatcher(exp, sdktrace.WithBlocking()))
	case processorFE:
		sp, err := sdkbridge.NewSpanProcessor(ctx, bridge...)
		if err != nil {
			return nil, nil, err
		}
		opts = append(opts, sdktrace.WithSpanProcessor(sp))
		dropped = sp.DroppedSpans
	case collectorFE, otlphttpFE:
		var exp sdktrace.SpanExporter
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(cfg.Endpoint), otlptracehttp.WithInsecure())
		if err != nil {
			return nil, nil, err
		}
		if cfg.Resend {
			exp = resending{exp}
		}
		bsp := []sdktrace.BatchSpanProcessorOption{sdktrace.WithBlocking()}
		if cfg.Batch > 0 {
			bsp = append(bsp, sdktrace.WithMaxExportBatchSize(cfg.Batch), sdktrace.WithBatchTimeout(5*time.Millisecond))
		}
		opts = append(opts, sdktrace.WithBatcher(exp, bsp...))
	default:
		return nil, nil, fmt.Errorf("unknown front end %q", cfg.FrontEnd)
	}
	return sdktrace.NewTracerProvider(opts...), dropped, nil
}

// resending sends a batch again, every 100 ms, until it is acknowledged or
// ctx ends.
type resending struct{ sdktrace.SpanExporter }

func (r resending) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	for {
		err := r.SpanExporter.ExportSpans(ctx, spans)
		if err == nil || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}
