package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/ingest"
	"github.com/agentos-ai/agentos-otel/internal/localserver"
)

// One run from start to close, against a local AgentOS.
func Example() {
	const agentID, key = "8b0c3c1e-5a4f-4c1b-9d7e-2f6a1b3c4d5e", "aos_agent_example"
	srv := localserver.New(localserver.Options{})
	srv.RegisterAgent(agentID, key)
	ts := httptest.NewServer(srv)
	defer ts.Close()

	client, err := ingest.New(ingest.Config{BaseURL: ts.URL, DefaultKey: key})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.CloseIdleConnections()
	ctx := context.Background()

	runID, err := client.StartRun(ctx, &agentosapi.StartRunRequest{AgentID: agentID, ExternalRunID: "job-1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = client.SendEvents(ctx, agentID, runID, []agentosapi.Event{
		{Type: "tool.called", Payload: json.RawMessage(`{"tool":"search","input":"go"}`)},
		{Type: "tool.returned", Payload: json.RawMessage(`{"tool":"search","output":"found"}`)},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := client.CompleteRun(ctx, agentID, &agentosapi.CompleteRunRequest{RunID: runID}); err != nil {
		fmt.Println(err)
		return
	}
	// Closing twice is fine: AgentOS answers 409 and the client reports success.
	fmt.Println("second close:", client.CompleteRun(ctx, agentID, &agentosapi.CompleteRunRequest{RunID: runID}))

	// Sending to a closed run is not.
	err = client.SendEvents(ctx, agentID, runID, []agentosapi.Event{{Type: "late"}})
	fmt.Println("run closed:", errors.Is(err, ingest.ErrRunClosed), "permanent:", ingest.IsPermanent(err))

	run := srv.Runs()[0]
	for _, ev := range run.Events {
		fmt.Println(ev.SequenceNumber, ev.Type)
	}
	fmt.Println(run.Status, run.ExternalRunID)
	// Printing the client never shows a key.
	fmt.Println(strings.Replace(client.String(), ts.URL, "<url>", 1))
	// Output:
	// second close: <nil>
	// run closed: true permanent: true
	// 1 tool.called
	// 2 tool.returned
	// completed job-1
	// ingest.Client{BaseURL:"<url>" Agents:0 DefaultKey:true UserAgent:"agentos-otel-go/0.1.0"}
}
