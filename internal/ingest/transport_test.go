package ingest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/configerr"
	"github.com/agentos-ai/agentos-otel/internal/localserver"
)

// The caller's headers go with every request, next to the client's own.
func TestHeadersAreSent(t *testing.T) {
	e := newEnv(t, envOpts{cfg: Config{Headers: map[string]string{"x-tenant": "blue", "X-Request-Source": "test"}}})
	e.start(t)
	reqs := e.rec.all()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	h := reqs[0].header
	if h.Get("X-Tenant") != "blue" || h.Get("X-Request-Source") != "test" {
		t.Errorf("headers = %v, want X-Tenant and X-Request-Source", h)
	}
	if h.Get("Authorization") != "Bearer "+testKey {
		t.Error("the caller's headers displaced Authorization")
	}
}

func TestHeadersRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		headers map[string]string
		want    string
	}{
		{"authorization", map[string]string{"authorization": "Bearer other"}, "Authorization is set by the client"},
		{"user agent", map[string]string{"User-Agent": "mine"}, "User-Agent is set by the client"},
		{"bad name", map[string]string{"X Tenant": "blue"}, `"X Tenant" is not a valid header name`},
		{"bad value", map[string]string{"X-Token": "secret\r\nX-Evil: 1"}, "the value of X-Token has characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Config{BaseURL: "https://agentos-ai.dev", DefaultKey: testKey, Headers: tc.headers})
			var fe *configerr.FieldError
			if !errors.As(err, &fe) || fe.Field != "Config.Headers" || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want a Config.Headers error with %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "other") {
				t.Errorf("a header value reached the error: %v", err)
			}
		})
	}
}

// TLSConfig, Proxy and Conns shape the default client only; with the
// caller's client they are a mistake to report, not to ignore. Conns may
// not be negative either.
func TestTransportSettingsNeedTheDefaultClient(t *testing.T) {
	proxy := func(*http.Request) (*url.URL, error) { return nil, nil }
	for _, tc := range []struct {
		name, field string
		cfg         Config
	}{
		{"tls", "Config.TLSConfig", Config{HTTPClient: &http.Client{}, TLSConfig: &tls.Config{}}},
		{"proxy", "Config.Proxy", Config{HTTPClient: &http.Client{}, Proxy: proxy}},
		{"conns", "Config.Conns", Config{HTTPClient: &http.Client{}, Conns: 8}},
		{"negative conns", "Config.Conns", Config{Conns: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.BaseURL, tc.cfg.DefaultKey = "https://agentos-ai.dev", testKey
			_, err := New(tc.cfg)
			var fe *configerr.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("error = %v, want one naming %s", err, tc.field)
			}
		})
	}
}

// TLSConfig reaches the default client's transport: a server whose
// certificate only that config trusts is reachable with it, not without.
func TestTLSConfig(t *testing.T) {
	srv := localserver.New(localserver.Options{})
	srv.RegisterAgent(agentA, testKey)
	ts := httptest.NewUnstartedServer(srv)
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	ts.StartTLS()
	t.Cleanup(ts.Close)
	roots := x509.NewCertPool()
	roots.AddCert(ts.Certificate())
	for _, tc := range []struct {
		name   string
		tls    *tls.Config
		wantOK bool
	}{
		{"trusted", &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}, true},
		{"system roots", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(Config{BaseURL: ts.URL, DefaultKey: testKey, TLSConfig: tc.tls, Retry: RetryPolicy{Enabled: false, MaxElapsedTime: 1}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.CloseIdleConnections)
			_, err = c.StartRun(context.Background(), &agentosapi.StartRunRequest{AgentID: agentA})
			if (err == nil) != tc.wantOK {
				t.Fatalf("StartRun error = %v, want success %t", err, tc.wantOK)
			}
		})
	}
}

// Proxy reaches the default client's transport: requests go through it.
func TestProxy(t *testing.T) {
	srv := localserver.New(localserver.Options{})
	srv.RegisterAgent(agentA, testKey)
	var proxied atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied.Add(1)
		srv.ServeHTTP(w, r) // absolute-form request; the path is the API's
	}))
	t.Cleanup(proxy.Close)
	proxyURL, _ := url.Parse(proxy.URL)
	// Nothing listens at the base URL: only the proxy can answer.
	c, err := New(Config{BaseURL: "http://127.0.0.1:9", DefaultKey: testKey, Proxy: http.ProxyURL(proxyURL)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	if _, err := c.StartRun(context.Background(), &agentosapi.StartRunRequest{AgentID: agentA}); err != nil {
		t.Fatal(err)
	}
	if proxied.Load() != 1 {
		t.Errorf("%d requests through the proxy, want 1", proxied.Load())
	}
}

// A caller's client without a redirect policy of its own does not follow
// redirects either (one could carry the key elsewhere); one with a policy
// keeps it.
func TestCallersClientRedirects(t *testing.T) {
	var elsewhere atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		elsewhere.Add(1)
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(target.Close)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+r.URL.Path, http.StatusPermanentRedirect)
	}))
	t.Cleanup(redirector.Close)

	var policyCalls atomic.Int64
	for _, tc := range []struct {
		name          string
		client        *http.Client
		wantStatus    int
		wantElsewhere int64
	}{
		{"no policy", &http.Client{}, http.StatusPermanentRedirect, 0},
		{"own policy", &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			policyCalls.Add(1)
			return nil
		}}, http.StatusTeapot, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			elsewhere.Store(0)
			c, err := New(Config{BaseURL: redirector.URL, DefaultKey: testKey, HTTPClient: tc.client, Retry: RetryPolicy{Enabled: false, MaxElapsedTime: 1}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.StartRun(context.Background(), &agentosapi.StartRunRequest{AgentID: agentA})
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != tc.wantStatus {
				t.Fatalf("error = %v, want an APIError with status %d", err, tc.wantStatus)
			}
			if elsewhere.Load() != tc.wantElsewhere {
				t.Errorf("%d requests reached the redirect's target, want %d", elsewhere.Load(), tc.wantElsewhere)
			}
		})
	}
	if policyCalls.Load() != 1 {
		t.Errorf("the caller's redirect policy was called %d times, want 1", policyCalls.Load())
	}
}

// A request goes out in one write, headers and body together, when it fits
// the transport's buffer: a body type net/http does not know to be in
// memory makes it flush the headers first, one more write (and packet) per
// request.
func TestRequestIsOneWrite(t *testing.T) {
	var writes atomic.Int64
	dialer := &net.Dialer{}
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &countingConn{Conn: conn, writes: &writes}, nil
		},
	}}
	e := newEnv(t, envOpts{cfg: Config{HTTPClient: client}})
	id := e.start(t)
	before := writes.Load()
	if err := e.client.SendEvents(context.Background(), agentA, id, manyEvents(3, 100)); err != nil {
		t.Fatal(err)
	}
	if n := writes.Load() - before; n != 1 {
		t.Errorf("an events request took %d writes, want 1", n)
	}
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}
