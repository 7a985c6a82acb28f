package ingest

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/version"
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

// keyring sits behind a pointer in Client, so even printing a Client value
// with fmt shows an address, never the keys.
type keyring struct {
	byAgent  map[string]secret
	fallback secret
}

// all returns every key, the fallback first.
func (k *keyring) all() []secret {
	keys := make([]secret, 0, len(k.byAgent)+1)
	if k.fallback.set() {
		keys = append(keys, k.fallback)
	}
	for _, key := range k.byAgent {
		keys = append(keys, key)
	}
	return keys
}

func (k *keyring) key(agentID string) (secret, error) {
	if s, ok := k.byAgent[agentID]; ok {
		return s, nil
	}
	if k.fallback.set() {
		return k.fallback, nil
	}
	return "", fmt.Errorf("ingest: agent %q: %w: set Config.AgentKeys[%q] or Config.DefaultKey", agentID, ErrNoKey, agentID)
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

// requestHeaders are the headers of every request made with key: the
// requests share this map (see shareHeaders) or copies of it, and its
// values, which nothing modifies.
func (c *Client) requestHeaders(key secret) http.Header {
	h := make(http.Header, len(c.headers)+4)
	for name, values := range c.headers {
		h[name] = values
	}
	h["Authorization"] = []string{"Bearer " + key.reveal()}
	h["Content-Type"] = []string{"application/json"}
	h["Accept"] = []string{"application/json"}
	h["User-Agent"] = []string{c.userAgent}
	return h
}

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

// validHeaderName reports whether name is an HTTP token (RFC 9110).
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("!#$%&'*+-.^_`|~", r):
		default:
			return false
		}
	}
	return true
}

// reservedHeaders are set by the client on every request.
var reservedHeaders = []string{"Authorization", "Content-Type", "Accept", "User-Agent"}

// extraHeaders checks the caller's headers and returns them canonical.
func extraHeaders(h map[string]string) (http.Header, error) {
	if len(h) == 0 {
		return nil, nil
	}
	out := make(http.Header, len(h))
	for name, value := range h {
		canon := http.CanonicalHeaderKey(name)
		if slices.Contains(reservedHeaders, canon) {
			return nil, fieldErrorf("Headers", "%s is set by the client", canon)
		}
		if !validHeaderName(name) {
			return nil, fieldErrorf("Headers", "%q is not a valid header name", name)
		}
		if strings.ContainsFunc(value, func(r rune) bool { return r != '\t' && (r < ' ' || r == 0x7f) }) {
			// The value may be a credential: name the header only.
			return nil, fieldErrorf("Headers", "the value of %s has characters a header cannot carry", canon)
		}
		out.Set(canon, value)
	}
	return out, nil
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

// parseBaseURL accepts an absolute http(s) URL with a host and maybe a path
// prefix, and refuses to send keys in clear text beyond this machine unless
// allowInsecure.
func parseBaseURL(raw string, allowInsecure bool) (string, error) {
	base, err := checkEndpoint(raw, allowInsecure)
	if err != nil {
		hint := ""
		if errors.Is(err, ErrInsecureEndpoint) {
			hint = " (Config.AllowInsecure permits it)"
		}
		return "", fieldErrorf("BaseURL", "%w%s", err, hint)
	}
	return base, nil
}

// checkEndpoint validates an AgentOS base URL. Its messages name no
// setting: each front end says which of its own settings holds the URL.
func checkEndpoint(raw string, allowInsecure bool) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		raw = agentosapi.DefaultBaseURL
	}
	if !strings.Contains(raw, "://") {
		// "127.0.0.1:8787" would fail to parse with a riddle about colons
		// in path segments; say what is missing instead, without echoing
		// the value, which may hold anything.
		return "", fmt.Errorf("has no scheme: want an absolute URL such as %s, or http://127.0.0.1:8787 for this machine",
			agentosapi.DefaultBaseURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the whole input, which may hold credentials.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("not a valid URL: %v", err)
	}
	switch {
	case (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "":
		return "", fmt.Errorf("%q must be an absolute http or https URL with a host, such as %s",
			shownURL(u), agentosapi.DefaultBaseURL)
	case u.User != nil:
		return "", fmt.Errorf("%q must not carry user info: agent keys have settings of their own", shownURL(u))
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("%q must not have a query or fragment", shownURL(u))
	case strings.Contains(u.Path, ingestPath):
		base := *u
		base.Path, base.RawPath = u.Path[:strings.Index(u.Path, ingestPath)], ""
		return "", fmt.Errorf("%q includes the ingest path %s, which the client adds itself: use the base URL, here %q (e.g. %s)",
			shownURL(u), ingestPath, strings.TrimRight(shownURL(&base), "/"), agentosapi.DefaultBaseURL)
	case u.Scheme == "http" && !allowInsecure && !isLoopback(u.Hostname()):
		return "", fmt.Errorf("%q uses http:// to a host other than this machine, which would send agent keys in clear text: use https://, or %w explicitly",
			shownURL(u), ErrInsecureEndpoint)
	}
	return u.Scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/"), nil
}

func isLoopback(host string) bool {
	host = strings.ToLower(host)
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func newKeyring(defaultKey string, agentKeys map[string]string) (*keyring, error) {
	k := &keyring{byAgent: make(map[string]secret, len(agentKeys))}
	if key := strings.TrimSpace(defaultKey); key != "" {
		if !headerSafe(key) {
			return nil, fieldErrorf("DefaultKey", "contains spaces or control characters")
		}
		k.fallback = secret(key)
	}
	for id, key := range agentKeys {
		key = strings.TrimSpace(key)
		switch {
		case key == "":
			return nil, fieldErrorf("AgentKeys", "the key of agent %q is empty", id)
		case !headerSafe(key):
			return nil, fieldErrorf("AgentKeys", "the key of agent %q contains spaces or control characters", id)
		}
		k.byAgent[id] = secret(key)
	}
	if !k.fallback.set() && len(k.byAgent) == 0 {
		return nil, fmt.Errorf("ingest: Config.DefaultKey and Config.AgentKeys are both empty: %w", ErrNoKey)
	}
	return k, nil
}

// headerSafe accepts visible ASCII only, which every key format is and
// which a header value may carry without escaping.
func headerSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// warnWorkspaceKeys logs keys of the wrong kind: AgentOS rejects a
// workspace key (aos_ws_…) on ingest, and the 401 alone would not say why.
func (k *keyring) warnWorkspaceKeys(log *slog.Logger) {
	const hint = "this looks like an AgentOS workspace key (aos_ws_…); ingest needs the agent's key (aos_agent_…)"
	if strings.HasPrefix(k.fallback.reveal(), "aos_ws_") {
		log.Warn(hint, slog.String("setting", "DefaultKey"))
	}
	for id, key := range k.byAgent {
		if strings.HasPrefix(key.reveal(), "aos_ws_") {
			log.Warn(hint, slog.String("setting", "AgentKeys"), slog.String("agent_id", id))
		}
	}
}

// userAgent puts this project's product token first, then whatever a front
// end adds.
func userAgent(custom string) (string, error) {
	custom = strings.TrimSpace(custom)
	for i := 0; i < len(custom); i++ {
		if custom[i] < ' ' || custom[i] == 0x7f {
			return "", fieldErrorf("UserAgent", "contains control characters")
		}
	}
	switch {
	case custom == "":
		return version.UserAgent(""), nil
	case strings.HasPrefix(custom, version.Product+"/"):
		return custom, nil
	}
	return version.UserAgent(custom), nil
}

// defaultHTTPClient refuses redirects (attempt timeouts are contexts): a redirect
// could carry the key to another scheme or host, and AgentOS's ingest API
// documents none.
func defaultHTTPClient(tlsConfig *tls.Config, proxy func(*http.Request) (*url.URL, error), conns int) *http.Client {
	if proxy == nil {
		proxy = http.ProxyFromEnvironment
	}
	return &http.Client{
		Transport: &http.Transport{
			TLSClientConfig:       tlsConfig,
			Proxy:                 proxy,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          conns,
			MaxIdleConnsPerHost:   conns,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
			// A request that fits goes out in one write; a larger one is
			// flushed and the rest copied through a buffer of its size.
			// Typical events bodies are 5 to 30 KB.
			WriteBufferSize: 32 << 10,
		},
		CheckRedirect: refuseRedirects,
	}
}

// refuseRedirects hands the redirect response back as the answer.
func refuseRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

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

// StartRun opens a run and returns its id, with the key of req.AgentID.
//
// run/start is not idempotent: when an attempt's outcome is unknown
// (timeout after sending, reset connection, a 5xx other than 503), a retry
// may open a second run. Failures that provably had no effect are retried
// within the budget; after an ambiguous one the start is tried once more,
// with twice the timeout, and then given up with a *RunMayExistError
// (ErrRunMayExist) naming the ExternalRunID, so the caller can report the
// run that may stay open. Set ExternalRunID so that it can be reconciled.
func (c *Client) StartRun(ctx context.Context, req *agentosapi.StartRunRequest) (string, error) {
	if req == nil {
		return "", fmt.Errorf("ingest: POST %s: %w: nil request", agentosapi.PathRunStart, agentosapi.ErrInvalid)
	}
	if err := req.Validate(); err != nil {
		return "", fmt.Errorf("ingest: POST %s: %w", agentosapi.PathRunStart, err)
	}
	key, err := c.keys.key(req.AgentID)
	if err != nil {
		return "", err
	}
	var data agentosapi.StartRunResponse
	rc := retryCall{endpoint: agentosapi.PathRunStart, maxAmbiguous: maxAmbiguousStarts, starts: startObserver(ctx)}
	out, err := c.postJSON(ctx, rc, req.AgentID, key, req, &data)
	err = c.shrinkTooLarge(ctx, err, rc.endpoint, len(req.Input), func(keep int) error {
		cut := *req
		cut.Input = truncatedObject(req.Input, keep)
		o, err := c.postJSON(ctx, rc, req.AgentID, key, &cut, &data)
		out.attempts, out.ambiguous = out.attempts+o.attempts, out.ambiguous+o.ambiguous
		return err
	})
	if err != nil {
		if out.ambiguous > 0 {
			c.stats.runsMayExist.Add(1)
			return "", &RunMayExistError{AgentID: req.AgentID, ExternalRunID: req.ExternalRunID,
				Attempts: out.attempts, AmbiguousAttempts: out.ambiguous, Err: err}
		}
		return "", err
	}
	if out.ambiguous > 0 {
		c.stats.startsMaybeDuplicated.Add(1)
		c.log.LogAttrs(ctx, slog.LevelWarn, "AgentOS run started after an attempt with an unknown outcome; an earlier run may stay open",
			slog.String("agent_id", req.AgentID), slog.String("external_run_id", req.ExternalRunID), slog.String("run_id", data.RunID))
	}
	if !agentosapi.IsUUID(data.RunID) {
		return "", permanentf("ingest: POST %s: the answer's run_id %q is not a uuid", agentosapi.PathRunStart, data.RunID)
	}
	return data.RunID, nil
}

// StartObserver hears each attempt of a StartRun whose context carries it
// (see WithStartObserver), so that the caller can record durably, before
// a request may reach AgentOS, that the run may exist, and take that back
// when the attempt provably had no effect (IsAmbiguous is false).
type StartObserver interface {
	// Sending is called before each attempt; the attempt waits for it.
	Sending()
	// Attempted is called after each attempt with its error, nil when it
	// succeeded.
	Attempted(err error)
}

type startObserverKey struct{}

// WithStartObserver returns a context with which StartRun tells o about
// its attempts.
func WithStartObserver(ctx context.Context, o StartObserver) context.Context {
	return context.WithValue(ctx, startObserverKey{}, o)
}

func startObserver(ctx context.Context) StartObserver {
	o, _ := ctx.Value(startObserverKey{}).(StartObserver)
	return o
}

// maxAmbiguousStarts bounds the run/start attempts that may each have
// opened a run: one, and one more with a longer timeout.
const maxAmbiguousStarts = 2

// SendEvents sends events to a run, in order, in as many sequential
// requests as MaxBodyBytes (the whole encoded body) and MaxBatchEvents
// require. An event that is invalid or alone exceeds MaxBodyBytes is left
// out and the others are sent; callers truncate content upstream so this
// does not happen. A request answered 413 is split in halves, down to one
// event, and an event that alone is answered 413 is sent with its payload
// cut (see truncateEvent), so no run loses its timeline to a 413. A request
// sent again after an ambiguous failure may be recorded twice, which
// Stats.EventsMaybeDuplicated counts. When some events were sent or left out but not all were
// sent, the error is a *SendEventsError; when none was sent for a single
// reason, it is that reason. A 409 matches ErrRunClosed.
func (c *Client) SendEvents(ctx context.Context, agentID, runID string, events []agentosapi.Event) error {
	if len(events) == 0 {
		return nil
	}
	if !agentosapi.IsUUID(runID) {
		return fmt.Errorf("ingest: POST %s: %w: run_id %q must be a uuid", agentosapi.PathEvents, agentosapi.ErrInvalid, runID)
	}
	key, err := c.keys.key(agentID)
	if err != nil {
		return err
	}
	overhead := eventsOverhead(runID)
	scratch := c.getBuf()
	ok, b := checkEvents(scratch.AvailableBuffer(), events, overhead, c.maxBody)
	scratch.Write(b[:0]) // keeps what grew
	c.putBuf(scratch)

	s := &eventSender{c: c, agentID: agentID, runID: runID, key: key, events: events, ok: ok, body: c.getBuf()}
	n := len(ok.sizes)
	var failed error
	for first := 0; first < n; {
		end := nextBatch(ok.size, n, first, overhead, c.maxBody, c.maxEvents)
		if failed = s.send(ctx, first, end); failed != nil {
			break
		}
		first = end
	}
	c.putBuf(s.body)
	sent := s.sent
	switch {
	case failed == nil && len(ok.bad) == 0:
		return nil
	case sent == 0 && len(ok.bad) == 0:
		return failed // nothing to add: none was sent
	}
	return &SendEventsError{Total: len(events), Sent: sent, Err: failed, Rejected: ok.bad}
}

// CompleteRun closes a run as completed. A 409, the run being closed
// already (perhaps by an earlier attempt whose answer was lost), is success.
func (c *Client) CompleteRun(ctx context.Context, agentID string, req *agentosapi.CompleteRunRequest) error {
	if req == nil {
		return fmt.Errorf("ingest: POST %s: %w: nil request", agentosapi.PathRunComplete, agentosapi.ErrInvalid)
	}
	return c.closeRun(ctx, agentosapi.PathRunComplete, agentID, req.RunID, req.Validate, req, len(req.Output), func(keep int) any {
		cut := *req
		cut.Output = truncatedObject(req.Output, keep)
		return &cut
	})
}

// FailRun closes a run as failed. A 409 is success, as for CompleteRun.
func (c *Client) FailRun(ctx context.Context, agentID string, req *agentosapi.FailRunRequest) error {
	if req == nil {
		return fmt.Errorf("ingest: POST %s: %w: nil request", agentosapi.PathRunFail, agentosapi.ErrInvalid)
	}
	return c.closeRun(ctx, agentosapi.PathRunFail, agentID, req.RunID, req.Validate, req, len(req.ErrorDetail), func(keep int) any {
		cut := *req
		cut.ErrorDetail = truncatedObject(req.ErrorDetail, keep)
		return &cut
	})
}

// closeRun posts req; after a 413 it posts cut(keep) requests, whose large
// field (size bytes) is cut to keep bytes.
func (c *Client) closeRun(ctx context.Context, endpoint, agentID, runID string, validate func() error, req any,
	size int, cut func(keep int) any) error {
	if err := validate(); err != nil {
		return fmt.Errorf("ingest: POST %s: %w", endpoint, err)
	}
	key, err := c.keys.key(agentID)
	if err != nil {
		return err
	}
	_, err = c.postJSON(ctx, retryCall{endpoint: endpoint}, agentID, key, req, nil)
	err = c.shrinkTooLarge(ctx, err, endpoint, size, func(keep int) error {
		_, err := c.postJSON(ctx, retryCall{endpoint: endpoint}, agentID, key, cut(keep), nil)
		return err
	})
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusConflict {
		c.log.LogAttrs(ctx, slog.LevelDebug, "AgentOS run was already closed",
			slog.String("endpoint", endpoint), slog.String("run_id", runID), slog.String("message", apiErr.Message))
		return nil
	}
	return err
}

// PutTask creates or updates a task of a run. A 409 matches ErrRunClosed.
func (c *Client) PutTask(ctx context.Context, agentID string, req *agentosapi.TaskRequest) error {
	if req == nil {
		return fmt.Errorf("ingest: POST %s: %w: nil request", agentosapi.PathTasks, agentosapi.ErrInvalid)
	}
	if err := req.Validate(); err != nil {
		return fmt.Errorf("ingest: POST %s: %w", agentosapi.PathTasks, err)
	}
	key, err := c.keys.key(agentID)
	if err != nil {
		return err
	}
	_, err = c.postJSON(ctx, retryCall{endpoint: agentosapi.PathTasks}, agentID, key, req, nil)
	return err
}

// postJSON encodes req and posts it: with its own appender when it has one
// (run/start and the closes, sent for every run), else with encoding/json.
func (c *Client) postJSON(ctx context.Context, rc retryCall, agentID string, key secret, req, out any) (outcome, error) {
	buf := c.getBuf()
	if a, ok := req.(interface{ AppendJSON([]byte) []byte }); ok {
		buf.Write(a.AppendJSON(buf.AvailableBuffer()))
	} else {
		enc := json.NewEncoder(buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(req); err != nil {
			c.putBuf(buf)
			return outcome{}, fmt.Errorf("ingest: POST %s: %w: %w", rc.endpoint, agentosapi.ErrInvalid, err)
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
	}
	released, o, err := c.post(ctx, rc, agentID, key, buf.Bytes(), out)
	if released {
		c.putBuf(buf)
	}
	return o, err
}

// post sends body to rc.endpoint with key, retrying per policy, and decodes
// the answer's data into out unless out is nil. released reports whether
// the transport has closed every reader of body, so that it may be reused.
// A key refused moments ago for agentID fails at once, without a request.
func (c *Client) post(ctx context.Context, rc retryCall, agentID string, key secret, body []byte, out any) (released bool, o outcome, err error) {
	if refused, left := c.auth.check(key, agentID); refused != nil {
		c.stats.authFailFast.Add(1)
		return true, o, &refusedError{endpoint: rc.endpoint, err: refused, left: left}
	}
	b := &bodyReaders{data: body}
	o, err = c.retrying(ctx, rc, func(ctx context.Context) error {
		return c.once(ctx, rc.endpoint, agentID, key, b, out)
	})
	c.auth.note(key, agentID, err)
	return b.released(), o, err
}

// maxAnswerBytes bounds how much of an answer is read: answers are small
// envelopes, and an error page is only quoted in part.
const maxAnswerBytes = 64 << 10

// once makes one attempt.
func (c *Client) once(ctx context.Context, endpoint, agentID string, key secret, body *bodyReaders, out any) error {
	// Once the whole request is written, AgentOS may apply it whatever
	// happens to the answer: a failure from then on is ambiguous.
	var sent atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			sent.Store(info.Err == nil)
			body.wrote.Add(1)
		},
	})
	u, header := c.urls[endpoint], c.keyHeaders[key]
	if u == nil || header == nil {
		return &permanentError{fmt.Errorf("ingest: POST %s: no such endpoint or key", endpoint)}
	}
	if !c.shareHeaders {
		header = maps.Clone(header)
	}
	req := (&http.Request{
		Method: http.MethodPost, URL: u, Host: u.Host,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        header,
		Body:          body.reader(),
		GetBody:       func() (io.ReadCloser, error) { return body.reader(), nil },
		ContentLength: int64(len(body.data)),
	}).WithContext(ctx)
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return &transportError{endpoint: endpoint, err: attemptCause(ctx, err), retryable: transportRetryable(err), sent: sent.Load()}
	}
	answer := c.getBuf()
	defer c.putBuf(answer)
	_, err = answer.ReadFrom(io.LimitReader(resp.Body, maxAnswerBytes))
	// Drain a little more so the connection can be reused, then let go.
	_, _ = io.CopyN(io.Discard, resp.Body, 4*maxAnswerBytes)
	_ = resp.Body.Close()
	if err != nil {
		// A 2xx whose answer was cut may have been applied; so may a 5xx
		// other than 503. Other answers say the request had no effect.
		applied := resp.StatusCode < 300 || (&APIError{StatusCode: resp.StatusCode}).ambiguous()
		return &transportError{endpoint: endpoint, retryable: transportRetryable(err), sent: applied,
			err: fmt.Errorf("reading the %d answer: %w", resp.StatusCode, attemptCause(ctx, err))}
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "AgentOS request",
		slog.String("endpoint", endpoint), slog.Int("status", resp.StatusCode),
		slog.Int("request_bytes", len(body.data)), slog.Duration("duration", time.Since(start)))

	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		if data, ok := successData(answer.Bytes()); ok {
			if out == nil {
				return nil
			}
			if err := decodeData(data, out); err != nil {
				return permanentf("ingest: POST %s: %d answer has unreadable data: %v", endpoint, resp.StatusCode, err)
			}
			return nil
		}
		var env agentosapi.Envelope
		if err := json.Unmarshal(answer.Bytes(), &env); err != nil {
			if out == nil {
				return nil // nothing to read from it, and it said 2xx
			}
			return permanentf("ingest: POST %s: %d answer is not a JSON envelope: %v", endpoint, resp.StatusCode, err)
		}
		if env.Error != nil {
			// The envelope says it failed, whatever the status says.
			return newAPIError(endpoint, agentID, resp, answer.Bytes(), key, time.Now())
		}
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(env.Data, out); err != nil {
			return permanentf("ingest: POST %s: %d answer has unreadable data: %v", endpoint, resp.StatusCode, err)
		}
		return nil
	}
	return newAPIError(endpoint, agentID, resp, answer.Bytes(), key, time.Now())
}

// successData returns the data of an answer that is exactly
// {"data":<valid JSON>,"error":null}, as AgentOS writes a success, without
// reflection; any other answer is left to encoding/json.
func successData(answer []byte) ([]byte, bool) {
	const head, tail = `{"data":`, `,"error":null}`
	answer = bytes.TrimSpace(answer)
	if !bytes.HasPrefix(answer, []byte(head)) || !bytes.HasSuffix(answer, []byte(tail)) || len(answer) < len(head)+len(tail) {
		return nil, false
	}
	data := bytes.TrimSpace(answer[len(head) : len(answer)-len(tail)])
	return data, json.Valid(data)
}

// decodeData reads a success's data into out; run/start's answer, the one
// read on every run, is read without reflection when it has the usual form.
func decodeData(data []byte, out any) error {
	const head, tail = `{"run_id":"`, `"}`
	if r, ok := out.(*agentosapi.StartRunResponse); ok && len(data) == len(head)+36+len(tail) &&
		bytes.HasPrefix(data, []byte(head)) && bytes.HasSuffix(data, []byte(tail)) {
		if id := string(data[len(head) : len(head)+36]); agentosapi.IsUUID(id) {
			r.RunID = id
			return nil
		}
	}
	return json.Unmarshal(data, out)
}

// attemptCause replaces the bare "context deadline exceeded" of an attempt
// that ran out of its own time with the timeout it had.
func attemptCause(ctx context.Context, err error) error {
	var timeout *attemptTimeoutError
	if ctx.Err() != nil && errors.As(context.Cause(ctx), &timeout) {
		return fmt.Errorf("%w (%w)", timeout, ctx.Err())
	}
	return err
}

// newAPIError reads a failed answer: the envelope's error when there is
// one, else the start of the body as text, with the key scrubbed in case a
// server echoes it.
func newAPIError(endpoint, agentID string, resp *http.Response, body []byte, key secret, now time.Time) *APIError {
	e := &APIError{Endpoint: endpoint, AgentID: agentID, StatusCode: resp.StatusCode}
	var env agentosapi.Envelope
	if err := json.Unmarshal(body, &env); err == nil && env.Error != nil {
		e.Code, e.Message = env.Error.Code, env.Error.Message
	} else {
		e.Message = string(body)
	}
	if e.Message == "" && resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		if loc := resp.Header.Get("Location"); loc != "" {
			e.Message = "redirected to " + safeURL(loc) + " (redirects are not followed)"
		}
	}
	e.Code = oneLine(key.redactFrom(e.Code), 100)
	e.Message = oneLine(key.redactFrom(e.Message), 500)
	if retryableStatus(resp.StatusCode) {
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), resp.Header.Get("Date"), now)
	}
	return e
}

// oneLine makes server text fit an error message: valid UTF-8, no control
// characters or runs of blanks, at most limit bytes.
func oneLine(s string, limit int) string {
	s = strings.Join(strings.FieldsFunc(strings.ToValidUTF8(s, "?"), func(r rune) bool {
		return r == ' ' || r < ' ' || r == 0x7f
	}), " ")
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// bodyReaders hands out readers over one request body and counts the
// writes the transport reports as finished (httptrace's WroteRequest, which
// HTTP/1 and HTTP/2 call once a request's body is no longer read, whether
// the write succeeded or not). A RoundTripper may read a body after it
// returns, so the bytes are reused only once every reader handed out has
// been written through.
//
// The readers are io.NopCloser(*bytes.Reader): net/http sends such a body
// in the same write as the headers; any other type makes it flush the
// headers first, one more write per request.
type bodyReaders struct {
	data          []byte
	handed, wrote atomic.Int64
}

func (b *bodyReaders) reader() io.ReadCloser {
	b.handed.Add(1)
	return io.NopCloser(bytes.NewReader(b.data))
}

// released reports whether the transport is done with every reader.
func (b *bodyReaders) released() bool { return b.wrote.Load() >= b.handed.Load() }

// maxPooledBuffer keeps one huge call from pinning its memory in the pool.
const maxPooledBuffer = 4 << 20

func (c *Client) getBuf() *bytes.Buffer {
	if b, ok := c.bufs.Get().(*bytes.Buffer); ok {
		return b
	}
	return new(bytes.Buffer)
}

func (c *Client) putBuf(b *bytes.Buffer) {
	if b.Cap() > maxPooledBuffer {
		return
	}
	b.Reset()
	c.bufs.Put(b)
}
