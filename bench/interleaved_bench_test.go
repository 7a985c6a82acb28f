package bench

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/otlphttpexporter"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

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
				agentos, otlp := startChildSink(b, "agentos"), startChildSink(b, "otlp")
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
				limit := newMinimalClient(agentos.URL)
				gen := func(i int) any { return runStubs(uint64(i), runs, sc.sh, true).Snapshots() }
				interleave(b,
					side{"ours", gen, func(in any) int {
						ss := in.([]sdktrace.ReadOnlySpan)
						if err := ours.ExportSpans(ctx, ss); err != nil {
							b.Fatal(err)
						}
						if err := ours.ForceFlush(ctx); err != nil {
							b.Fatal(err)
						}
						return len(ss)
					}},
					side{"peer", gen, func(in any) int {
						ss := in.([]sdktrace.ReadOnlySpan)
						if err := theirs.ExportSpans(ctx, ss); err != nil {
							b.Fatal(err)
						}
						return len(ss)
					}},
					side{"limit", gen, func(in any) int {
						ss := in.([]sdktrace.ReadOnlySpan)
						if err := limit.sendRuns(ss); err != nil {
							b.Fatal(err)
						}
						return len(ss)
					}},
				)
			})
		}
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
					side{"ours", gen, func(in any) int {
						td := in.(ptrace.Traces)
						n := td.SpanCount()
						if err := ours.ConsumeTraces(ctx, td); err != nil {
							b.Fatal(err)
						}
						closed += int64(runs)
						agentos.waitFor(b, closed)
						return n
					}},
					side{"peer", gen, func(in any) int {
						td := in.(ptrace.Traces)
						n := td.SpanCount()
						if err := theirs.ConsumeTraces(ctx, td); err != nil {
							b.Fatal(err)
						}
						return n
					}},
				)
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
			ours, err := sdkbridge.NewExporter(ctx, bridgeOpts(sink.URL)...)
			if err != nil {
				b.Fatal(err)
			}
			defer ours.Shutdown(ctx)
			sh := shape{tc.spansPerRun, 100}
			runs := max(tc.openRuns, 2048/tc.spansPerRun)
			interleave(b, side{"ours", func(i int) any {
				return openRunsRound(uint64(i), runs, tc.openRuns, sh)
			}, func(in any) int {
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
			}})
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
