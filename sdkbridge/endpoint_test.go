package sdkbridge_test

import (
	"context"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/agentos-ai/agentos-otel/sdkbridge"
)

// TestEndpointForms: host[:port] and URLs, from options and from
// AGENTOS_ENDPOINT, reach the same local server.
func TestEndpointForms(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		env  func(url string) string
		opt  func(url string) []sdkbridge.Option
	}{
		{"WithEndpoint host:port", nil, func(url string) []sdkbridge.Option {
			return []sdkbridge.Option{sdkbridge.WithEndpoint(strings.TrimPrefix(url, "http://"))}
		}},
		{"WithEndpointURL", nil, func(url string) []sdkbridge.Option { return []sdkbridge.Option{sdkbridge.WithEndpointURL(url)} }},
		{"AGENTOS_ENDPOINT host:port", func(url string) string { return strings.TrimPrefix(url, "http://") }, nil},
		{"AGENTOS_ENDPOINT URL", func(url string) string { return url }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, url := newServer(t)       // http://127.0.0.1:port
			opts := bridgeOptions(url)[1:] // all but WithEndpoint
			t.Setenv(sdkbridge.EnvEndpoint, "")
			if tc.env != nil {
				t.Setenv(sdkbridge.EnvEndpoint, tc.env(url))
			}
			if tc.opt != nil {
				opts = append(opts, tc.opt(url)...)
			}
			exp, err := sdkbridge.NewExporter(ctx, opts...)
			if err != nil {
				t.Fatal(err)
			}
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
			agentTurn(ctx, tp.Tracer("t"), false)
			if err := tp.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			if runs := srv.Runs(); len(runs) != 1 || runs[0].Status != "completed" {
				t.Fatalf("runs: %+v", runs)
			}
		})
	}
}

func TestEndpointErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		opt     sdkbridge.Option
		want    []string
		wantNot []string
	}{
		{"ingest path", sdkbridge.WithEndpointURL("https://agentos.example.com/api/ingest/v1/"),
			[]string{"AGENTOS_ENDPOINT, WithEndpoint or WithEndpointURL", `use the base URL, here "https://agentos.example.com"`}, nil},
		{"remote http", sdkbridge.WithEndpoint("http://agentos.example.com"), []string{"WithInsecure or AGENTOS_INSECURE=true permits it"}, nil},
		{"query", sdkbridge.WithEndpointURL("http://agentos.example.com/?key=" + apiKey), []string{"must not have a query"},
			[]string{"WithInsecure", apiKey}},
		{"key as user name", sdkbridge.WithEndpoint(apiKey + "@agentos.example.com"), []string{"https://[REDACTED]@agentos.example.com", "user info"},
			[]string{apiKey}},
		{"URL option without a scheme", sdkbridge.WithEndpointURL("127.0.0.1:8787"), []string{"has no scheme"}, []string{"first path segment"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sdkbridge.NewExporter(ctx, sdkbridge.WithAPIKey(apiKey), sdkbridge.WithAgentID(agentID), tc.opt)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(err.Error(), w) {
					t.Errorf("error %q says %q", err, w)
				}
			}
		})
	}
}
