package localserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
)

// BenchmarkIngestEvents sends 100-event batches to one run over HTTP, as
// the SDK exporter does, and reports events per second. The 900 KB input
// shows whether an append rewrites the run.
func BenchmarkIngestEvents(b *testing.B) {
	for _, store := range []string{"memory", "bolt"} {
		for _, input := range []int{100, 900 << 10} {
			b.Run(fmt.Sprintf("store=%s/input=%dB", store, input), func(b *testing.B) {
				var st Store = NewMemoryStore()
				if store == "bolt" {
					bs, err := OpenBoltStore(filepath.Join(b.TempDir(), "runs.db"))
					if err != nil {
						b.Fatal(err)
					}
					defer bs.Close()
					st = bs
				}
				s := New(Options{Store: st})
				s.RegisterAgent(agentA, keyA)
				hs := httptest.NewServer(s)
				defer hs.Close()
				runID := benchStart(b, hs, input)
				batch := benchBatch(b, runID)
				b.SetBytes(int64(len(batch)))
				b.ResetTimer()
				start := time.Now()
				for range b.N {
					benchPost(b, hs, agentosapi.PathEvents, batch)
				}
				b.ReportMetric(float64(b.N*100)/time.Since(start).Seconds(), "events/s")
			})
		}
	}
}

func benchStart(b *testing.B, hs *httptest.Server, inputBytes int) string {
	b.Helper()
	input, _ := json.Marshal(map[string]string{"prompt": strings.Repeat("x", inputBytes)})
	body, _ := json.Marshal(agentosapi.StartRunRequest{AgentID: agentA, Input: input})
	var d agentosapi.StartRunResponse
	if err := json.Unmarshal(benchPost(b, hs, agentosapi.PathRunStart, body), &d); err != nil {
		b.Fatal(err)
	}
	return d.RunID
}

// benchBatch is 100 events shaped like the bridge's: span ids, a model,
// a prompt of a few hundred bytes.
func benchBatch(b *testing.B, runID string) []byte {
	b.Helper()
	req := agentosapi.EventsRequest{RunID: runID}
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	for i := range 100 {
		req.Events = append(req.Events, agentosapi.Event{Type: "llm.request", Level: "info",
			OccurredAt: t0.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano),
			Payload: json.RawMessage(fmt.Sprintf(`{"span_id":"%016x","parent_span_id":"61d4ef7dc3739be8","span_name":"chat gpt-4o","model":"gpt-4o","prompt":[{"role":"user","parts":[{"type":"text","content":%q}]}]}`,
				i, strings.Repeat("What is the weather in Paris? ", 10)))})
	}
	body, err := json.Marshal(req)
	if err != nil {
		b.Fatal(err)
	}
	return body
}

func benchPost(b *testing.B, hs *httptest.Server, path string, body []byte) json.RawMessage {
	req, _ := http.NewRequest(http.MethodPost, hs.URL+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+keyA)
	req.Header.Set("Content-Type", "application/json")
	res, err := hs.Client().Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	var env agentosapi.Envelope
	if err := json.NewDecoder(res.Body).Decode(&env); err != nil || res.StatusCode != http.StatusOK {
		b.Fatalf("%s: %d %v %+v", path, res.StatusCode, err, env.Error)
	}
	return env.Data
}
