package sdkbridge_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/agentos-ai/agentos-otel/internal/localserver"
	"github.com/agentos-ai/agentos-otel/sdkbridge"
)

// clearEnv unsets every AGENTOS_ variable for the test.
func clearEnv(t *testing.T) {
	for _, v := range []string{sdkbridge.EnvAPIKey, sdkbridge.EnvAgentID, sdkbridge.EnvEndpoint, sdkbridge.EnvInsecure,
		sdkbridge.EnvTimeout, sdkbridge.EnvCertificate, sdkbridge.EnvClientCertificate, sdkbridge.EnvClientKey} {
		t.Setenv(v, "")
	}
}

// viaLocal is a client that dials addr whatever host a request names, so
// that a remote-looking endpoint reaches the local server.
func viaLocal(addr string) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConnsPerHost: 256,
	}}
}

// deliverOne sends one run with opts (on top of the key and agent) and
// returns the runs AgentOS holds and Shutdown's error.
func deliverOne(t *testing.T, srv *localserver.Server, opts ...sdkbridge.Option) ([]localserver.Run, error) {
	t.Helper()
	ctx := context.Background()
	opts = append([]sdkbridge.Option{
		sdkbridge.WithAPIKey(apiKey), sdkbridge.WithAgentID(agentID),
		sdkbridge.WithTiming(sdkbridge.Timing{GracePeriod: 10 * time.Millisecond}),
		sdkbridge.WithRetry(sdkbridge.RetryConfig{Enabled: false}),
		sdkbridge.WithLogger(slog.New(slog.DiscardHandler)),
	}, opts...)
	exp, err := sdkbridge.NewExporter(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	agentTurn(ctx, tp.Tracer("test"), false)
	err = tp.Shutdown(ctx)
	return srv.Runs(), err
}

// WithInsecure with a host endpoint means plain http, as in otlptracehttp;
// without it the same host gets https, which a plain server cannot answer.
// AGENTOS_INSECURE does the same from the environment.
func TestInsecureHostEndpointIsHTTP(t *testing.T) {
	const host = "agentos.internal:8787" // not loopback: https unless insecure
	for _, tc := range []struct {
		name      string
		env       map[string]string
		opts      []sdkbridge.Option
		delivered bool
	}{
		{"WithEndpoint and WithInsecure", nil, []sdkbridge.Option{sdkbridge.WithEndpoint(host), sdkbridge.WithInsecure()}, true},
		{"WithInsecure first", nil, []sdkbridge.Option{sdkbridge.WithInsecure(), sdkbridge.WithEndpoint(host)}, true},
		{"WithEndpoint alone", nil, []sdkbridge.Option{sdkbridge.WithEndpoint(host)}, false},
		{"AGENTOS_ENDPOINT and AGENTOS_INSECURE", map[string]string{sdkbridge.EnvEndpoint: host, sdkbridge.EnvInsecure: "true"}, nil, true},
		{"AGENTOS_INSECURE=false", map[string]string{sdkbridge.EnvEndpoint: host, sdkbridge.EnvInsecure: "false"}, nil, false},
		{"the option wins over AGENTOS_INSECURE=false", map[string]string{sdkbridge.EnvEndpoint: host, sdkbridge.EnvInsecure: "false"},
			[]sdkbridge.Option{sdkbridge.WithInsecure()}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			srv, url := newServer(t)
			opts := append([]sdkbridge.Option{sdkbridge.WithHTTPClient(viaLocal(strings.TrimPrefix(url, "http://")))}, tc.opts...)
			runs, err := deliverOne(t, srv, opts...)
			if got := len(runs) == 1 && err == nil; got != tc.delivered {
				t.Fatalf("delivered %v (runs %d, Shutdown %v), want %v", got, len(runs), err, tc.delivered)
			}
		})
	}
}

// An https:// URL keeps its scheme under WithInsecure.
func TestInsecureKeepsHTTPSURL(t *testing.T) {
	clearEnv(t)
	srv, url := newServer(t)
	runs, err := deliverOne(t, srv, sdkbridge.WithHTTPClient(viaLocal(strings.TrimPrefix(url, "http://"))),
		sdkbridge.WithEndpointURL("https://agentos.internal:8787"), sdkbridge.WithInsecure())
	if err == nil || len(runs) != 0 {
		t.Fatalf("https URL reached a plain server: Shutdown %v, %d runs", err, len(runs))
	}
}

func TestEnvErrorsNameTheVariable(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{sdkbridge.EnvInsecure: "yes please"}, `AGENTOS_INSECURE: "yes please" is not true or false`},
		{map[string]string{sdkbridge.EnvTimeout: "soon"}, `AGENTOS_TIMEOUT: "soon" is neither milliseconds nor`},
		{map[string]string{sdkbridge.EnvTimeout: "-5"}, `AGENTOS_TIMEOUT: "-5" must be positive`},
		{map[string]string{sdkbridge.EnvCertificate: "/nonexistent/ca.pem"}, "AGENTOS_CERTIFICATE: open /nonexistent/ca.pem"},
		{map[string]string{sdkbridge.EnvClientCertificate: "/some/cert.pem"}, "AGENTOS_CLIENT_CERTIFICATE and AGENTOS_CLIENT_KEY: set both or neither"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := sdkbridge.NewExporter(context.Background(), sdkbridge.WithAPIKey(apiKey), sdkbridge.WithAgentID(agentID))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// AGENTOS_TIMEOUT bounds each attempt; WithTimeout wins over it.
func TestEnvTimeout(t *testing.T) {
	clearEnv(t)
	srv, url := newServer(t)
	srv.SetFaults(localserver.Faults{Latency: 300 * time.Millisecond})
	t.Setenv(sdkbridge.EnvTimeout, "20") // milliseconds
	_, err := deliverOne(t, srv, sdkbridge.WithEndpoint(url))
	var de *sdkbridge.DeliveryError
	if !errors.As(err, &de) || !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("with a 20 ms timeout against 300 ms of latency: %v, want a DeliveryError for a timeout", err)
	}
	srv.Reset()
	srv.RegisterAgent(agentID, apiKey)
	if runs, err := deliverOne(t, srv, sdkbridge.WithEndpoint(url), sdkbridge.WithTimeout(10*time.Second)); err != nil || len(runs) != 1 {
		t.Fatalf("WithTimeout(10s) over AGENTOS_TIMEOUT: Shutdown %v, %d runs", err, len(runs))
	}
}

// AGENTOS_CERTIFICATE makes the default client trust a private CA, and
// AGENTOS_CLIENT_CERTIFICATE with AGENTOS_CLIENT_KEY present a client
// certificate; WithTLSClientConfig replaces them.
func TestEnvCertificates(t *testing.T) {
	local := localserver.New(localserver.Options{})
	local.RegisterAgent(agentID, apiKey)
	var clientCerts atomic.Int64
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) > 0 {
			clientCerts.Add(1)
		}
		local.ServeHTTP(w, r)
	}))
	ts.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	ts.StartTLS()
	t.Cleanup(ts.Close)

	// The test server's certificate serves as CA and as client certificate.
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	keyDER, err := x509.MarshalPKCS8PrivateKey(ts.TLS.Certificates[0].PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}

	clearEnv(t)
	t.Setenv(sdkbridge.EnvEndpoint, ts.URL)
	if runs, err := deliverOne(t, local); err == nil || len(runs) != 0 {
		t.Fatalf("an unknown CA was trusted: Shutdown %v, %d runs", err, len(runs))
	}

	t.Setenv(sdkbridge.EnvCertificate, certFile)
	if runs, err := deliverOne(t, local); err != nil || len(runs) != 1 {
		t.Fatalf("with AGENTOS_CERTIFICATE: Shutdown %v, %d runs", err, len(runs))
	}
	if n := clientCerts.Load(); n != 0 {
		t.Fatalf("%d requests had a client certificate before one was set", n)
	}

	t.Setenv(sdkbridge.EnvClientCertificate, certFile)
	t.Setenv(sdkbridge.EnvClientKey, keyFile)
	if runs, err := deliverOne(t, local); err != nil || len(runs) != 2 {
		t.Fatalf("with a client certificate: Shutdown %v, %d runs", err, len(runs))
	}
	if clientCerts.Load() == 0 {
		t.Fatal("no request presented the client certificate")
	}

	// The option replaces the variables: without the CA, refused again.
	if runs, err := deliverOne(t, local, sdkbridge.WithTLSClientConfig(&tls.Config{MinVersion: tls.VersionTLS12})); err == nil || len(runs) != 2 {
		t.Fatalf("WithTLSClientConfig did not replace AGENTOS_CERTIFICATE: Shutdown %v, %d runs", err, len(runs))
	}
}
