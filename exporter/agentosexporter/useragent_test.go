package agentosexporter

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/agentos-ai/agentos-otel/internal/localserver"
	"github.com/agentos-ai/agentos-otel/internal/version"
)

func TestUserAgentFromBuildInfo(t *testing.T) {
	for _, tc := range []struct {
		name string
		info component.BuildInfo
		want string
	}{
		{"distribution", component.BuildInfo{Command: "otelcol-agentos", Version: "0.1.0"}, "agentosexporter (otelcol-agentos/0.1.0)"},
		{"no command", component.BuildInfo{Version: "1.0.0"}, "agentosexporter"},
		{"not a token", component.BuildInfo{Command: "my collector", Version: "1"}, "agentosexporter"},
		{"control characters", component.BuildInfo{Command: "otelcol", Version: "1\r\nX-Evil: 1"}, "agentosexporter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, userAgent(tc.info))
		})
	}
}

// Every request carries the project's product token, this exporter's name
// and the Collector build it runs in.
func TestRequestsCarryTheUserAgent(t *testing.T) {
	srv := localserver.New(localserver.Options{})
	srv.RegisterAgent(testAgent, testKey)
	var mu sync.Mutex
	agents := map[string]int{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		agents[r.Header.Get("User-Agent")]++
		mu.Unlock()
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)

	set := exportertest.NewNopSettings(NewFactory().Type())
	set.BuildInfo = component.BuildInfo{Command: "otelcol-agentos", Description: "test", Version: "9.8.7"}
	runExporter(t, testConfig(hs.URL), set, oneRun(1))

	require.Len(t, srv.Runs(), 1)
	mu.Lock()
	defer mu.Unlock()
	want := version.UserAgent("agentosexporter (otelcol-agentos/9.8.7)")
	assert.Equal(t, map[string]int{want: 3}, agents, "run/start, events, run/complete")
}
