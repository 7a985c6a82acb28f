package ingest

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/configerr"
)

// Defaults for the zero values of Config and RetryPolicy.
const (
	DefaultMaxBodyBytes   = 512 << 10
	DefaultMaxBatchEvents = 100
	// DefaultConns is the default client's connections to AgentOS.
	DefaultConns = 16
	// DefaultTimeout bounds the first attempt of a call.
	DefaultTimeout = 30 * time.Second
	// DefaultAuthFailureBackoff is how long a key stays refused locally
	// after AgentOS answered 401 or 403 for it.
	DefaultAuthFailureBackoff = 30 * time.Second
	// MinMaxBodyBytes is the smallest MaxBodyBytes accepted: below it not
	// even a small event fits beside the envelope.
	MinMaxBodyBytes = 256
)

// Config configures a Client. The zero value of every field but the keys
// means its default.
type Config struct {
	// BaseURL is the AgentOS origin, optionally with a path prefix;
	// default agentosapi.DefaultBaseURL.
	BaseURL string
	// AllowInsecure permits http:// to a non-loopback host. Keys then
	// travel in clear text.
	AllowInsecure bool
	// HTTPClient sends the requests; default a client that does not follow
	// redirects. Its Timeout, if set, is the default of Timeout; the client
	// is then used through a copy without it, since attempt timeouts are
	// contexts. A client without a CheckRedirect of its own is used through
	// a copy that does not follow redirects either: one could carry the key
	// to another host.
	HTTPClient *http.Client
	// TLSConfig and Proxy configure the default client's transport (default
	// Go's TLS settings and http.ProxyFromEnvironment); with HTTPClient
	// they are an error, since that client's transport is the caller's.
	TLSConfig *tls.Config
	Proxy     func(*http.Request) (*url.URL, error)
	// Conns bounds the default client's connections to AgentOS, every one
	// kept open between calls, so that steady load dials nothing; default
	// DefaultConns. Callers set it to how many calls they make at once:
	// with fewer, calls wait for a connection.
	Conns int
	// Headers are sent with every request. Authorization, Content-Type,
	// Accept and User-Agent are the client's own and may not be set here.
	Headers map[string]string
	// Timeout bounds the first attempt of a call; default HTTPClient.Timeout
	// if set, else 30s. After an attempt whose outcome is unknown (a
	// timeout after sending, a reset, a 5xx other than 503) the next one
	// gets twice as long, within Retry.MaxElapsedTime.
	Timeout time.Duration
	// AuthFailureBackoff is how long calls with a key AgentOS answered 401
	// (or 403, for that agent) fail at once with the same error, without a
	// request; default 30s, negative turns it off.
	AuthFailureBackoff time.Duration
	// DefaultKey is the agent key used when AgentKeys has no entry for an
	// agent id.
	DefaultKey string
	// AgentKeys maps agent id to agent key.
	AgentKeys map[string]string
	// MaxBodyBytes bounds the whole encoded body of one events request;
	// default 512 KiB.
	MaxBodyBytes int
	// MaxBatchEvents bounds the events in one events request; default 100.
	MaxBatchEvents int
	// Retry governs retries; the zero value means DefaultRetryPolicy().
	Retry RetryPolicy
	// UserAgent is sent as User-Agent; default version.UserAgent(""). A value
	// that does not start with that product token is treated as a front
	// end's own part and appended to it: "agentos-otel-go/0.1.0 sdkbridge".
	UserAgent string
	// Logger hears retries and oddities; nil discards.
	Logger *slog.Logger
}

// RetryPolicy governs retries of transient failures. The zero value means
// DefaultRetryPolicy(). To switch retries off, set Enabled to false and any
// other field (DefaultRetryPolicy() with Enabled false does).
type RetryPolicy struct {
	Enabled bool
	// InitialInterval is the wait before the first retry; default 500ms.
	InitialInterval time.Duration
	// MaxInterval caps the wait before jitter is applied; default 30s.
	MaxInterval time.Duration
	// Multiplier grows the wait after each retry; default 1.5.
	Multiplier float64
	// RandomizationFactor spreads each wait over [1-f, 1+f] times its
	// value, so that clients do not retry in lockstep; default 0.5, at
	// most 1.
	RandomizationFactor float64
	// MaxElapsedTime bounds one call, its attempts and waits together;
	// default 5m. An attempt still running at that moment is cancelled.
	// With retries off, only the HTTP client's timeout bounds a call.
	MaxElapsedTime time.Duration
}

// DefaultRetryPolicy returns the policy the zero RetryPolicy stands for.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		Enabled:             true,
		InitialInterval:     500 * time.Millisecond,
		MaxInterval:         30 * time.Second,
		Multiplier:          1.5,
		RandomizationFactor: 0.5,
		MaxElapsedTime:      5 * time.Minute,
	}
}

// resolve fills defaults and rejects nonsense, naming the setting.
func (p RetryPolicy) resolve() (RetryPolicy, error) {
	if p == (RetryPolicy{}) {
		return DefaultRetryPolicy(), nil
	}
	if !p.Enabled {
		return p, nil
	}
	def := DefaultRetryPolicy()
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"InitialInterval", &p.InitialInterval, def.InitialInterval},
		{"MaxInterval", &p.MaxInterval, def.MaxInterval},
		{"MaxElapsedTime", &p.MaxElapsedTime, def.MaxElapsedTime},
	} {
		switch {
		case *d.v < 0:
			return p, fieldErrorf("Retry."+d.name, "must not be negative, got %s", *d.v)
		case *d.v == 0:
			*d.v = d.def
		}
	}
	if p.Multiplier == 0 {
		p.Multiplier = def.Multiplier
	}
	if !(p.Multiplier >= 1) { // also catches NaN
		return p, fieldErrorf("Retry.Multiplier", "must be at least 1, got %v", p.Multiplier)
	}
	if p.RandomizationFactor == 0 {
		p.RandomizationFactor = def.RandomizationFactor
	}
	if !(p.RandomizationFactor > 0 && p.RandomizationFactor <= 1) {
		return p, fieldErrorf("Retry.RandomizationFactor", "must be within [0, 1], got %v", p.RandomizationFactor)
	}
	if p.MaxInterval < p.InitialInterval {
		return p, fieldErrorf("Retry.MaxInterval", "%s must not be below the initial interval, %s", p.MaxInterval, p.InitialInterval)
	}
	return p, nil
}

// fieldErrorf reports an invalid setting, tagged with its name in Config
// (such as "MaxBodyBytes" or "Retry.Multiplier") so that front ends can
// show their own name for it with configerr.Rename.
func fieldErrorf(field, format string, args ...any) error {
	return fmt.Errorf("ingest: %w", &configerr.FieldError{Field: "Config." + field, Err: fmt.Errorf(format, args...)})
}

// redacted replaces every secret in formatted output.
const redacted = "[REDACTED]"

// secret is an agent key. Every way of printing, logging or encoding it
// shows [REDACTED]; reveal is the only way to the value.
type secret string

func (s secret) reveal() string                { return string(s) }
func (secret) String() string                  { return redacted }
func (secret) GoString() string                { return redacted }
func (secret) Format(f fmt.State, _ rune)      { _, _ = io.WriteString(f, redacted) }
func (secret) LogValue() slog.Value            { return slog.StringValue(redacted) }
func (secret) MarshalJSON() ([]byte, error)    { return []byte(`"` + redacted + `"`), nil }
func (secret) MarshalText() ([]byte, error)    { return []byte(redacted), nil }
func (s secret) set() bool                     { return s != "" }
func (s secret) redactFrom(text string) string { return redactKey(text, string(s)) }
func redactKey(text, key string) string {
	if key == "" {
		return text
	}
	return strings.ReplaceAll(text, key, redacted)
}

// redactedView is what Config shows of itself.
type redactedView struct {
	BaseURL        string            `json:"base_url"`
	AllowInsecure  bool              `json:"allow_insecure"`
	DefaultKey     string            `json:"default_key"`
	AgentKeys      map[string]string `json:"agent_keys"`
	MaxBodyBytes   int               `json:"max_body_bytes"`
	MaxBatchEvents int               `json:"max_batch_events"`
	Retry          RetryPolicy       `json:"retry"`
	UserAgent      string            `json:"user_agent"`
}

func (c Config) view() redactedView {
	v := redactedView{
		BaseURL:        safeURL(c.BaseURL),
		AllowInsecure:  c.AllowInsecure,
		MaxBodyBytes:   c.MaxBodyBytes,
		MaxBatchEvents: c.MaxBatchEvents,
		Retry:          c.Retry,
		UserAgent:      c.UserAgent,
	}
	if c.DefaultKey != "" {
		v.DefaultKey = redacted
	}
	if c.AgentKeys != nil {
		v.AgentKeys = make(map[string]string, len(c.AgentKeys))
		for id := range c.AgentKeys {
			v.AgentKeys[id] = redacted
		}
	}
	return v
}

// safeURL shows a configured URL without user info, query or fragment,
// which may hold credentials; a URL that does not parse is not shown at
// all, since it may hold anything.
func safeURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	return shownURL(u)
}

func shownURL(u *url.URL) string {
	c := *u
	if c.RawQuery != "" || c.ForceQuery {
		c.RawQuery, c.ForceQuery = redacted, false
	}
	if c.Fragment != "" {
		c.Fragment, c.RawFragment = redacted, ""
	}
	if c.User == nil {
		return c.String()
	}
	// url.Redacted hides the password only, but a key may be the user name.
	c.User = nil
	s := c.String()
	if i := strings.Index(s, "//"); i >= 0 {
		return s[:i+2] + redacted + "@" + s[i+2:]
	}
	return s
}

// String shows the configuration with keys redacted.
func (c Config) String() string {
	v := c.view()
	var b strings.Builder
	fmt.Fprintf(&b, "ingest.Config{BaseURL:%q AllowInsecure:%t DefaultKey:%q AgentKeys:{", v.BaseURL, v.AllowInsecure, v.DefaultKey)
	for i, id := range slices.Sorted(maps.Keys(v.AgentKeys)) {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%q:%q", id, redacted)
	}
	fmt.Fprintf(&b, "} MaxBodyBytes:%d MaxBatchEvents:%d Retry:%+v UserAgent:%q HTTPClient:%t Logger:%t}",
		v.MaxBodyBytes, v.MaxBatchEvents, v.Retry, v.UserAgent, c.HTTPClient != nil, c.Logger != nil)
	return b.String()
}

// GoString is String: %#v must not print the keys either.
func (c Config) GoString() string { return c.String() }

// Format makes every verb (%v, %+v, %#v, %s, %d, ...) print String, so no
// verb reaches the key fields.
func (c Config) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// LogValue logs the configuration with keys redacted.
func (c Config) LogValue() slog.Value {
	v := c.view()
	return slog.GroupValue(
		slog.String("base_url", v.BaseURL),
		slog.Bool("allow_insecure", v.AllowInsecure),
		slog.Bool("default_key", c.DefaultKey != ""),
		slog.Any("agents", slices.Sorted(maps.Keys(v.AgentKeys))),
		slog.Int("max_body_bytes", v.MaxBodyBytes),
		slog.Int("max_batch_events", v.MaxBatchEvents),
		slog.String("user_agent", v.UserAgent),
	)
}

// MarshalJSON encodes the configuration with keys redacted.
func (c Config) MarshalJSON() ([]byte, error) { return json.Marshal(c.view()) }
