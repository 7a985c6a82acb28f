package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/localserver"
)

// benchServer is the command's handler over a database file, without
// the process around it.
func benchServer(b *testing.B) (*localserver.BoltStore, *httptest.Server) {
	b.Helper()
	store, err := localserver.OpenBoltStore(filepath.Join(b.TempDir(), "runs.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = store.Close() })
	log := slog.New(slog.DiscardHandler)
	srv := localserver.New(localserver.Options{Store: store, Logger: log})
	srv.RegisterAgent(agentA, "aos_agent_a")
	pages := &web{store: store, url: "http://x", agents: []string{agentA}, log: log}
	hs := httptest.NewServer(recoverPanics(log, checkHost(nil, newMux(srv, pages))))
	b.Cleanup(hs.Close)
	return store, hs
}

func benchGet(b *testing.B, url string) int {
	res, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	n, err := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %d %v", url, res.StatusCode, err)
	}
	return int(n)
}

// BenchmarkListPage serves the list of runs from a database of 10,000
// runs of 20 events each: the first page, a search and the last page.
func BenchmarkListPage(b *testing.B) {
	store, hs := benchServer(b)
	t0 := time.Now().Add(-time.Hour)
	for i := range 10000 {
		run := localserver.Run{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), AgentID: agentA, TriggerType: "sdk",
			ExternalRunID: fmt.Sprintf("trace-%d", i), Status: localserver.StatusCompleted,
			Input:     json.RawMessage(fmt.Sprintf(`{"input_messages":[{"role":"user","parts":[{"type":"text","content":"question %d %s"}]}]}`, i, strings.Repeat("lorem ipsum ", 100))),
			StartedAt: t0.Add(time.Duration(i) * time.Millisecond), EndedAt: t0.Add(time.Duration(i)*time.Millisecond + time.Second)}
		if err := store.Add(run); err != nil {
			b.Fatal(err)
		}
		events := make([]localserver.RecordedEvent, 20)
		for j := range events {
			events[j] = localserver.RecordedEvent{Event: agentosapi.Event{Type: "llm.response", Payload: json.RawMessage(`{"model":"m","input_tokens":10,"output_tokens":5}`)}, SequenceNumber: int64(j + 1), ReceivedAt: t0}
		}
		if err := store.AppendEvents(run.ID, events); err != nil {
			b.Fatal(err)
		}
	}
	// The page of the oldest runs, as paging there would reach it.
	sixtieth, _, _ := store.Summary("00000000-0000-4000-8000-000000000060")
	oldest := "/?before=" + url.QueryEscape(sixtieth.Cursor())
	for _, tc := range []struct{ name, path string }{
		{"newest", "/"},
		{"status", "/?status=completed"},
		{"search", "/?q=question+9999+lorem"},
		{"oldest", oldest},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var n int
			for b.Loop() {
				n = benchGet(b, hs.URL+tc.path)
			}
			b.ReportMetric(float64(n), "page-bytes")
		})
	}
}

// BenchmarkDeepPayloadPage serves the page of a run whose two events
// carry payloads nested 9,000 levels deep, and reports the page's size
// and the heap it took.
func BenchmarkDeepPayloadPage(b *testing.B) {
	_, hs := benchServer(b)
	var start agentosapi.StartRunResponse
	post := func(path, body string) json.RawMessage {
		req, _ := http.NewRequest(http.MethodPost, hs.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer aos_agent_a")
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer res.Body.Close()
		var env agentosapi.Envelope
		if err := json.NewDecoder(res.Body).Decode(&env); err != nil || res.StatusCode != 200 {
			b.Fatalf("%s: %d %v", path, res.StatusCode, err)
		}
		return env.Data
	}
	if err := json.Unmarshal(post(agentosapi.PathRunStart, `{"agent_id":"`+agentA+`"}`), &start); err != nil {
		b.Fatal(err)
	}
	deep := strings.Repeat(`{"a":`, 9000) + "1" + strings.Repeat("}", 9000)
	deepList := strings.Repeat("[", 9000) + strings.Repeat("]", 9000)
	post(agentosapi.PathEvents, fmt.Sprintf(`{"run_id":%q,"events":[{"type":"step.started","payload":%s},{"type":"llm.request","payload":{"span_id":"a1","prompt":%s}}]}`, start.RunID, deep, deepList))
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var n int
	for b.Loop() {
		n = benchGet(b, hs.URL+"/runs/"+start.RunID)
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(n), "page-bytes")
	b.ReportMetric(float64(after.HeapSys)/(1<<20), "heap-sys-MB")
}
