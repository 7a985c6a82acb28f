package main

import (
	"context"
	"strings"
	"testing"
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
