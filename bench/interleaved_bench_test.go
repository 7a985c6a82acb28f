package bench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/otlphttpexporter"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/agentos-ai/agentos-otel/exporter/agentosexporter"
	"github.com/agentos-ai/agentos-otel/sdkbridge"
)

// BenchmarkInterleavedSDKExport: each round exports fresh whole runs (roots
// last); ours calls ForceFlush, so every run is started, filled and closed
// over HTTP; otlptracehttp's ExportSpans returns once the sink has
// answered; the minimal client (limit) sends the same requests ours does.
// Sinks run in their own processes.
func BenchmarkInterleavedSDKExport(b *testing.B) {
	ctx := context.Background()
	peers := []struct {
		name string
		opts []otlptracehttp.Option
	}{
		{"otlptracehttp", nil}, // its default: no compression
		{"otlptracehttp-gzip", []otlptracehttp.Option{otlptracehttp.WithCompression(otlptracehttp.GzipCompression)}},
	}
	for _, sc := range shapes {
		for _, peer := range peers {
			b.Run(sc.name+"/peer="+peer.name, func(b *testing.B) {
				runs := runsPerRound(sc.sh.spansPerRun)
				agentos, otlp, limitSink := startChildSink(b, "agentos"), startChildSink(b, "otlp"), startChildSink(b, "agentos")
				ours, err := sdkbridge.NewExporter(ctx, bridgeOpts(agentos.URL)...)
				if err != nil {
					b.Fatal(err)
				}
				defer ours.Shutdown(ctx)
				theirs, err := otlptracehttp.New(ctx, append(peer.opts, otlptracehttp.WithEndpointURL(otlp.URL+"/v1/traces"))...)
				if err != nil {
					b.Fatal(err)
				}
				defer theirs.Shutdown(ctx)
				limit := newMinimalClient(limitSink.URL)
				gen := func(i int) any { return runStubs(uint64(i), runs, sc.sh, true).Snapshots() }
				interleave(b,
					side{name: "ours", prepare: gen, round: exportRound(b, ours)}.counted(agentos, runs),
					side{name: "peer", prepare: gen, round: func(in any) int {
						ss := in.([]sdktrace.ReadOnlySpan)
						if err := theirs.ExportSpans(ctx, ss); err != nil {
							b.Fatal(err)
						}
						return len(ss)
					}}.counted(otlp, runs),
					side{name: "limit", prepare: gen, round: limitRound(b, limit)}.counted(limitSink, runs),
				)
			})
		}
	}
}

// BenchmarkInterleavedPromptSize is what a large prompt costs per span
// against a small one, both measured in the same run: rounds with 100 B
// and 10 KB prompts and answers alternate, through ours and through the
// minimal client, so that load on the machine drifts the same way for the
// two sizes (as separate sub-benchmarks they would run minutes apart).
func BenchmarkInterleavedPromptSize(b *testing.B) {
	ctx := context.Background()
	for _, spansPerRun := range []int{8, 50, 200} {
		b.Run(fmt.Sprintf("spans=%d", spansPerRun), func(b *testing.B) {
			runs := runsPerRound(spansPerRun)
			agentos := startChildSink(b, "agentos")
			ours, err := sdkbridge.NewExporter(ctx, bridgeOpts(agentos.URL)...)
			if err != nil {
				b.Fatal(err)
			}
			defer ours.Shutdown(ctx)
			limit := newMinimalClient(agentos.URL)
			// Each size has trace ids of its own: ours sees both.
			gen := func(prompt int, size uint64) func(i int) any {
				return func(i int) any {
					return runStubs(uint64(i)<<1|size, runs, shape{spansPerRun, prompt}, true).Snapshots()
				}
			}
			viaOurs, viaLimit := exportRound(b, ours), limitRound(b, limit)
			interleave(b,
				side{name: "ours100B", prepare: gen(100, 0), round: viaOurs},
				side{name: "ours10KB", prepare: gen(10<<10, 1), round: viaOurs},
				side{name: "limit100B", prepare: gen(100, 0), round: viaLimit},
				side{name: "limit10KB", prepare: gen(10<<10, 1), round: viaLimit},
			)
		})
	}
}

// BenchmarkInterleavedCollectorExporter pushes fresh whole runs through
// each exporter component (exporterhelper included, queue off). otlphttp's
// call returns once the sink has answered; ours returns once the runs are
// tracked, so its round then waits until the sink has closed them all.
func BenchmarkInterleavedCollectorExporter(b *testing.B) {
	ctx := context.Background()
	for _, sc := range shapes {
		for _, gz := range []bool{true, false} {
			name := sc.name + "/peer=otlphttp-gzip"
			if !gz {
				name = sc.name + "/peer=otlphttp-nocompression"
			}
			b.Run(name, func(b *testing.B) {
				runs := runsPerRound(sc.sh.spansPerRun)
				agentos, otlp := startChildSink(b, "agentos"), startChildSink(b, "otlp")

				pf := otlphttpexporter.NewFactory()
				pcfg := pf.CreateDefaultConfig().(*otlphttpexporter.Config)
				pcfg.ClientConfig.Endpoint = otlp.URL
				pcfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
				if !gz {
					pcfg.ClientConfig.Compression = configcompression.Type("")
				}
				theirs := startExporter(b, pf, pcfg)
				defer theirs.Shutdown(ctx)

				of := agentosexporter.NewFactory()
				ocfg := of.CreateDefaultConfig().(*agentosexporter.Config)
				ocfg.ClientConfig.Endpoint = agentos.URL
				ocfg.APIKey = benchKey
				ocfg.AgentID = benchAgent
				ocfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
				// Whole runs arrive in one batch: waiting for stragglers
				// would only add the same pause to every round.
				ocfg.Timing.GracePeriod = time.Millisecond
				ours := startExporter(b, of, ocfg)
				defer ours.Shutdown(ctx)

				gen := func(i int) any { return stubTraces(runStubs(uint64(i), runs, sc.sh, true)) }
				var closed int64
				interleave(b,
					side{name: "ours", prepare: gen, round: func(in any) int {
						td := in.(ptrace.Traces)
						n := td.SpanCount()
						if err := ours.ConsumeTraces(ctx, td); err != nil {
							b.Fatal(err)
						}
						closed += int64(runs)
						agentos.waitFor(b, closed)
						return n
					}}.counted(agentos, runs),
					side{name: "peer", prepare: gen, round: func(in any) int {
						td := in.(ptrace.Traces)
						n := td.SpanCount()
						if err := theirs.ConsumeTraces(ctx, td); err != nil {
							b.Fatal(err)
						}
						return n
					}}.counted(otlp, runs),
				)
			})
		}
	}
}

// BenchmarkInterleavedCollectorVsSDK is the Collector exporter (ours)
// against the SDK exporter (peer) and the minimal client (limit), on the
// same runs. Ours runs as users run it: the factory's default config
// (exporterhelper's sending queue and retry included) through the real
// component, fed one pdata batch a round as the otlp receiver hands over
// one export request; its round lasts until the sink has closed every
// run. The one setting changed is the grace period (1 ms), so that runs
// close at the next tick (every 25 ms, a quarter of the grace period
// and no less) rather than seconds later.
//
// The SDK exporter runs two ways. peer=sdkexporter calls ForceFlush after
// each export, as BenchmarkInterleavedSDKExport does: its runs close at
// once, and its round never sits idle. peer=sdkexporter-tick exports and
// lets its own tick close the runs, with the same 1 ms grace period, as
// under a BatchSpanProcessor: its round waits as ours does. Work that
// resumes after a pause costs more CPU on a loaded machine (caches gone
// cold), so the -tick rows compare like with like.
//
// Each side delivers to a sink process of its own, which counts the
// connections it accepts.
func BenchmarkInterleavedCollectorVsSDK(b *testing.B) {
	ctx := context.Background()
	for _, sc := range shapes {
		for _, tick := range []bool{false, true} {
			name := sc.name + "/peer=sdkexporter"
			if tick {
				name += "-tick"
			}
			b.Run(name, func(b *testing.B) {
				runs := runsPerRound(sc.sh.spansPerRun)
				collSink, sdkSink, limitSink := startChildSink(b, "agentos"), startChildSink(b, "agentos"), startChildSink(b, "agentos")

				f := agentosexporter.NewFactory()
				cfg := f.CreateDefaultConfig().(*agentosexporter.Config)
				cfg.ClientConfig.Endpoint = collSink.URL
				cfg.APIKey = benchKey
				cfg.AgentID = benchAgent
				cfg.Timing.GracePeriod = time.Millisecond
				coll := startExporter(b, f, cfg)
				defer coll.Shutdown(ctx)

				opts := bridgeOpts(sdkSink.URL)
				if tick {
					opts = append(opts, sdkbridge.WithTiming(sdkbridge.Timing{GracePeriod: time.Millisecond}))
				}
				sdk, err := sdkbridge.NewExporter(ctx, opts...)
				if err != nil {
					b.Fatal(err)
				}
				defer sdk.Shutdown(ctx)
				limit := newMinimalClient(limitSink.URL)

				genSDK := func(i int) any { return runStubs(uint64(i), runs, sc.sh, true).Snapshots() }
				genPdata := func(i int) any { return stubTraces(runStubs(uint64(i), runs, sc.sh, true)) }
				var collClosed, sdkClosed int64
				viaSDK := exportRound(b, sdk)
				if tick {
					viaSDK = func(in any) int {
						ss := in.([]sdktrace.ReadOnlySpan)
						if err := sdk.ExportSpans(ctx, ss); err != nil {
							b.Fatal(err)
						}
						sdkClosed += int64(runs)
						sdkSink.waitFor(b, sdkClosed)
						return len(ss)
					}
				}
				interleave(b,
					side{name: "ours", prepare: genPdata, round: func(in any) int {
						td := in.(ptrace.Traces)
						n := td.SpanCount()
						if err := coll.ConsumeTraces(ctx, td); err != nil {
							b.Fatal(err)
						}
						collClosed += int64(runs)
						collSink.waitFor(b, collClosed)
						return n
					}}.counted(collSink, runs),
					side{name: "peer", prepare: genSDK, round: viaSDK}.counted(sdkSink, runs),
					side{name: "limit", prepare: genSDK, round: limitRound(b, limit)}.counted(limitSink, runs),
				)
				// Every side sent the same runs, so the same events: a side
				// that dropped some would look cheaper than it is.
				if *onlySides == "" {
					c, s, l := collSink.eventBytes(b), sdkSink.eventBytes(b), limitSink.eventBytes(b)
					if c != l || s != l {
						b.Errorf("events bytes delivered: Collector exporter %d, SDK exporter %d, minimal client %d", c, s, l)
					}
				}
			})
		}
	}
}

// BenchmarkScalingSDKExport is the SDK exporter's cost per span as runs
// grow (spans per run, 8 per run below otherwise) and as more runs are
// held open at once (every child exported before any root). Flat rows
// mean no cost grows with run size or open runs.
func BenchmarkScalingSDKExport(b *testing.B) {
	ctx := context.Background()
	cases := []struct {
		name        string
		spansPerRun int
		openRuns    int // runs whose children are all exported before their roots
	}{
		{"spans_per_run=1", 1, 1},
		{"spans_per_run=10", 10, 1},
		{"spans_per_run=100", 100, 1},
		{"spans_per_run=1000", 1000, 1},
		{"spans_per_run=10000", 10000, 1},
		{"open_runs=1", 8, 1},
		{"open_runs=100", 8, 100},
		{"open_runs=10000", 8, 10000},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			sink := startChildSink(b, "agentos")
			// 10,000 open runs hold 70,000 spans: more than the default
			// 64 MiB bound on held spans allows.
			ours, err := sdkbridge.NewExporter(ctx, append(bridgeOpts(sink.URL),
				sdkbridge.WithLimits(sdkbridge.Limits{MaxBufferedBytes: 1 << 30}))...)
			if err != nil {
				b.Fatal(err)
			}
			defer ours.Shutdown(ctx)
			sh := shape{tc.spansPerRun, 100}
			runs := max(tc.openRuns, 2048/tc.spansPerRun)
			interleave(b, side{name: "ours", prepare: func(i int) any {
				return openRunsRound(uint64(i), runs, tc.openRuns, sh)
			}, round: func(in any) int {
				n := 0
				for _, batch := range in.([][]sdktrace.ReadOnlySpan) {
					if err := ours.ExportSpans(ctx, batch); err != nil {
						b.Fatal(err)
					}
					n += len(batch)
				}
				if err := ours.ForceFlush(ctx); err != nil {
					b.Fatal(err)
				}
				return n
			}}.counted(sink, runs))
		})
	}
}

// openRunsRound is runs runs of sh in export batches of at most 512 spans:
// groups of open runs have all their children exported, then their roots.
func openRunsRound(seq uint64, runs, open int, sh shape) [][]sdktrace.ReadOnlySpan {
	children := runStubs(seq, runs, sh, false)
	var order []sdktrace.ReadOnlySpan
	perRun := sh.spansPerRun - 1
	in := messagesJSON("user", sh.promptBytes)
	for g := 0; g < runs; g += open {
		end := min(g+open, runs)
		order = append(order, children[g*perRun:end*perRun].Snapshots()...)
		roots := make([]sdktrace.ReadOnlySpan, 0, end-g)
		for r := g; r < end; r++ {
			roots = append(roots, rootOf(seq, r, sh, in))
		}
		order = append(order, roots...)
	}
	var batches [][]sdktrace.ReadOnlySpan
	for lo := 0; lo < len(order); lo += 512 {
		batches = append(batches, order[lo:min(lo+512, len(order))])
	}
	return batches
}

// BenchmarkInterleavedProcessor traces whole runs through a span processor
// on one tracer provider each: ours (the live processor) against
// BatchSpanProcessor with otlptracehttp. A round starts and ends the spans
// of 512/spans-per-run runs on the caller's goroutine, then ForceFlush
// waits until all of it is delivered, so queues never fill: dropped/span
// must be 0 on both sides for the figures to count. The limit traces the
// same runs into a slice and sends them with the minimal client: what
// tracing with the SDK and reporting to AgentOS costs at the least.
func BenchmarkInterleavedProcessor(b *testing.B) {
	ctx := context.Background()
	for _, spansPerRun := range []int{8, 50, 200} {
		b.Run(fmt.Sprintf("spans=%d/prompt=100B/peer=batchspanprocessor", spansPerRun), func(b *testing.B) {
			agentos, otlp, limitSink := startChildSink(b, "agentos"), startChildSink(b, "otlp"), startChildSink(b, "agentos")
			live, err := sdkbridge.NewSpanProcessor(ctx, append(bridgeOpts(agentos.URL),
				sdkbridge.WithTiming(sdkbridge.Timing{GracePeriod: time.Millisecond}))...)
			if err != nil {
				b.Fatal(err)
			}
			ourTP := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(live))
			defer ourTP.Shutdown(ctx)
			otlpExp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(otlp.URL+"/v1/traces"))
			if err != nil {
				b.Fatal(err)
			}
			counted := &countingExporter{SpanExporter: otlpExp}
			peerTP := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sdktrace.NewBatchSpanProcessor(counted)))
			defer peerTP.Shutdown(ctx)

			collected := &collectingProcessor{}
			limitTP := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(collected))
			defer limitTP.Shutdown(ctx)
			limit := newMinimalClient(limitSink.URL)

			runs := runsPerRound(spansPerRun)
			in, out := messagesJSON("user", 100), messagesJSON("assistant", 100)
			trace := func(tp *sdktrace.TracerProvider) int {
				tr := tp.Tracer("bench")
				chat := oteltrace.WithAttributes(semconv.GenAIOperationNameChat, semconv.GenAIRequestModel("gpt-4o"),
					semconv.GenAIInputMessagesKey.String(in), semconv.GenAIOutputMessagesKey.String(out),
					semconv.GenAIUsageInputTokens(120), semconv.GenAIUsageOutputTokens(42))
				tool := oteltrace.WithAttributes(semconv.GenAIOperationNameExecuteTool, semconv.GenAIToolName("get_weather"),
					semconv.GenAIToolCallArgumentsKey.String(`{"city":"Paris"}`), semconv.GenAIToolCallResultKey.String(`{"temp_c":21}`))
				for range runs {
					rctx, root := tr.Start(ctx, "invoke_agent weather", oteltrace.WithAttributes(semconv.GenAIOperationNameInvokeAgent))
					for c := range spansPerRun - 1 {
						opts := chat
						name := "chat gpt-4o"
						if c%2 == 1 {
							opts, name = tool, "execute_tool get_weather"
						}
						_, s := tr.Start(rctx, name, opts)
						s.End()
					}
					root.End()
				}
				if tp == limitTP {
					// Each run's spans ended children first, root last, as
					// the minimal client wants them.
					if err := limit.sendRuns(collected.take()); err != nil {
						b.Fatal(err)
					}
				} else if err := tp.ForceFlush(ctx); err != nil {
					b.Fatal(err)
				}
				return runs * spansPerRun
			}
			none := func(int) any { return nil }
			var oursSpans, peerSpans int
			interleave(b,
				side{name: "ours", prepare: none, round: func(any) int { n := trace(ourTP); oursSpans += n; return n }}.counted(agentos, runs),
				side{name: "peer", prepare: none, round: func(any) int { n := trace(peerTP); peerSpans += n; return n }}.counted(otlp, runs),
				side{name: "limit", prepare: none, round: func(any) int { return trace(limitTP) }}.counted(limitSink, runs),
			)
			if oursSpans > 0 {
				b.ReportMetric(float64(live.DroppedSpans())/float64(oursSpans), "ours-dropped/span")
			}
			if peerSpans > 0 {
				b.ReportMetric(float64(int64(peerSpans)-counted.spans.Load())/float64(peerSpans), "peer-dropped/span")
			}
		})
	}
}

// collectingProcessor keeps the spans that ended, in order.
type collectingProcessor struct {
	mu    sync.Mutex
	spans []sdktrace.ReadOnlySpan
}

func (p *collectingProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (p *collectingProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	p.mu.Lock()
	p.spans = append(p.spans, s)
	p.mu.Unlock()
}
func (p *collectingProcessor) Shutdown(context.Context) error   { return nil }
func (p *collectingProcessor) ForceFlush(context.Context) error { return nil }

// take returns the spans ended so far and forgets them.
func (p *collectingProcessor) take() []sdktrace.ReadOnlySpan {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.spans
	p.spans = nil
	return out
}

// exportRound exports a round's spans through exp and flushes, so that
// every run is started, filled and closed over HTTP before it returns.
func exportRound(b *testing.B, exp *sdkbridge.Exporter) func(any) int {
	return func(in any) int {
		ss := in.([]sdktrace.ReadOnlySpan)
		if err := exp.ExportSpans(context.Background(), ss); err != nil {
			b.Fatal(err)
		}
		if err := exp.ForceFlush(context.Background()); err != nil {
			b.Fatal(err)
		}
		return len(ss)
	}
}

// limitRound sends a round's runs with the minimal client.
func limitRound(b *testing.B, limit *minimalClient) func(any) int {
	return func(in any) int {
		ss := in.([]sdktrace.ReadOnlySpan)
		if err := limit.sendRuns(ss); err != nil {
			b.Fatal(err)
		}
		return len(ss)
	}
}
