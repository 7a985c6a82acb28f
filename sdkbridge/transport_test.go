package sdkbridge_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
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
