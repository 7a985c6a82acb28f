package bench

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/agentos-ai/agentos-otel/exporter/agentosexporter"
	"github.com/agentos-ai/agentos-otel/internal/delivery"
	"github.com/agentos-ai/agentos-otel/internal/ingest"
	"github.com/agentos-ai/agentos-otel/sdkbridge"
)

// protoClient is the SDK bridge's default client (internal/ingest) with
// its protocol pinned: HTTP/1.1 with one kept connection per run in
// flight, or HTTP/2 (multiplexed) wherever the server offers it by ALPN.
func protoClient(proto string, roots *x509.CertPool) *http.Client {
	tr := ingest.NewTransport(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}, nil, delivery.DefaultConcurrency)
	var p http.Protocols
	if proto == "h2" {
		p.SetHTTP2(true)
	} else {
		p.SetHTTP1(true)
	}
	tr.Protocols = &p
	return &http.Client{Transport: tr}
}

// BenchmarkConnsHTTP1VsHTTP2 is the SDK exporter against AgentOS over
// TLS, its client speaking HTTP/1.1 (one connection per run in flight,
// each a handshake once) or HTTP/2 (requests multiplexed over one
// connection), in alternating rounds of 512 spans whose runs are all
// delivered at once (64 runs of 8, or 10 of 50). It reports process CPU
// and wall time per span for each, and the connections each sink
// accepted per 1,000 runs (the first round's included); the sinks run in
// processes of their own and check the protocol each request came in.
func BenchmarkConnsHTTP1VsHTTP2(b *testing.B) {
	ctx := context.Background()
	for _, spansPerRun := range []int{8, 50} {
		b.Run(fmt.Sprintf("spans=%d", spansPerRun), func(b *testing.B) {
			sh := shape{spansPerRun, 100}
			runs := runsPerRound(spansPerRun)
			sinks := map[string]*childSink{"h1": startChildSink(b, "agentos-tls"), "h2": startChildSink(b, "agentos-tls")}
			var sides []side
			rounds := map[string]*int{}
			for _, proto := range []string{"h1", "h2"} {
				s := sinks[proto]
				exp, err := sdkbridge.NewExporter(ctx, append(bridgeOpts(s.URL), sdkbridge.WithHTTPClient(protoClient(proto, s.roots)))...)
				if err != nil {
					b.Fatal(err)
				}
				defer exp.Shutdown(ctx)
				n := new(int)
				rounds[proto] = n
				round := exportRound(b, exp)
				sides = append(sides, side{name: proto, prepare: func(i int) any { return runStubs(uint64(i), runs, sh, true).Snapshots() },
					round: func(in any) int { *n++; return round(in) }})
			}
			interleave(b, sides...)
			for _, proto := range []string{"h1", "h2"} {
				s := sinks[proto]
				total := *rounds[proto] * runs
				s.waitFor(b, int64(total))
				if h1, h2 := s.protos(b); (proto == "h2") != (h1 == 0) {
					b.Fatalf("the %s sink answered %d HTTP/1.1 and %d HTTP/2 requests", proto, h1, h2)
				}
				b.ReportMetric(float64(s.conns(b))*1000/float64(max(total, 1)), proto+"-conns/1000runs")
			}
		})
	}
}

// BenchmarkConnsCollectorExporter counts the connections the Collector
// exporter (built from its factory, sending queue and all) opens to a
// plain HTTP sink in rounds of 64 runs of 8 spans, each round delivered
// whole before the next: with its defaults, and with
// keepalive::max_idle_conns_per_host 16, which once closed most of the
// connections after every round. Connections per 1,000 runs include the
// first round's; the figure to compare is the runs in flight, 64.
func BenchmarkConnsCollectorExporter(b *testing.B) {
	ctx := context.Background()
	const runs = 64
	for _, perHost := range []int{0, 16} {
		name := "keepalive=default"
		if perHost > 0 {
			name = fmt.Sprintf("max_idle_conns_per_host=%d", perHost)
		}
		b.Run(name, func(b *testing.B) {
			sink := startChildSink(b, "agentos")
			f := agentosexporter.NewFactory()
			cfg := f.CreateDefaultConfig().(*agentosexporter.Config)
			cfg.ClientConfig.Endpoint = sink.URL
			cfg.APIKey = benchKey
			cfg.AgentID = benchAgent
			cfg.Timing.GracePeriod = time.Millisecond
			if perHost > 0 {
				ka := *cfg.ClientConfig.Keepalive.Get()
				ka.MaxIdleConnsPerHost = perHost
				cfg.ClientConfig.Keepalive = configoptional.Some(ka)
			}
			exp := startExporter(b, f, cfg)
			defer exp.Shutdown(ctx)
			total := 0
			for i := 0; b.Loop(); i++ {
				if err := exp.ConsumeTraces(ctx, pdataRuns(uint64(i), runs)); err != nil {
					b.Fatal(err)
				}
				total += runs
				sink.waitFor(b, int64(total))
			}
			b.ReportMetric(float64(sink.conns(b))*1000/float64(max(total, 1)), "conns/1000runs")
		})
	}
}

// pdataRuns is n runs of 8 spans as a receiver hands them over, children
// first; seq makes the trace ids unique.
func pdataRuns(seq uint64, n int) ptrace.Traces {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for r := range n {
		var tid pcommon.TraceID
		binary.BigEndian.PutUint64(tid[:8], seq+1)
		binary.BigEndian.PutUint64(tid[8:], uint64(r)+1)
		root := pcommon.SpanID{0xff, byte(r)}
		for c := range 7 {
			s := ss.AppendEmpty()
			s.SetTraceID(tid)
			s.SetSpanID(pcommon.SpanID{byte(c + 1), byte(r)})
			s.SetParentSpanID(root)
			s.SetName("chat gpt-4o")
			s.SetStartTimestamp(pcommon.NewTimestampFromTime(t0.Add(time.Duration(c) * time.Millisecond)))
			s.SetEndTimestamp(pcommon.NewTimestampFromTime(t0.Add(time.Duration(c+1) * time.Millisecond)))
			s.Attributes().PutStr("gen_ai.operation.name", "chat")
			s.Attributes().PutStr("gen_ai.request.model", "gpt-4o")
		}
		s := ss.AppendEmpty()
		s.SetTraceID(tid)
		s.SetSpanID(root)
		s.SetName("invoke_agent weather")
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(t0))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(t0.Add(10 * time.Millisecond)))
		s.Attributes().PutStr("gen_ai.operation.name", "invoke_agent")
	}
	return td
}
