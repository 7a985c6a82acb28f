package localserver_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/localserver"
)

func ExampleStart() {
	const agentID, key = "7f3c9a2e-4b1d-4e8a-9c6f-2d5b8e1a7c40", "aos_agent_example"
	l, err := localserver.Start("127.0.0.1:0", localserver.Options{})
	if err != nil {
		panic(err)
	}
	defer l.Close(context.Background())
	l.Server().RegisterAgent(agentID, key)

	send := func(key string) {
		req, _ := http.NewRequest(http.MethodPost, l.URL()+agentosapi.PathRunStart,
			strings.NewReader(`{"agent_id":"`+agentID+`","trigger_type":"manual"}`))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		client := &http.Client{Transport: &http.Transport{}}
		defer client.CloseIdleConnections()
		res, err := client.Do(req)
		if err != nil {
			panic(err)
		}
		res.Body.Close()
		fmt.Println(res.Status)
	}
	send(key)
	send("aos_agent_unknown")

	for _, r := range l.Server().Runs() {
		fmt.Println(r.Status, r.TriggerType)
	}
	// Output:
	// 200 OK
	// 401 Unauthorized
	// running manual
}
