package ingest

import (
	"errors"
	"strings"
	"testing"

	"github.com/agentos-ai/agentos-otel/internal/configerr"
	"github.com/agentos-ai/agentos-otel/internal/version"
)

const testKey = "aos_agent_s3cr3t-TEST-key-0123456789"

func TestNewBaseURL(t *testing.T) {
	tests := []struct {
		name     string
		url      string
		insecure bool
		want     string // the resolved base, when valid
		wantErr  string // part of the error, which always names Config.BaseURL
		wantNot  string // not part of the error
	}{
		{name: "default", url: "", want: "https://agentos-ai.dev"},
		{name: "trailing slash", url: "https://agentos-ai.dev/", want: "https://agentos-ai.dev"},
		{name: "path prefix", url: "https://proxy.example.com/agentos/", want: "https://proxy.example.com/agentos"},
		{name: "blanks around", url: "  https://agentos-ai.dev \n", want: "https://agentos-ai.dev"},
		{name: "upper-case scheme", url: "HTTPS://agentos-ai.dev", want: "https://agentos-ai.dev"},
		{name: "http to 127.0.0.1", url: "http://127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{name: "http to localhost", url: "http://localhost:8080", want: "http://localhost:8080"},
		{name: "http to ::1", url: "http://[::1]:8080", want: "http://[::1]:8080"},
		{name: "http to a .localhost name", url: "http://agentos.localhost", want: "http://agentos.localhost"},
		{name: "http elsewhere refused", url: "http://agentos.internal:8080", wantErr: "AllowInsecure"},
		{name: "http to 0.0.0.0 refused", url: "http://0.0.0.0:8080", wantErr: "AllowInsecure"},
		{name: "http elsewhere allowed", url: "http://agentos.internal:8080", insecure: true, want: "http://agentos.internal:8080"},
		{name: "no scheme", url: "agentos-ai.dev", wantErr: "has no scheme"},
		{name: "host:port without scheme", url: "localhost:8080", wantErr: "has no scheme"},
		{name: "ip:port without scheme", url: "127.0.0.1:8787", wantErr: "has no scheme: want an absolute URL"},
		{name: "other scheme", url: "ftp://agentos-ai.dev", wantErr: "absolute http or https URL"},
		{name: "no host", url: "https://", wantErr: "absolute http or https URL"},
		{name: "port only", url: "https://:443", wantErr: "absolute http or https URL"},
		{name: "relative", url: "/api", wantErr: "has no scheme"},
		{name: "unparsable", url: "https://agentos-ai.dev/%zz", wantErr: "not a valid URL"},
		{name: "control character", url: "https://agentos-ai.dev/\x7f", wantErr: "not a valid URL"},
		{name: "user info", url: "https://me:" + testKey + "@agentos-ai.dev", wantErr: "user info"},
		{name: "key as user name", url: "https://" + testKey + "@agentos-ai.dev", wantErr: `"https://[REDACTED]@agentos-ai.dev" must not carry user info`},
		{name: "query", url: "https://agentos-ai.dev?x=1", wantErr: "query"},
		{name: "http with a query", url: "http://agentos.internal/?key=" + testKey, wantErr: "query", wantNot: "AllowInsecure"},
		{name: "ingest path", url: "https://agentos-ai.dev/api/ingest/v1", wantErr: `use the base URL, here "https://agentos-ai.dev"`},
		{name: "ingest endpoint behind a prefix", url: "https://proxy.example.com/agentos/api/ingest/v1/events",
			wantErr: `here "https://proxy.example.com/agentos"`},
		{name: "fragment", url: "https://agentos-ai.dev#x", wantErr: "fragment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(Config{BaseURL: tt.url, AllowInsecure: tt.insecure, DefaultKey: testKey})
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("New accepted %q", tt.url)
				}
				if !strings.Contains(err.Error(), "Config.BaseURL") || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %q: want it to name Config.BaseURL and say %q", err, tt.wantErr)
				}
				if tt.wantNot != "" && strings.Contains(err.Error(), tt.wantNot) {
					t.Errorf("error %q says %q", err, tt.wantNot)
				}
				if strings.Contains(err.Error(), testKey) {
					t.Fatalf("error reveals the key: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.base != tt.want {
				t.Errorf("base = %q, want %q", c.base, tt.want)
			}
		})
	}
}

func TestNewSettings(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
		is      error
	}{
		{name: "no keys", cfg: Config{}, wantErr: "Config.DefaultKey and Config.AgentKeys", is: ErrNoKey},
		{name: "blank default key", cfg: Config{DefaultKey: "  \n"}, wantErr: "Config.DefaultKey", is: ErrNoKey},
		{name: "empty agent key", cfg: Config{AgentKeys: map[string]string{"a1": ""}}, wantErr: `Config.AgentKeys: the key of agent "a1" is empty`},
		{name: "space in agent key", cfg: Config{AgentKeys: map[string]string{"a1": "aos_agent_ x"}}, wantErr: `Config.AgentKeys: the key of agent "a1" contains spaces`},
		{name: "newline in default key", cfg: Config{DefaultKey: "aos_agent_\nx"}, wantErr: "Config.DefaultKey"},
		{name: "negative MaxBodyBytes", cfg: Config{DefaultKey: testKey, MaxBodyBytes: -1}, wantErr: "Config.MaxBodyBytes"},
		{name: "tiny MaxBodyBytes", cfg: Config{DefaultKey: testKey, MaxBodyBytes: 100}, wantErr: "Config.MaxBodyBytes"},
		{name: "negative MaxBatchEvents", cfg: Config{DefaultKey: testKey, MaxBatchEvents: -5}, wantErr: "Config.MaxBatchEvents"},
		{name: "bad retry", cfg: Config{DefaultKey: testKey, Retry: RetryPolicy{Enabled: true, Multiplier: 0.1}}, wantErr: "Config.Retry.Multiplier"},
		{name: "user agent with newline", cfg: Config{DefaultKey: testKey, UserAgent: "a\r\nX-Evil: 1"}, wantErr: "Config.UserAgent"},
		{name: "only agent keys", cfg: Config{AgentKeys: map[string]string{"a1": testKey}}},
		{name: "trailing newline trimmed", cfg: Config{DefaultKey: testKey + "\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one naming %s", err, tt.wantErr)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			// Front ends rename the field: it must be tagged.
			var fe *configerr.FieldError
			if tt.is == nil && (!errors.As(err, &fe) || !strings.HasPrefix(tt.wantErr, fe.Field)) {
				t.Errorf("error %v is not a FieldError of %s", err, tt.wantErr)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	c, err := New(Config{DefaultKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	if c.maxBody != DefaultMaxBodyBytes || c.maxEvents != DefaultMaxBatchEvents {
		t.Errorf("limits = %d bytes, %d events", c.maxBody, c.maxEvents)
	}
	if c.retry != DefaultRetryPolicy() {
		t.Errorf("retry = %+v", c.retry)
	}
	if c.http == nil || c.http.Timeout != 0 || c.timeout != DefaultTimeout || c.http.CheckRedirect == nil {
		t.Errorf("http client = %+v, attempt timeout %s", c.http, c.timeout)
	}
	if c.userAgent != version.UserAgent("") {
		t.Errorf("user agent = %q", c.userAgent)
	}
}

func TestNewCopiesAgentKeys(t *testing.T) {
	keys := map[string]string{"a1": testKey}
	c, err := New(Config{AgentKeys: keys})
	if err != nil {
		t.Fatal(err)
	}
	keys["a1"] = "changed"
	keys["a2"] = "added"
	if k, _ := c.keys.key("a1"); k.reveal() != testKey {
		t.Error("the client shares the caller's map")
	}
	if _, err := c.keys.key("a2"); !errors.Is(err, ErrNoKey) {
		t.Errorf("key(a2) error = %v, want ErrNoKey", err)
	}
}

func TestKeyChoice(t *testing.T) {
	k, err := newKeyring("aos_agent_default", map[string]string{"a1": "aos_agent_one"})
	if err != nil {
		t.Fatal(err)
	}
	for agent, want := range map[string]string{"a1": "aos_agent_one", "a2": "aos_agent_default"} {
		if got, err := k.key(agent); err != nil || got.reveal() != want {
			t.Errorf("key(%q) = %v, %v; want %s", agent, got.reveal(), err, want)
		}
	}
}

func TestUserAgent(t *testing.T) {
	base := version.UserAgent("")
	for in, want := range map[string]string{
		"":                            base,
		"sdkbridge":                   base + " sdkbridge",
		" otelcol-contrib/0.141.0 ":   base + " otelcol-contrib/0.141.0",
		base + " agentosexporter/1.2": base + " agentosexporter/1.2",
	} {
		if got, err := userAgent(in); err != nil || got != want {
			t.Errorf("userAgent(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestCheckBaseURL: front ends validate the endpoint with exactly New's rules.
func TestCheckBaseURL(t *testing.T) {
	for _, tt := range []struct {
		url      string
		insecure bool
	}{{"https://agentos-ai.dev", false}, {"http://agentos.internal", false}, {"http://agentos.internal", true}, {"agentos-ai.dev", false}} {
		_, newErr := New(Config{BaseURL: tt.url, AllowInsecure: tt.insecure, DefaultKey: testKey})
		if checkErr := CheckBaseURL(tt.url, tt.insecure); (checkErr == nil) != (newErr == nil) {
			t.Errorf("CheckBaseURL(%q, %t) = %v, but New says %v", tt.url, tt.insecure, checkErr, newErr)
		}
	}
}

func TestEndpointURL(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8787":            "http://127.0.0.1:8787",
		"localhost":                 "http://localhost",
		"[::1]:8787":                "http://[::1]:8787",
		"::1":                       "http://::1",
		"agentos.example.com":       "https://agentos.example.com",
		"agentos.example.com:8443":  "https://agentos.example.com:8443",
		"proxy.example.com/agentos": "https://proxy.example.com/agentos",
		"https://agentos-ai.dev":    "https://agentos-ai.dev",
		"http://agentos.internal":   "http://agentos.internal",
		"":                          "",
	} {
		if got := EndpointURL(in); got != want {
			t.Errorf("EndpointURL(%q) = %q, want %q", in, got, want)
		}
	}
}
