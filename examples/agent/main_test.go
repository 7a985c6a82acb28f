package main

import (
	"context"
	"strings"
	"testing"

	"github.com/agentos-ai/agentos-otel/internal/localserver"
	"github.com/agentos-ai/agentos-otel/internal/localservertest"
)

// TestMainJob runs the README's main command in-process, both ways, against
// the embedded server, and checks what it prints.
func TestMainJob(t *testing.T) {
	for _, live := range []bool{false, true} {
		t.Run(map[bool]string{false: "exporter", true: "live"}[live], func(t *testing.T) {
			t.Setenv("AGENTOS_API_KEY", "")
			var out strings.Builder
			if err := run(context.Background(), &out, live); err != nil {
				t.Fatal(err)
			}
			got := out.String()
			for _, want := range []string{
				"AgentOS received 3 run(s)",
				"[COMPLETED]", "[FAILED]",
				"llm.request", "llm.response", "tool.called", "tool.returned", "tool.failed", "cache.miss",
				"error   tool book_flight: no flights to the Moon",
			} {
				if !strings.Contains(got, want) {
					t.Errorf("output lacks %q:\n%s", want, got)
				}
			}
			if strings.Count(got, "[COMPLETED]") != 2 || strings.Count(got, "[FAILED]") != 1 {
				t.Errorf("want two completed runs and one failed:\n%s", got)
			}
		})
	}
}

// With AGENTOS_* set, the agent reports there and prints what it delivered.
func TestReportsWhatWasDelivered(t *testing.T) {
	for _, live := range []bool{false, true} {
		t.Run(map[bool]string{false: "exporter", true: "live"}[live], func(t *testing.T) {
			srv, url := localservertest.Start(t, localserver.Options{}, localservertest.Agent{ID: localAgentID, Key: "aos_agent_example_test"})
			t.Setenv("AGENTOS_API_KEY", "aos_agent_example_test")
			t.Setenv("AGENTOS_AGENT_ID", localAgentID)
			t.Setenv("AGENTOS_ENDPOINT", url)
			var out strings.Builder
			if err := run(context.Background(), &out, live); err != nil {
				t.Fatal(err)
			}
			want := "Delivered to AgentOS at " + url + ", agent " + localAgentID + ": 3 run(s) started, 2 completed, 1 failed,"
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out.String())
			}
			if n := len(srv.Runs()); n != 3 {
				t.Errorf("AgentOS holds %d runs, want 3", n)
			}
		})
	}
}
