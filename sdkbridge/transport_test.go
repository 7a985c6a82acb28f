package sdkbridge_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/localserver"
	"github.com/agentos-ai/agentos-otel/sdkbridge"
)

// The otlptracehttp-style transport options reach AgentOS: a server with a
// private CA is trusted through WithTLSClientConfig, every request carries
// WithHeaders' headers, and WithProxy's proxy carries them all.
func TestTransportOptions(t *testing.T) {
	srv := localserver.New(localserver.Options{})
	srv.RegisterAgent(agentID, apiKey)
	var mu sync.Mutex
	tenants := map[string]int{}
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		tenants[r.Header.Get("X-Tenant")]++
		mu.Unlock()
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	roots := x509.NewCertPool()
	roots.AddCert(ts.Certificate())

	// A CONNECT proxy that counts the tunnels it opened to AgentOS.
	var tunnels atomic.Int64
	target, _ := url.Parse(ts.URL)
	proxy := httptest.NewServer(connectProxy(t, target.Host, &tunnels))
	t.Cleanup(proxy.Close)
	proxyURL, _ := url.Parse(proxy.URL)

	exp, err := sdkbridge.NewExporter(context.Background(), bridgeOptions(ts.URL,
		sdkbridge.WithTLSClientConfig(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}),
		sdkbridge.WithHeaders(map[string]string{"X-Tenant": "blue"}),
		sdkbridge.WithProxy(http.ProxyURL(proxyURL)),
		sdkbridge.WithTimeout(10*time.Second),
	)...)
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	agentTurn(context.Background(), tp.Tracer("test"), false)
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	runs := srv.Runs()
	if len(runs) != 1 || runs[0].Status != "completed" {
		t.Fatalf("runs = %+v, want one completed", runs)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(tenants) != 1 || tenants["blue"] < 3 {
		t.Errorf("X-Tenant per request = %v, want blue on all (at least start, events, complete)", tenants)
	}
	if tunnels.Load() == 0 {
		t.Error("no request went through the proxy")
	}
}

// connectProxy tunnels CONNECT requests to host only.
func connectProxy(t *testing.T, host string, tunnels *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect || r.Host != host {
			http.Error(w, "not a tunnel to AgentOS", http.StatusForbidden)
			return
		}
		upstream, err := (&net.Dialer{}).DialContext(r.Context(), "tcp", host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusOK)
		client, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			upstream.Close()
			return
		}
		tunnels.Add(1)
		go func() { _, _ = io.Copy(upstream, client); upstream.Close() }()
		_, _ = io.Copy(client, upstream)
		client.Close()
	})
}

func TestTransportOptionErrors(t *testing.T) {
	for _, k := range []string{sdkbridge.EnvAPIKey, sdkbridge.EnvAgentID, sdkbridge.EnvEndpoint} {
		t.Setenv(k, "")
	}
	for _, tc := range []struct {
		name string
		opts []sdkbridge.Option
		want string
	}{
		{"reserved header", []sdkbridge.Option{sdkbridge.WithHeaders(map[string]string{"authorization": "Bearer x"})},
			"agentos: WithHeaders: Authorization is set by the client"},
		{"negative timeout", []sdkbridge.Option{sdkbridge.WithTimeout(-time.Second)},
			"agentos: WithTimeout: must not be negative, got -1s"},
		{"TLS with a client", []sdkbridge.Option{sdkbridge.WithHTTPClient(&http.Client{}), sdkbridge.WithTLSClientConfig(&tls.Config{MinVersion: tls.VersionTLS12})},
			"agentos: WithTLSClientConfig (with WithHTTPClient, set TLS on your client's transport): configures the default client; set it on HTTPClient's transport instead"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := append([]sdkbridge.Option{sdkbridge.WithAPIKey(apiKey), sdkbridge.WithAgentID(agentID)}, tc.opts...)
			_, err := sdkbridge.NewExporter(context.Background(), opts...)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

// Many runs delivered at once keep their connections between bursts: the
// default client's pool holds one per run in flight, so a second burst as
// large as the first dials nothing new. A smaller pool closes most of them
// after each burst, and over TLS every new one is a handshake.
func TestBurstsReuseConnections(t *testing.T) {
	srv := localserver.New(localserver.Options{})
	srv.RegisterAgent(agentID, apiKey)
	var dialed atomic.Int64
	ts := httptest.NewUnstartedServer(srv)
	ts.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			dialed.Add(1)
		}
	}
	ts.Start()
	t.Cleanup(ts.Close)

	const runs = 64
	ctx := context.Background()
	exp, err := sdkbridge.NewExporter(ctx, bridgeOptions(ts.URL, sdkbridge.WithConcurrency(runs))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = exp.Shutdown(ctx) })
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithMaxExportBatchSize(runs*8)))
	burst := func() int64 {
		before := dialed.Load()
		var wg sync.WaitGroup
		for range runs {
			wg.Go(func() { agentTurn(ctx, tp.Tracer("test"), false) })
		}
		wg.Wait()
		// The batcher hands the spans over; the exporter then delivers
		// them without waiting for the grace period.
		if err := tp.ForceFlush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := exp.ForceFlush(ctx); err != nil {
			t.Fatal(err)
		}
		return dialed.Load() - before
	}
	first := burst()
	second := burst()
	if n := len(srv.Runs()); n != 2*runs {
		t.Fatalf("%d runs arrived, want %d", n, 2*runs)
	}
	if first < 2 {
		t.Fatalf("the first burst dialed %d connections: runs were not delivered in parallel, so the test proves nothing", first)
	}
	// The second burst may need the few connections the first did not
	// reach, never more than one per run in flight in all.
	if first+second > runs {
		t.Errorf("the second burst dialed %d new connections (the first %d, %d runs in flight): the pool dropped them between bursts", second, first, runs)
	}
}

// A caller's client whose pool is smaller than the concurrency is named in
// a warning with the figures as net/http reads them (MaxIdleConnsPerHost 0
// keeps 2, a negative one none); one sized to it, or a transport the bridge
// cannot inspect, is not.
func TestSmallConnectionPoolWarns(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client *http.Client
		want   string // in the warning; empty: no warning
	}{
		{"default transport", &http.Client{}, "keeps 2 idle connections to AgentOS (MaxIdleConnsPerHost 0, MaxIdleConns 100) where 256 runs are delivered at once (WithConcurrency): over HTTP/1.1 up to 254 connections"},
		{"16 per host", &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}, "keeps 16 idle connections to AgentOS (MaxIdleConnsPerHost 16, MaxIdleConns 0) where 256 runs are delivered at once (WithConcurrency): over HTTP/1.1 up to 240 connections"},
		{"8 in all", &http.Client{Transport: &http.Transport{MaxIdleConns: 8, MaxIdleConnsPerHost: 300}}, "keeps 8 idle connections"},
		{"none per host", &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: -1}}, "keeps 0 idle connections"},
		{"keep-alives off", &http.Client{Transport: &http.Transport{DisableKeepAlives: true, MaxIdleConnsPerHost: 256}}, "keep-alives off (DisableKeepAlives)"},
		{"sized", &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}}, ""},
		{"wrapped", &http.Client{Transport: roundTripperFunc(http.DefaultTransport.RoundTrip)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs strings.Builder
			exp, err := sdkbridge.NewExporter(context.Background(), bridgeOptions("http://127.0.0.1:1",
				sdkbridge.WithHTTPClient(tc.client),
				sdkbridge.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))))...)
			if err != nil {
				t.Fatal(err)
			}
			_ = exp.Shutdown(context.Background())
			got := logs.String()
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("logs:\n%s\nwant a warning with %q", got, tc.want)
			}
		})
	}
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Under steady load each front end opens at most one connection per run in
// flight: 1,000 runs with 32 in flight, against a server that takes a
// millisecond per request so that deliveries overlap, dial at most 32.
func TestSteadyLoadReusesConnections(t *testing.T) {
	const (
		runs     = 1000
		inFlight = 32
		tracers  = 16
	)
	for _, fe := range []string{"exporter", "processor"} {
		t.Run(fe, func(t *testing.T) {
			srv := localserver.New(localserver.Options{})
			srv.RegisterAgent(agentID, apiKey)
			var accepted atomic.Int64
			ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				time.Sleep(time.Millisecond)
				srv.ServeHTTP(w, r)
			}))
			ts.Config.ConnState = func(_ net.Conn, state http.ConnState) {
				if state == http.StateNew {
					accepted.Add(1)
				}
			}
			ts.Start()
			t.Cleanup(ts.Close)

			ctx := context.Background()
			opts := bridgeOptions(ts.URL, sdkbridge.WithConcurrency(inFlight))
			var tp *sdktrace.TracerProvider
			if fe == "exporter" {
				exp, err := sdkbridge.NewExporter(ctx, opts...)
				if err != nil {
					t.Fatal(err)
				}
				tp = sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(5*time.Millisecond)))
			} else {
				sp, err := sdkbridge.NewSpanProcessor(ctx, opts...)
				if err != nil {
					t.Fatal(err)
				}
				tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			for range tracers {
				wg.Go(func() {
					for next.Add(1) <= runs {
						agentTurn(ctx, tp.Tracer("test"), false)
					}
				})
			}
			wg.Wait()
			completed := func() int { return srv.Stats().Requests[agentosapi.PathRunComplete] }
			deadline := time.Now().Add(60 * time.Second)
			for completed() < runs && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if err := tp.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			if n := completed(); n != runs {
				t.Fatalf("%d runs completed, want %d", n, runs)
			}
			dialed := accepted.Load()
			t.Logf("%d connections for %d runs, %d in flight", dialed, runs, inFlight)
			if dialed < 2 {
				t.Fatalf("%d connections: runs were not delivered in parallel, so the test proves nothing", dialed)
			}
			if dialed > inFlight {
				t.Errorf("%d connections for %d runs with %d in flight: connections churned", dialed, runs, inFlight)
			}
		})
	}
}

// The default client speaks HTTP/1.1 even to a server offering HTTP/2 by
// ALPN: its connections are kept, and multiplexing measured no cheaper.
func TestDefaultClientSpeaksHTTP1(t *testing.T) {
	srv := localserver.New(localserver.Options{})
	srv.RegisterAgent(agentID, apiKey)
	var h1, h2 atomic.Int64
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 {
			h2.Add(1)
		} else {
			h1.Add(1)
		}
		srv.ServeHTTP(w, r)
	}))
	ts.EnableHTTP2 = true
	ts.StartTLS()
	t.Cleanup(ts.Close)
	roots := x509.NewCertPool()
	roots.AddCert(ts.Certificate())
	exp, err := sdkbridge.NewExporter(context.Background(), bridgeOptions(ts.URL,
		sdkbridge.WithTLSClientConfig(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}))...)
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	agentTurn(context.Background(), tp.Tracer("test"), false)
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h1.Load() < 3 || h2.Load() != 0 {
		t.Errorf("%d HTTP/1.1 and %d HTTP/2 requests, want every one (at least 3) in HTTP/1.1", h1.Load(), h2.Load())
	}
}
