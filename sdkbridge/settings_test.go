package sdkbridge_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/configerr"
	"github.com/agentos-ai/agentos-otel/sdkbridge"
)

// TestErrorsNameTheOptions: errors from the core's checks name this front
// end's options and environment variables, not the core's fields.
func TestErrorsNameTheOptions(t *testing.T) {
	for _, k := range []string{sdkbridge.EnvAPIKey, sdkbridge.EnvAgentID, sdkbridge.EnvEndpoint} {
		t.Setenv(k, "")
	}
	for _, tc := range []struct {
		name string
		opts []sdkbridge.Option
		want string
	}{
		{"request limit", []sdkbridge.Option{sdkbridge.WithLimits(sdkbridge.Limits{MaxRequestBytes: 100})},
			"agentos: WithLimits(Limits{MaxRequestBytes}): must be at least 256, got 100"},
		{"key with a space", []sdkbridge.Option{sdkbridge.WithAPIKey(apiKey + " x")},
			"agentos: AGENTOS_API_KEY / WithAPIKey: contains spaces or control characters"},
		{"retry intervals", []sdkbridge.Option{sdkbridge.WithRetry(sdkbridge.RetryConfig{Enabled: true, InitialInterval: time.Minute, MaxInterval: time.Second})},
			"agentos: WithRetry(RetryConfig{MaxInterval}): 1s must not be below the initial interval, 1m0s"},
		{"negative retry interval", []sdkbridge.Option{sdkbridge.WithRetry(sdkbridge.RetryConfig{Enabled: true, MaxElapsedTime: -time.Second})},
			"agentos: WithRetry(RetryConfig{MaxElapsedTime}): must not be negative, got -1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := append([]sdkbridge.Option{sdkbridge.WithAPIKey(apiKey), sdkbridge.WithAgentID(agentID)}, tc.opts...)
			_, err := sdkbridge.NewExporter(context.Background(), opts...)
			var fe *configerr.FieldError
			if err == nil || err.Error() != tc.want || !errors.As(err, &fe) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "Config.") {
				t.Errorf("error %q names the core's field", err)
			}
		})
	}
}
