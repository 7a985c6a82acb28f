package agentosexporter

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/agentos-ai/agentos-otel/exporter/agentosexporter/internal/metadata"
	"github.com/agentos-ai/agentos-otel/internal/frontend"
	"github.com/agentos-ai/agentos-otel/internal/ingest"
	"github.com/agentos-ai/agentos-otel/internal/localserver"
	"github.com/agentos-ai/agentos-otel/internal/mapping"
	"github.com/agentos-ai/agentos-otel/internal/runtracker"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig()
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	// Typed settings (trigger_type, min_level, run_selector::mode) refuse
	// a bad value while they are read.
	if err := sub.Unmarshal(cfg); err != nil {
		return cfg.(*Config), err
	}
	return cfg.(*Config), confmap.Validate(cfg)
}

func TestLoadValidConfig(t *testing.T) {
	cfg, err := loadConfig(t, "minimal")
	require.NoError(t, err)
	assert.Equal(t, "https://agentos-ai.dev", cfg.ClientConfig.Endpoint)
	assert.Equal(t, RunSelectorMode(mapping.SelectAll), cfg.RunSelector.Mode)
	assert.Equal(t, 2*time.Second, cfg.Timing.GracePeriod)
	assert.False(t, cfg.RemoteParentIsRoot)

	cfg, err = loadConfig(t, "full")
	require.NoError(t, err)
	assert.Equal(t, "https://agentos.example.com", cfg.ClientConfig.Endpoint)
	assert.Equal(t, "aos_agent_other", string(cfg.AgentKeys["9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"]))
	assert.Equal(t, "^invoke_agent ", cfg.RunSelector.Pattern)
	assert.Equal(t, 50, cfg.Limits.MaxBatchEvents)
	assert.Equal(t, time.Minute, cfg.Timing.MaxWait)
	assert.True(t, cfg.QueueConfig.HasValue())
	assert.Equal(t, int64(5000), cfg.QueueConfig.Get().QueueSize)

	pc, err := cfg.pipelineConfig()
	require.NoError(t, err)
	assert.Equal(t, "aos_agent_default", pc.Ingest.DefaultKey)
	assert.Equal(t, 20*time.Second, pc.Ingest.Retry.MaxInterval, "request_retry drives the ingest client")
	assert.Equal(t, time.Second, pc.Ingest.Retry.InitialInterval)
	assert.Equal(t, 2*time.Second, cfg.RetryConfig.InitialInterval, "retry_on_failure stays exporterhelper's")
	assert.Equal(t, 5*time.Second, pc.Tracker.Grace)
	assert.True(t, pc.Mapping.Tasks)
	assert.Len(t, pc.Mapping.Redaction.Patterns, 1)
}

func TestMoreValidConfigs(t *testing.T) {
	for _, name := range []string{"agent_keys_only", "loopback_http", "insecure_allowed", "storage_persistent_queue", "storage_no_queue", "harmless_client_settings"} {
		t.Run(name, func(t *testing.T) {
			cfg, err := loadConfig(t, name)
			require.NoError(t, err)
			_, err = cfg.pipelineConfig()
			require.NoError(t, err)
		})
	}
}

func TestInvalidConfigsNameTheField(t *testing.T) {
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"missing_key", []string{"api_key: required"}},
		{"malformed_endpoint", []string{"endpoint: ", "has no scheme"}},
		{"insecure_endpoint", []string{"endpoint: ", "http://", "allow_insecure_http"}},
		{"userinfo_endpoint", []string{"endpoint: ", "user info"}},
		{"key_as_user_endpoint", []string{"endpoint: ", "https://[REDACTED]@agentos.example.com", "user info"}},
		{"ingest_path_endpoint", []string{"endpoint: ", "use the base URL, here \"https://agentos.example.com\""}},
		{"bad_selector", []string{"'run_selector.mode' ", `"agents_only" is not one of all, invoke_agent`}},
		{"bad_selector_pattern", []string{"run_selector: ", "pattern", "(unclosed"}},
		{"bad_agent_id", []string{"agent_id: ", "uuid"}},
		{"bad_agent_keys", []string{`agent_keys: agent id "agent-7" is not a uuid`, "agent_keys: agent 9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a has an empty key"}},
		{"default_agent_without_key", []string{"api_key: required", "agent_id 3b241101-e2bb-4255-8caf-4136c566a962"}},
		{"negative_limit", []string{"limits::max_held_spans: must not be negative", "timing::grace_period: must not be negative"}},
		{"tiny_request_limit", []string{"limits::max_request_bytes: 100 is below"}},
		{"bad_level", []string{"'min_level' ", `"verbose" is not one of debug`}},
		{"bad_trigger", []string{"'trigger_type' ", `"cron" is not one of manual`}},
		{"bad_redaction_pattern", []string{"redaction::patterns: ", "[a-"}},
		{"concurrent_queue", []string{"sending_queue::num_consumers: must be 1, not 10", "out of order"}},
		{"authorization_header", []string{"headers: authorization: the exporter sends the agent key in Authorization itself"}},
		{"content_type_header", []string{"headers: CONTENT-TYPE: the exporter sets Content-Type itself"}},
		{"auth_extension", []string{"auth: not supported", "replace the agent key"}},
		{"compression", []string{`compression: "gzip" is not supported`}},
		{"storage_memory_queue", []string{"sending_queue::storage: required with storage (set it to file_storage, or disable the sending queue)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig(t, tc.name)
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), "aos_agent_x", "the key leaked into the error")
			assert.NotContains(t, err.Error(), "Config.", "the core's field names leaked into the error")
		})
	}
}

func TestDefaultConfig(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	require.NoError(t, componenttest.CheckConfigStruct(cfg))
	assert.Equal(t, "https://agentos-ai.dev", cfg.ClientConfig.Endpoint)
	assert.Equal(t, TriggerType("sdk"), cfg.TriggerType)
	assert.Equal(t, RunSelectorMode("all"), cfg.RunSelector.Mode)
	assert.Equal(t, Level("debug"), cfg.MinLevel)
	assert.False(t, cfg.RemoteParentIsRoot, "the Collector may see the remote parent, so it waits for it")
	assert.False(t, cfg.Tasks)
	assert.True(t, cfg.RetryConfig.Enabled)
	assert.Equal(t, configretry.NewDefaultBackOffConfig(), cfg.RetryConfig, "retry_on_failure is exporterhelper's, with its defaults")
	assert.True(t, cfg.RequestRetry.Enabled)
	assert.True(t, cfg.QueueConfig.HasValue())
	assert.Equal(t, 1, cfg.QueueConfig.Get().NumConsumers, "more consumers reorder batches")
	assert.Equal(t, runtracker.DefaultMaxWait, cfg.Timing.MaxWait)
	assert.Equal(t, runtracker.DefaultMaxOpenRuns, cfg.Limits.MaxOpenRuns)

	// Defaults alone are invalid only for want of a key and an agent.
	err := cfg.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "api_key")
	assert.Contains(t, err.Error(), "agent_id")
	cfg.APIKey = "aos_agent_x"
	cfg.AgentID = "3b241101-e2bb-4255-8caf-4136c566a962"
	require.NoError(t, cfg.Validate())

	pc, err := cfg.pipelineConfig()
	require.NoError(t, err)
	require.NoError(t, pc.Mapping.Validate())
	require.NoError(t, pc.Tracker.Validate())
	assert.Equal(t, mapping.SelectAll, pc.Mapping.Selector.Mode)
	assert.Equal(t, ingest.DefaultRetryPolicy().MaxElapsedTime, pc.Ingest.Retry.MaxElapsedTime,
		"request_retry's defaults are the ingest client's")
}

func TestKeysAreOpaque(t *testing.T) {
	cfg, err := loadConfig(t, "full")
	require.NoError(t, err)
	for _, s := range []string{cfg.APIKey.String(), cfg.AgentKeys["9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"].String()} {
		assert.False(t, strings.Contains(s, "aos_agent"), "key printed: %s", s)
	}
}

func TestRetriesOffStayOff(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.RequestRetry = configretry.BackOffConfig{Enabled: false}
	pc, err := cfg.pipelineConfig()
	require.NoError(t, err)
	assert.False(t, pc.Ingest.Retry.Enabled)
	assert.NotEqual(t, ingest.RetryPolicy{}, pc.Ingest.Retry, "an all-zero policy would mean the defaults, retries on")
	assert.Equal(t, ingest.DefaultRetryPolicy().MaxElapsedTime, pc.Ingest.Retry.MaxElapsedTime, "unset fields keep the defaults")
}

// An endpoint refused for its query must not send the user to
// allow_insecure_http, which would not help.
func TestQueryEndpointDoesNotSuggestInsecure(t *testing.T) {
	_, err := loadConfig(t, "query_endpoint")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "must not have a query")
	assert.NotContains(t, err.Error(), "allow_insecure_http")
	assert.NotContains(t, err.Error(), "aos_agent_x", "the key leaked into the error")
}

// Errors of the core that name a field read with this component's YAML
// keys, whichever check finds them first.
func TestCoreErrorsNameYAMLKeys(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{runtracker.Options{Grace: -time.Second}.Validate(), "timing::grace_period: must not be negative"},
		{(&mapping.Options{MinLevel: "loud"}).Validate(), `min_level: "loud" is not one of debug, info, warn, error`},
		{(&mapping.Options{DefaultAgentID: "agent-7"}).Validate(), `agent_id: "agent-7" is not a uuid`},
	} {
		assert.EqualError(t, frontend.YAMLNames(tc.err), tc.want)
	}
	_, err := ingest.New(ingest.Config{BaseURL: "https://agentos-ai.dev", DefaultKey: "aos_agent_k", MaxBodyBytes: 10})
	require.Error(t, err)
	assert.Contains(t, frontend.YAMLNames(err).Error(), "limits::max_request_bytes")
	assert.NotContains(t, frontend.YAMLNames(err).Error(), "Config.")
}

// Typed settings set in code skip UnmarshalText; Validate still refuses
// them, through the core's checks, named with the YAML keys.
func TestTypedSettingsSetInCode(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*Config)
		want string
	}{
		{"trigger_type", func(c *Config) { c.TriggerType = "cron" }, `trigger_type: "cron" is not one of manual, scheduled, webhook, sdk`},
		{"min_level", func(c *Config) { c.MinLevel = "loud" }, `min_level: "loud" is not one of debug, info, warn, error`},
		{"run_selector", func(c *Config) { c.RunSelector.Mode = "agents_only" }, `run_selector: run selector mode "agents_only" is not one of`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig().(*Config)
			cfg.APIKey = "aos_agent_x"
			cfg.AgentID = "3b241101-e2bb-4255-8caf-4136c566a962"
			tc.set(cfg)
			err := cfg.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestTypedSettingsUnmarshalText(t *testing.T) {
	for _, tc := range []struct {
		name    string
		into    interface{ UnmarshalText([]byte) error }
		text    string
		wantErr bool
	}{
		{"trigger", new(TriggerType), "webhook", false},
		{"trigger empty", new(TriggerType), "", false},
		{"trigger unknown", new(TriggerType), "cron", true},
		{"level", new(Level), "warn", false},
		{"level unknown", new(Level), "WARN", true},
		{"mode", new(RunSelectorMode), "name_pattern", false},
		{"mode unknown", new(RunSelectorMode), "roots", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.into.UnmarshalText([]byte(tc.text))
			if tc.wantErr {
				assert.ErrorContains(t, err, fmt.Sprintf("%q is not one of", tc.text))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.text, reflect.ValueOf(tc.into).Elem().String())
		})
	}
}

// Validate reports the exporter's own problems and the core's at once,
// each named with its YAML key, and no check is made twice.
func TestValidateReportsEveryProblem(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.AgentID = "agent-7"
	cfg.Concurrency = -1
	cfg.Timing.GracePeriod = -time.Second
	cfg.Limits.MaxOpenRuns = -1
	err := cfg.Validate()
	require.Error(t, err)
	for _, want := range []string{
		"api_key: required",
		"concurrency: must not be negative",
		`agent_id: "agent-7" is not a uuid`,
		"timing::grace_period: must not be negative",
		"limits::max_open_runs: must not be negative",
	} {
		assert.Equal(t, 1, strings.Count(err.Error(), want), "%q once in %q", want, err)
	}
	assert.NotContains(t, err.Error(), "Tracker.")
}

// Each setting of what is sent, read by its YAML key, changes what the
// strict AgentOS server receives through the factory's exporter.
func TestConfigKeysReachAgentOS(t *testing.T) {
	long := strings.Repeat("x", 2000)
	withAttrs := func() ptrace.Traces {
		td := oneRun(1)
		spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
		root := spans.At(1).Attributes()
		root.PutStr("user.password", "hunter2-secret")
		root.PutStr("session_token", "tok-abc123")
		root.PutStr("user.name", "ada")
		root.PutStr("note", long)
		return td
	}
	for _, tc := range []struct {
		name  string
		keys  map[string]any
		td    func() ptrace.Traces
		check func(t *testing.T, runs []localserver.Run, body string)
	}{
		{"trigger_type", map[string]any{"trigger_type": "webhook"}, withAttrs, func(t *testing.T, runs []localserver.Run, _ string) {
			assert.Equal(t, "webhook", runs[0].TriggerType)
		}},
		{"tasks", map[string]any{"tasks": true}, func() ptrace.Traces {
			td := oneRun(3)
			tool := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
			tool.Attributes().PutStr("gen_ai.operation.name", "execute_tool")
			tool.Attributes().PutStr("gen_ai.tool.name", "lookup")
			return td
		}, func(t *testing.T, runs []localserver.Run, _ string) {
			require.NotEmpty(t, runs[0].Tasks)
			assert.Equal(t, "lookup", runs[0].Tasks[0].Name)
		}},
		{"redaction masks", map[string]any{"redaction": map[string]any{"attributes": []any{"user.password"}, "patterns": []any{"(?i)token"}}}, withAttrs,
			func(t *testing.T, _ []localserver.Run, body string) {
				assert.Contains(t, body, "ada")
				assert.Contains(t, body, "[REDACTED]")
				assert.NotContains(t, body, "hunter2-secret")
				assert.NotContains(t, body, "tok-abc123")
			}},
		{"redaction drops", map[string]any{"redaction": map[string]any{"attributes": []any{"user.password"}, "patterns": []any{"(?i)token"}, "drop": true}}, withAttrs,
			func(t *testing.T, _ []localserver.Run, body string) {
				assert.Contains(t, body, "ada")
				assert.NotContains(t, body, "[REDACTED]")
				assert.NotContains(t, body, "hunter2-secret")
				assert.NotContains(t, body, "tok-abc123")
			}},
		{"min_level", map[string]any{"min_level": "warn"}, func() ptrace.Traces {
			td := oneRun(4)
			chat := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
			for name, level := range map[string]string{"cache.miss": "debug", "cache.stale": "warn"} {
				ev := chat.Events().AppendEmpty()
				ev.SetName(name)
				ev.SetTimestamp(ts(time.Millisecond))
				ev.Attributes().PutStr("agentos.level", level)
			}
			return td
		}, func(t *testing.T, _ []localserver.Run, body string) {
			assert.NotContains(t, body, "cache.miss")
			assert.Contains(t, body, "cache.stale")
		}},
		{"run_selector", map[string]any{"run_selector": map[string]any{"mode": "name_pattern", "pattern": "^invoke_agent d"}}, func() ptrace.Traces {
			td := oneRun(5)
			other := oneRun(6)
			other.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1).SetName("healthcheck")
			other.ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
			return td
		}, func(t *testing.T, runs []localserver.Run, _ string) {
			assert.Equal(t, "invoke_agent demo", runName(t, runs[0]), "only the root the pattern selects is a run")
		}},
		{"max_string_length", map[string]any{"max_string_length": 100}, withAttrs, func(t *testing.T, _ []localserver.Run, body string) {
			assert.NotContains(t, body, strings.Repeat("x", 101))
			assert.Contains(t, body, "…[truncated]")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, url := newLocalServer(t)
			cfg := testConfig(url)
			require.NoError(t, confmap.NewFromStringMap(tc.keys).Unmarshal(cfg))
			runExporter(t, cfg, exportertest.NewNopSettings(NewFactory().Type()), tc.td())
			runs := srv.Runs()
			require.Len(t, runs, 1)
			body, err := json.Marshal(runs)
			require.NoError(t, err)
			tc.check(t, runs, string(body))
		})
	}
}

// remote_parent_is_root: a span whose parent is in another process starts
// its run at once (true), or is held for the parent to arrive (false).
func TestRemoteParentIsRootKey(t *testing.T) {
	for _, isRoot := range []bool{true, false} {
		t.Run(fmt.Sprint(isRoot), func(t *testing.T) {
			srv, url := newLocalServer(t)
			cfg := testConfig(url)
			require.NoError(t, confmap.NewFromStringMap(map[string]any{
				"remote_parent_is_root": isRoot, "timing": map[string]any{"max_wait": "1h"},
			}).Unmarshal(cfg))
			require.NoError(t, cfg.Validate())
			o := newObserved(t)
			ctx := context.Background()
			exp, err := NewFactory().CreateTraces(ctx, o.settings(), cfg)
			require.NoError(t, err)
			require.NoError(t, exp.Start(ctx, componenttest.NewNopHost()))
			td := oneRun(2)
			root := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1)
			root.SetParentSpanID(pcommon.SpanID{9, 9})
			root.SetFlags(0x100 | 0x200) // the parent is remote
			require.NoError(t, exp.ConsumeTraces(ctx, td))
			if isRoot {
				require.Eventually(t, func() bool {
					runs := srv.Runs()
					return len(runs) == 1 && runs[0].Status == "completed"
				}, 10*time.Second, 5*time.Millisecond, "the run is sent before shutdown")
			} else {
				require.Eventually(t, func() bool { return o.gauge(t, "agentos.spans.held") == 2 }, 10*time.Second, 5*time.Millisecond)
				require.Empty(t, srv.Runs(), "held for the parent, nothing sent")
			}
			require.NoError(t, exp.Shutdown(ctx))
		})
	}
}

// gauge reads an int64 gauge; 0 if it was never recorded.
func (o observed) gauge(t *testing.T, name string) int64 {
	t.Helper()
	m, err := o.tel.GetMetric(name)
	if err != nil {
		return 0
	}
	g, ok := m.Data.(metricdata.Gauge[int64])
	require.True(t, ok, "%s is a %T", name, m.Data)
	return total(g.DataPoints)
}

func runName(t *testing.T, r localserver.Run) string {
	t.Helper()
	var in struct{ Name string }
	require.NoError(t, json.Unmarshal(r.Input, &in))
	return in.Name
}
