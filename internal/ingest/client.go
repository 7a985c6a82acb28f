package ingest

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
)

// Client talks to the AgentOS ingest API. It is safe for concurrent use;
// calls for one run must still be made in order by their caller.
type Client struct {
	base    string // scheme://host[/prefix], no trailing slash
	keys    *keyring
	http    *http.Client
	timeout time.Duration // of the first attempt of a call
	// learnedTimeout (a time.Duration) is the longer first-attempt timeout
	// that AgentOS was seen to need; 0 when the configured one does.
	learnedTimeout atomic.Int64
	retry          RetryPolicy
	auth           *authGate
	stats          clientStats
	maxBody        int
	maxEvents      int
	userAgent      string
	headers        http.Header // the caller's, canonical
	// urls and keyHeaders are built once: parsing a URL and canonicalising
	// headers for every request showed in profiles.
	urls       map[string]*url.URL    // by endpoint path
	keyHeaders map[secret]http.Header // every request's headers, by key
	// shareHeaders is set when the transport is the default one, which
	// never writes to a request's headers: requests then use the template
	// itself. A caller's transport gets a copy, in case it adds to it.
	shareHeaders bool
	log          *slog.Logger
	bufs         sync.Pool // *bytes.Buffer
}

// New validates cfg and returns a Client. Errors name the offending setting.
func New(cfg Config) (*Client, error) {
	base, err := parseBaseURL(cfg.BaseURL, cfg.AllowInsecure)
	if err != nil {
		return nil, err
	}
	keys, err := newKeyring(cfg.DefaultKey, cfg.AgentKeys)
	if err != nil {
		return nil, err
	}
	retry, err := cfg.Retry.resolve()
	if err != nil {
		return nil, err
	}
	c := &Client{base: base, keys: keys, retry: retry, log: cfg.Logger, shareHeaders: cfg.HTTPClient == nil}
	if c.http, c.timeout, err = attemptClient(cfg); err != nil {
		return nil, err
	}
	if c.headers, err = extraHeaders(cfg.Headers); err != nil {
		return nil, err
	}
	authBackoff := cfg.AuthFailureBackoff
	if authBackoff == 0 {
		authBackoff = DefaultAuthFailureBackoff
	}
	c.auth = newAuthGate(authBackoff)
	if c.maxBody, err = positiveOr("MaxBodyBytes", cfg.MaxBodyBytes, DefaultMaxBodyBytes); err != nil {
		return nil, err
	}
	if c.maxBody < MinMaxBodyBytes {
		return nil, fieldErrorf("MaxBodyBytes", "must be at least %d, got %d", MinMaxBodyBytes, c.maxBody)
	}
	if c.maxEvents, err = positiveOr("MaxBatchEvents", cfg.MaxBatchEvents, DefaultMaxBatchEvents); err != nil {
		return nil, err
	}
	if c.userAgent, err = userAgent(cfg.UserAgent); err != nil {
		return nil, err
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.urls, err = endpointURLs(base); err != nil {
		return nil, err
	}
	c.keyHeaders = make(map[secret]http.Header, len(keys.byAgent)+1)
	for _, key := range keys.all() {
		c.keyHeaders[key] = c.requestHeaders(key)
	}
	keys.warnWorkspaceKeys(c.log)
	return c, nil
}

// endpoints are the paths requests are sent to.
var endpoints = []string{agentosapi.PathRunStart, agentosapi.PathEvents, agentosapi.PathRunComplete, agentosapi.PathRunFail, agentosapi.PathTasks}

func endpointURLs(base string) (map[string]*url.URL, error) {
	urls := make(map[string]*url.URL, len(endpoints))
	for _, path := range endpoints {
		u, err := url.Parse(base + path)
		if err != nil {
			return nil, fieldErrorf("BaseURL", "not a valid URL with %s: %v", path, err)
		}
		urls[path] = u
	}
	return urls, nil
}

func positiveOr(name string, v, def int) (int, error) {
	switch {
	case v < 0:
		return 0, fieldErrorf(name, "must not be negative, got %d", v)
	case v == 0:
		return def, nil
	}
	return v, nil
}

// String describes the client without its keys.
func (c *Client) String() string {
	return fmt.Sprintf("ingest.Client{BaseURL:%q Agents:%d DefaultKey:%t UserAgent:%q}",
		c.base, len(c.keys.byAgent), c.keys.fallback.set(), c.userAgent)
}

// GoString is String, so %#v shows no keys either.
func (c *Client) GoString() string { return c.String() }

// Format prints String for every verb.
func (c *Client) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// LogValue logs the client without its keys.
func (c *Client) LogValue() slog.Value { return slog.StringValue(c.String()) }

// CloseIdleConnections closes the HTTP client's idle connections, for an
// owner that is shutting down.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }
