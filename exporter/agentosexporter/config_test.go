package agentosexporter

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/agentos-ai/agentos-otel/exporter/agentosexporter/internal/metadata"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig()
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg.(*Config), confmap.Validate(cfg)
}

func TestLoadValidConfig(t *testing.T) {
	cfg, err := loadConfig(t, "minimal")
	require.NoError(t, err)
	assert.Equal(t, "https://agentos-ai.dev", cfg.ClientConfig.Endpoint)
	assert.Equal(t, "all", cfg.RunSelector.Mode)
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
	assert.Equal(t, 20*time.Second, pc.Ingest.Retry.MaxInterval)
	assert.Equal(t, 5*time.Second, pc.Tracker.Grace)
	assert.True(t, pc.Mapping.Tasks)
	assert.Len(t, pc.Mapping.Redaction.Patterns, 1)
}

func TestInvalidConfigsNameTheField(t *testing.T) {
	for name, want := range map[string][]string{
		"missing_key":          {"api_key"},
		"malformed_endpoint":   {"endpoint", "agentos-ai.dev/api"},
		"insecure_endpoint":    {"endpoint", "http://"},
		"bad_selector":         {"run_selector", "agents_only"},
		"bad_selector_pattern": {"run_selector", "pattern"},
		"bad_agent_id":         {"agent_id", "uuid"},
		"negative_limit":       {"limits::max_held_spans", "timing::grace_period"},
		"bad_level":            {"min_level", "verbose"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := loadConfig(t, name)
			require.Error(t, err)
			for _, w := range want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), "aos_agent_x", "the key leaked into the error")
		})
	}
}

func TestKeysAreOpaque(t *testing.T) {
	cfg, err := loadConfig(t, "full")
	require.NoError(t, err)
	for _, s := range []string{cfg.APIKey.String(), cfg.AgentKeys["9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"].String()} {
		assert.False(t, strings.Contains(s, "aos_agent"), "key printed: %s", s)
	}
}
