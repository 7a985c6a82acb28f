package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/agentos-ai/agentos-otel/sdkbridge"
)

// printDelivered says what reached AgentOS, from the bridge's counters, and
// where to look for it.
func printDelivered(ctx context.Context, w io.Writer, reader *sdkmetric.ManualReader) {
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		fmt.Fprintf(w, "Could not read the bridge's metrics: %v\n", err)
		return
	}
	sums := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if s, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, dp := range s.DataPoints {
					sums[m.Name] += dp.Value
				}
			}
		}
	}
	endpoint := cmp.Or(os.Getenv(sdkbridge.EnvEndpoint), "https://agentos-ai.dev")
	fmt.Fprintf(w, "Delivered to AgentOS at %s, agent %s: %d run(s) started, %d completed, %d failed, %d event(s).\n",
		endpoint, os.Getenv(sdkbridge.EnvAgentID), sums["agentos.runs.started"], sums["agentos.runs.completed"],
		sums["agentos.runs.failed"], sums["agentos.events.sent"])
	if n := sums["agentos.requests.failed"]; n > 0 {
		fmt.Fprintf(w, "%d request(s) failed for good; the reasons follow and are logged above.\n", n)
	}
	fmt.Fprintln(w, "Open the agent's runs in AgentOS to see them; each run's external_run_id is its trace id.")
}
