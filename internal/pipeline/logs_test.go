package pipeline

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/journal"
	"github.com/agentos-ai/agentos-otel/internal/logjoin"
	"github.com/agentos-ai/agentos-otel/internal/mapping"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

func chatTrace(id byte, t0 time.Time) (chat, root spans.Span) {
	chat = span(id, 2, 1, t0.Add(time.Millisecond))
	chat.Name = "chat m"
	chat.Attrs = []spans.Attr{{Key: "gen_ai.operation.name", Value: spans.StringValue("chat")}}
	root = span(id, 1, 0, t0)
	root.EndTime = t0.Add(5 * time.Millisecond)
	return chat, root
}

func promptRecord(t *testing.T, id byte, at time.Time, text string) logjoin.Record {
	t.Helper()
	ev, ok := mapping.LogEvent("gen_ai.user.message", at, nil, spans.MapValue([]spans.Attr{{Key: "content", Value: spans.StringValue(text)}}))
	if !ok {
		t.Fatal("not a GenAI record")
	}
	return logjoin.Record{TraceID: spans.TraceID{id}, SpanID: spans.SpanID{2}, Event: ev}
}

// With storage, a GenAI log record is as durable as a span: one that
// waits for its span when the process dies joins it after the restart.
// A record whose span never comes is dropped once the wait is over, and
// leaves nothing stored.
func TestCrashKeepsLogRecordsWaitingForTheirSpan(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	var drops []logjoin.Drop
	config := func(url string, store journal.Store, c *clock) Config {
		cfg := durableConfig(url, store, c, nil)
		cfg.JoinLogs = true
		cfg.LogDropped = func(d logjoin.Drop) { drops = append(drops, d) }
		return cfg
	}
	srv := newServer(t)
	hs1 := httptest.NewServer(srv)
	store := journal.NewMemStore()
	c := &clock{now: t0}
	p1 := mustNew(t, config(hs1.URL, store, c))
	must(t, p1.ConsumeLogs(ctx, []logjoin.Record{promptRecord(t, 1, t0.Add(time.Millisecond), "kept across the crash"),
		promptRecord(t, 2, t0, "its span never comes")}))
	disk := store.Clone()
	crash(t, p1, hs1)

	hs2 := httptest.NewServer(srv)
	defer hs2.Close()
	c.now = t0.Add(time.Second)
	p2 := mustNew(t, config(hs2.URL, disk, c))
	chat, root := chatTrace(1, t0)
	must(t, p2.ConsumeSpans(ctx, []spans.Span{chat, root}))
	c.now = t0.Add(10 * time.Second) // past the grace period and max_wait
	p2.Tick()
	must(t, p2.Flush(ctx))
	runs := srv.Runs()
	if len(runs) != 1 {
		t.Fatalf("%d runs", len(runs))
	}
	var payloads []string
	for _, e := range runs[0].Events {
		payloads = append(payloads, string(e.Payload))
	}
	if all := strings.Join(payloads, "\n"); !strings.Contains(all, `"kept across the crash"`) {
		t.Errorf("the stored record did not join its span:\n%s", all)
	}
	if len(drops) != 1 || drops[0].TraceID != (spans.TraceID{2}) || drops[0].Reason != logjoin.ReasonOrphan {
		t.Errorf("drops %+v, want the record whose span never came", drops)
	}
	must(t, p2.Shutdown(ctx))
	if disk.Len() != 1 {
		t.Errorf("%d records left, want the header only", disk.Len())
	}
}
