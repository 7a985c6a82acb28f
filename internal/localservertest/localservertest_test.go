package localservertest_test

import (
	"context"
	"testing"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/ingest"
	"github.com/agentos-ai/agentos-otel/internal/localserver"
	"github.com/agentos-ai/agentos-otel/internal/localservertest"
)

// The server answers on the returned URL for the registered agents only.
func TestStart(t *testing.T) {
	const (
		agent = "3b241101-e2bb-4255-8caf-4136c566a962"
		other = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
		key   = "aos_agent_localservertest"
	)
	srv, url := localservertest.Start(t, localserver.Options{}, localservertest.Agent{ID: agent, Key: key})
	for _, tc := range []struct {
		name    string
		agent   string
		wantErr bool
	}{
		{"registered", agent, false},
		{"unknown", other, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ingest.New(ingest.Config{BaseURL: url, AgentKeys: map[string]string{tc.agent: key}, Retry: ingest.RetryPolicy{MaxElapsedTime: 1}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.StartRun(context.Background(), &agentosapi.StartRunRequest{AgentID: tc.agent})
			if (err != nil) != tc.wantErr {
				t.Fatalf("StartRun error = %v, want error %t", err, tc.wantErr)
			}
		})
	}
	if got := len(srv.Runs()); got != 1 {
		t.Errorf("%d runs, want 1", got)
	}
}
