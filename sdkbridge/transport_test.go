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
	if second != 0 {
		t.Errorf("the second burst dialed %d new connections (the first %d): the pool dropped them between bursts", second, first)
	}
}

// A caller's client whose pool is smaller than the concurrency is named in
// a warning; one sized to it is not.
func TestSmallConnectionPoolWarns(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client *http.Client
		warns  bool
	}{
		{"default transport", &http.Client{}, true},
		{"16 per host", &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}, true},
		{"sized", &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}}, false},
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
			if got := strings.Contains(logs.String(), "MaxIdleConnsPerHost"); got != tc.warns {
				t.Errorf("warned = %t, want %t; logs:\n%s", got, tc.warns, logs.String())
			}
		})
	}
}
