package agentosexporter

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentos-ai/agentos-otel/internal/localserver"
	"github.com/agentos-ai/agentos-otel/sdkbridge"
)

// TestKeysNeverShownByEitherFrontEnd drives the failure paths of both front
// ends (configuration errors, 401, 403, timeouts, 413) with logs at debug
// level, and looks for the keys in everything a user could read.
func TestKeysNeverShownByEitherFrontEnd(t *testing.T) {
	const (
		wrongKey   = "aos_agent_TOP-SECRET-never-shown-0000"
		otherKey   = "aos_agent_other-agent-secret-1111"
		otherAgent = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
	)
	keys := []string{wrongKey, otherKey, testKey}
	for _, k := range []string{sdkbridge.EnvAPIKey, sdkbridge.EnvAgentID, sdkbridge.EnvEndpoint} {
		t.Setenv(k, "")
	}
	ctx := context.Background()
	var shown bytes.Buffer // errors and log lines, as a user would see them
	logger := slog.New(slog.NewTextHandler(&shown, &slog.HandlerOptions{Level: slog.LevelDebug}))
	show := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", what)
			return
		}
		fmt.Fprintf(&shown, "%s: %v\n%+v\n", what, err, err)
	}

	// SDK configuration errors.
	for name, opts := range map[string][]sdkbridge.Option{
		"key with a space":      {sdkbridge.WithAPIKey(wrongKey + " x"), sdkbridge.WithAgentID(testAgent)},
		"agent id":              {sdkbridge.WithAPIKey(wrongKey), sdkbridge.WithAgentID("agent-7")},
		"key as user name":      {sdkbridge.WithAPIKey(wrongKey), sdkbridge.WithAgentID(testAgent), sdkbridge.WithEndpoint(wrongKey + "@agentos.example.com")},
		"password, ingest path": {sdkbridge.WithAPIKey(wrongKey), sdkbridge.WithAgentID(testAgent), sdkbridge.WithEndpointURL("https://u:" + wrongKey + "@agentos.example.com/api/ingest/v1")},
		"ingest path":           {sdkbridge.WithAPIKey(wrongKey), sdkbridge.WithAgentID(testAgent), sdkbridge.WithEndpointURL("https://agentos.example.com/api/ingest/v1/")},
		"key in the query":      {sdkbridge.WithAPIKey(wrongKey), sdkbridge.WithAgentID(testAgent), sdkbridge.WithEndpointURL("http://agentos.example.com/?key=" + wrongKey)},
		"key as the endpoint":   {sdkbridge.WithAPIKey(wrongKey), sdkbridge.WithAgentID(testAgent), sdkbridge.WithEndpointURL(wrongKey)},
		"empty agent key":       {sdkbridge.WithAgentKeys(map[string]string{testAgent: wrongKey, otherAgent: " "})},
	} {
		_, err := sdkbridge.NewExporter(ctx, append(opts, sdkbridge.WithLogger(logger))...)
		show("sdkbridge config, "+name, err)
	}

	// Collector configuration errors.
	for name, edit := range map[string]func(*Config){
		"key as user name": func(c *Config) { c.ClientConfig.Endpoint = "https://" + wrongKey + "@agentos.example.com" },
		"ingest path": func(c *Config) {
			c.ClientConfig.Endpoint = "https://u:" + wrongKey + "@agentos.example.com/api/ingest/v1"
		},
		"key in the query": func(c *Config) { c.ClientConfig.Endpoint = "http://agentos.example.com/?key=" + wrongKey },
		"no scheme":        func(c *Config) { c.ClientConfig.Endpoint = wrongKey + "@127.0.0.1:8787" },
		"agent keys": func(c *Config) {
			c.AgentKeys = map[string]configopaque.String{"agent-7": wrongKey, otherAgent: ""}
		},
	} {
		cfg := testConfig("https://agentos.example.com")
		cfg.APIKey = wrongKey
		edit(cfg)
		show("collector config, "+name, cfg.Validate())
	}

	// SDK delivery failures against the local server.
	for _, tc := range []struct {
		name    string
		key     string
		faults  localserver.Faults
		maxBody int64
		client  *http.Client
	}{
		{name: "401 wrong key", key: wrongKey},
		{name: "403 another agent's key", key: otherKey},
		{name: "timeouts", key: testKey, faults: localserver.Faults{Latency: 200 * time.Millisecond}, client: &http.Client{Timeout: 20 * time.Millisecond}},
		{name: "413", key: testKey, maxBody: 1500},
	} {
		srv := localserver.New(localserver.Options{MaxBodyBytes: tc.maxBody})
		srv.RegisterAgent(testAgent, testKey)
		srv.RegisterAgent(otherAgent, otherKey)
		srv.SetFaults(tc.faults)
		hs := httptest.NewServer(srv)
		opts := []sdkbridge.Option{
			sdkbridge.WithEndpoint(strings.TrimPrefix(hs.URL, "http://")), sdkbridge.WithAPIKey(tc.key), sdkbridge.WithAgentID(testAgent),
			sdkbridge.WithLogger(logger), sdkbridge.WithTiming(sdkbridge.Timing{GracePeriod: time.Millisecond}),
			sdkbridge.WithRetry(sdkbridge.RetryConfig{Enabled: true, InitialInterval: 5 * time.Millisecond, MaxElapsedTime: 600 * time.Millisecond}),
		}
		if tc.client != nil {
			opts = append(opts, sdkbridge.WithHTTPClient(tc.client))
		}
		exp, err := sdkbridge.NewExporter(ctx, opts...)
		require.NoError(t, err, tc.name)
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
		for range 2 {
			rctx, root := tp.Tracer("t").Start(ctx, "invoke_agent demo")
			_, child := tp.Tracer("t").Start(rctx, "chat m", trace.WithAttributes(attribute.String("gen_ai.completion", strings.Repeat("z", 2000))))
			child.End()
			root.End()
		}
		if err := tp.Shutdown(ctx); err != nil {
			fmt.Fprintf(&shown, "sdkbridge %s: Shutdown: %v\n", tc.name, err)
		}
		hs.Close()
	}

	// Collector delivery failures, with its zap logger at debug level.
	o := newObserved(t)
	srv, url := newLocalServer(t)
	srv.RegisterAgent(otherAgent, otherKey)
	for _, key := range []string{wrongKey, otherKey} {
		cfg := testConfig(url)
		cfg.APIKey = configopaque.String(key)
		require.NoError(t, cfg.Validate())
		exp, err := NewFactory().CreateTraces(ctx, o.settings(), cfg)
		require.NoError(t, err)
		require.NoError(t, exp.Start(ctx, componenttest.NewNopHost()))
		require.NoError(t, exp.ConsumeTraces(ctx, oneRun(1)))
		if err := exp.Shutdown(ctx); err != nil {
			fmt.Fprintf(&shown, "collector: Shutdown: %v\n", err)
		}
	}
	o.assertNoKeyLogged(t, keys...)
	require.NotZero(t, o.logs.Len(), "the Collector logged nothing, which proves little")

	text := shown.String()
	for _, k := range keys {
		assert.NotContains(t, text, k, "a key was shown")
	}
	for _, want := range []string{"401 Unauthorized", "403 Forbidden", "attempt timeout", "too large", "[REDACTED]@agentos.example.com",
		"use the base URL", "level=DEBUG"} {
		assert.Contains(t, text, want, "this failure path was not taken, so the test proves less than it says")
	}
}
