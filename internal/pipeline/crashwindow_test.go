package pipeline

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/journal"
	"github.com/agentos-ai/agentos-otel/internal/localserver"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// slowStore is a MemStore whose writes take as long as a disk's, one at a
// time as in bbolt: a Write is stored once it returns, so a Clone
// meanwhile is what a crash leaves.
type slowStore struct {
	*journal.MemStore
	delay time.Duration
	mu    *sync.Mutex
}

func (s slowStore) Write(ctx context.Context, ws []journal.Write) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	time.Sleep(s.delay)
	return s.MemStore.Write(ctx, ws)
}

// answers counts the run/start answers that reached the client.
type answers struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (a *answers) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := a.next.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusOK && strings.HasSuffix(r.URL.Path, "/run/start") {
		a.n.Add(1)
	}
	return resp, err
}

// BenchmarkCrashWhileStartsAnswered measures the ambiguous-start window:
// 150 runs start at once against an AgentOS 20 ms away, and the process
// "dies" (its store is copied) the moment AgentOS has opened the last of
// them. unstored-ids is how many runs AgentOS opened whose id the copy
// lacks: the next process starts them again, and they stay open in
// AgentOS. received-unstored counts those of them whose answer had reached
// the client: the part of the window that is the exporter's, from an
// answer's arrival to its id being stored.
func BenchmarkCrashWhileStartsAnswered(b *testing.B) {
	const runs = 150
	for _, delay := range []time.Duration{200 * time.Microsecond, 2 * time.Millisecond} {
		b.Run(fmt.Sprintf("write=%v", delay), func(b *testing.B) {
			ctx := context.Background()
			t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
			unstored, receivedUnstored := 0, 0
			for b.Loop() {
				srv := newServer(b)
				srv.SetFaults(localserver.Faults{Latency: 20 * time.Millisecond})
				hs := httptest.NewServer(srv)
				store := slowStore{journal.NewMemStore(), delay, &sync.Mutex{}}
				c := &clock{now: t0}
				cfg := durableConfig(hs.URL, store, c, nil)
				got := &answers{next: http.DefaultTransport.(*http.Transport).Clone()}
				cfg.Ingest.HTTPClient = &http.Client{Transport: got}
				p := mustNew(b, cfg)
				var batch []spans.Span
				for i := range runs {
					batch = append(batch, trace3(byte(i+1), t0)...)
				}
				must(b, p.ConsumeSpans(ctx, batch))
				c.now = c.now.Add(2 * time.Second)
				p.Tick()
				for len(srv.Runs()) < runs {
					time.Sleep(100 * time.Microsecond)
				}
				disk := store.Clone()
				received := int(got.n.Load())
				crash(b, p, hs)

				_, rec, err := journal.Open(ctx, disk, journal.Options{})
				if err != nil {
					b.Fatal(err)
				}
				stored := map[string]bool{}
				for _, tr := range rec.Traces {
					for _, r := range tr.Runs {
						stored[r.RunID] = true
					}
				}
				n := 0
				for _, r := range srv.Runs() {
					if !stored[r.ID] && r.Status == localserver.StatusRunning {
						n++
					}
				}
				unstored += n
				// Every stored id's answer was received.
				receivedUnstored += received - (runs - n)
			}
			b.ReportMetric(float64(unstored)/float64(b.N), "unstored-ids/150-runs")
			b.ReportMetric(float64(receivedUnstored)/float64(b.N), "received-unstored/150-runs")
		})
	}
}
