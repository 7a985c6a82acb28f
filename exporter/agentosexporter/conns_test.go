package agentosexporter

import (
	"context"
	"encoding/binary"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap/zapcore"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/localserver"
)

// countingServer is the strict local server behind a listener that counts
// the connections it accepted. Each request waits a millisecond first, so
// that deliveries overlap as they do against a remote AgentOS.
func countingServer(t *testing.T) (*localserver.Server, string, *atomic.Int64) {
	t.Helper()
	srv := localserver.New(localserver.Options{})
	srv.RegisterAgent(testAgent, testKey)
	var accepted atomic.Int64
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Millisecond)
		srv.ServeHTTP(w, r)
	}))
	hs.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			accepted.Add(1)
		}
	}
	hs.Start()
	t.Cleanup(hs.Close)
	return srv, hs.URL, &accepted
}

// runsBatch is runs [first, first+n) as a receiver hands them over: each a
// chat child, then its root.
func runsBatch(first, n int) ptrace.Traces {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i := first; i < first+n; i++ {
		var tid pcommon.TraceID
		binary.BigEndian.PutUint64(tid[8:], uint64(i)+1)
		tid[0] = 0xc0
		chat := ss.AppendEmpty()
		chat.SetTraceID(tid)
		chat.SetSpanID(pcommon.SpanID{2})
		chat.SetParentSpanID(pcommon.SpanID{1})
		chat.SetName("chat m")
		chat.SetStartTimestamp(ts(time.Millisecond))
		chat.SetEndTimestamp(ts(2 * time.Millisecond))
		chat.Attributes().PutStr("gen_ai.operation.name", "chat")
		chat.Attributes().PutStr("gen_ai.request.model", "m")
		root := ss.AppendEmpty()
		root.SetTraceID(tid)
		root.SetSpanID(pcommon.SpanID{1})
		root.SetName("invoke_agent demo")
		root.SetStartTimestamp(ts(0))
		root.SetEndTimestamp(ts(3 * time.Millisecond))
		root.Attributes().PutStr("gen_ai.operation.name", "invoke_agent")
	}
	return td
}

// Under steady load the exporter opens at most one connection per run in
// flight, whatever the YAML says of the idle pool: 1,000 runs (3,000
// requests) with 32 in flight dial at most 32 connections, also when
// max_idle_conns_per_host (16) or max_idle_conns (8) would close most of
// them after every burst. Keep-alive itself is the user's to turn off.
func TestSteadyLoadReusesConnections(t *testing.T) {
	const (
		runs     = 1000
		inFlight = 32
		perBatch = 25
	)
	for _, tc := range []struct {
		name, keepalive string
		raised          bool
	}{
		{"defaults", "", false},
		{"max_idle_conns_per_host 16", "  keepalive:\n    max_idle_conns_per_host: 16\n", true},
		{"max_idle_conns 8", "  keepalive:\n    max_idle_conns: 8\n    max_idle_conns_per_host: 8\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, url, accepted := countingServer(t)
			yaml := "agentos:\n  endpoint: " + url + "\n  api_key: " + testKey + "\n  agent_id: " + testAgent +
				"\n  concurrency: 32\n  timing:\n    grace_period: 10ms\n" + tc.keepalive
			path := filepath.Join(t.TempDir(), "config.yaml")
			require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))
			cm, err := confmaptest.LoadConf(path)
			require.NoError(t, err)
			sub, err := cm.Sub("agentos")
			require.NoError(t, err)
			f := NewFactory()
			cfg := f.CreateDefaultConfig().(*Config)
			require.NoError(t, sub.Unmarshal(cfg))
			require.NoError(t, cfg.Validate())
			require.Equal(t, inFlight, cfg.Concurrency)

			o := newObserved(t)
			ctx := context.Background()
			exp, err := f.CreateTraces(ctx, o.settings(), cfg)
			require.NoError(t, err)
			require.NoError(t, exp.Start(ctx, componenttest.NewNopHost()))
			for i := 0; i < runs; i += perBatch {
				require.NoError(t, exp.ConsumeTraces(ctx, runsBatch(i, perBatch)))
			}
			completed := func() int { return srv.Stats().Requests[agentosapi.PathRunComplete] }
			require.Eventually(t, func() bool { return completed() == runs }, 60*time.Second, 10*time.Millisecond,
				"runs completed: %d of %d", completed(), runs)
			require.NoError(t, exp.Shutdown(ctx))

			dialed := accepted.Load()
			t.Logf("%d connections for %d runs, %d in flight", dialed, runs, inFlight)
			require.GreaterOrEqual(t, dialed, int64(2), "runs were not delivered in parallel: the test proves nothing")
			require.LessOrEqual(t, dialed, int64(inFlight), "connections churned: more were opened than runs are in flight")
			raised := o.logs.FilterMessageSnippet("raised to concurrency").FilterLevelExact(zapcore.InfoLevel).Len()
			require.Equal(t, tc.raised, raised == 1, "the log says when the pool was raised")
		})
	}
}

// Keep-alive turned off is left off, and said.
func TestKeepaliveOffWarns(t *testing.T) {
	cfg := testConfig("http://127.0.0.1:1")
	cfg.ClientConfig.Keepalive = configoptional.None[confighttp.KeepaliveClientConfig]()
	o := newObserved(t)
	ctx := context.Background()
	exp, err := NewFactory().CreateTraces(ctx, o.settings(), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(ctx, componenttest.NewNopHost()))
	require.NoError(t, exp.Shutdown(ctx))
	require.Equal(t, 1, o.logs.FilterMessageSnippet("keepalive is off").FilterLevelExact(zapcore.WarnLevel).Len())
}

// By default the exporter speaks HTTP/1.1 even to a server offering HTTP/2
// by ALPN (connections are kept, and multiplexing measured no cheaper);
// force_attempt_http2 turns HTTP/2 back on.
func TestHTTPVersion(t *testing.T) {
	for _, tc := range []struct {
		name  string
		keys  map[string]any
		proto int
	}{
		{"default", map[string]any{}, 1},
		{"force_attempt_http2", map[string]any{"force_attempt_http2": true}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := localserver.New(localserver.Options{})
			srv.RegisterAgent(testAgent, testKey)
			var protos sync.Map // ProtoMajor → true
			hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				protos.Store(r.ProtoMajor, true)
				srv.ServeHTTP(w, r)
			}))
			hs.EnableHTTP2 = true
			hs.StartTLS()
			t.Cleanup(hs.Close)
			cfg := testConfig(hs.URL)
			cfg.ClientConfig.TLS.CAPem = configopaque.String(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hs.Certificate().Raw}))
			require.NoError(t, confmap.NewFromStringMap(tc.keys).Unmarshal(cfg))
			runExporter(t, cfg, exportertest.NewNopSettings(NewFactory().Type()), oneRun(1))
			require.Len(t, srv.Runs(), 1)
			var seen []int
			protos.Range(func(k, _ any) bool { seen = append(seen, k.(int)); return true })
			require.Equal(t, []int{tc.proto}, seen, "HTTP major versions of the requests")
		})
	}
}
