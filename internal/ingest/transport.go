package ingest

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"time"
)

// attemptClient returns the client that sends requests and the timeout of
// a call's first attempt. Timeouts are contexts, one per attempt, so that
// an attempt after an ambiguous failure can be given longer: a caller's
// client is therefore used through a copy without its Timeout, which
// becomes the first attempt's timeout unless timeout is set.
func attemptClient(cfg Config) (*http.Client, time.Duration, error) {
	hc, timeout := cfg.HTTPClient, cfg.Timeout
	if timeout < 0 {
		return nil, 0, fieldErrorf("Timeout", "must not be negative, got %s", timeout)
	}
	if hc == nil {
		conns, err := positiveOr("Conns", cfg.Conns, DefaultConns)
		if err != nil {
			return nil, 0, err
		}
		hc = defaultHTTPClient(cfg.TLSConfig, cfg.Proxy, conns)
	} else if cfg.Conns != 0 {
		return nil, 0, fieldErrorf("Conns", "configures the default client; set MaxIdleConnsPerHost on HTTPClient's transport instead")
	} else if cfg.TLSConfig != nil {
		return nil, 0, fieldErrorf("TLSConfig", "configures the default client; set it on HTTPClient's transport instead")
	} else if cfg.Proxy != nil {
		return nil, 0, fieldErrorf("Proxy", "configures the default client; set it on HTTPClient's transport instead")
	}
	if timeout == 0 {
		timeout = hc.Timeout
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if hc.Timeout != 0 || hc.CheckRedirect == nil {
		cp := *hc
		cp.Timeout = 0
		if cp.CheckRedirect == nil {
			cp.CheckRedirect = refuseRedirects
		}
		hc = &cp
	}
	return hc, timeout, nil
}

// defaultHTTPClient refuses redirects (attempt timeouts are contexts): a redirect
// could carry the key to another scheme or host, and AgentOS's ingest API
// documents none.
func defaultHTTPClient(tlsConfig *tls.Config, proxy func(*http.Request) (*url.URL, error), conns int) *http.Client {
	return &http.Client{Transport: NewTransport(tlsConfig, proxy, conns), CheckRedirect: refuseRedirects}
}

// NewTransport is the default client's transport, for conns calls at once
// (proxy nil: from the environment). The benchmarks measure it with other
// protocols set.
func NewTransport(tlsConfig *tls.Config, proxy func(*http.Request) (*url.URL, error), conns int) *http.Transport {
	if proxy == nil {
		proxy = http.ProxyFromEnvironment
	}
	// HTTP/1.1 even where AgentOS offers HTTP/2: with a kept connection
	// per run in flight, each handshake happens once, and multiplexing
	// over one connection measured dearer (5% more CPU per run at 8
	// spans per run, 15% more at 50) and a quarter to a third slower
	// (bench/conns_test.go).
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	return &http.Transport{
		TLSClientConfig: tlsConfig,
		Proxy:           proxy,
		DialContext:     (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		Protocols:       &protocols,
		// As many connections as calls at once, all kept: a request
		// finding none idle waits for one coming back rather than
		// dialing a spare that a full pool would close again.
		MaxConnsPerHost:       conns,
		MaxIdleConns:          conns,
		MaxIdleConnsPerHost:   conns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		// A request that fits goes out in one write; a larger one is
		// flushed and the rest copied through a buffer of its size.
		// Typical events bodies are 5 to 30 KB.
		WriteBufferSize: 32 << 10,
	}
}

// refuseRedirects hands the redirect response back as the answer.
func refuseRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
