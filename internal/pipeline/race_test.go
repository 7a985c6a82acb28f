package pipeline

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/ingest"
	"github.com/agentos-ai/agentos-otel/internal/localserver"
	"github.com/agentos-ai/agentos-otel/internal/mapping"
	"github.com/agentos-ai/agentos-otel/internal/runtracker"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// TestRunOrderUnderConcurrentCalls races Live, ConsumeSpans, Tick and
// Flush against each other. Every run's spans follow one another in time,
// so its timeline is in emission order only if no interleaving of calls
// reorders a run's requests: the strict server must see start first, every
// event in order, the close last and nothing after it.
func TestRunOrderUnderConcurrentCalls(t *testing.T) {
	srv := localserver.New(localserver.Options{})
	srv.RegisterAgent(agent, key)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	p, err := New(Config{
		Ingest:       ingest.Config{BaseURL: hs.URL, DefaultKey: key},
		Mapping:      mapping.Options{DefaultAgentID: agent},
		Tracker:      runtracker.Options{Grace: time.Nanosecond},
		Concurrency:  16,
		TickInterval: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Jitter between emitting ops and submitting them: if the two ever
	// happened apart, other calls would overtake and reorder a run.
	submit := p.submit
	p.submit = func(ops []runtracker.Op) error {
		if len(ops) > 0 && rand.IntN(4) == 0 {
			time.Sleep(time.Duration(rand.IntN(1000)) * time.Microsecond)
		}
		return submit(ops)
	}
	const (
		feeders        = 4 // of each kind
		runsPerFeeder  = 25
		childrenPerRun = 6
		flushers       = 4
	)
	ctx := context.Background()
	var traceSeq atomic.Uint64
	newTrace := func() spans.TraceID {
		var id spans.TraceID
		binary.BigEndian.PutUint64(id[8:], traceSeq.Add(1))
		return id
	}
	// run returns a root and its children, one after another in time.
	run := func() (root spans.Span, children []spans.Span) {
		tid, t0 := newTrace(), time.Now()
		root = spans.Span{TraceID: tid, SpanID: spans.SpanID{1}, Name: "agent", StartTime: t0,
			EndTime: t0.Add(time.Duration(2*childrenPerRun+1) * time.Millisecond)}
		for i := range childrenPerRun {
			start := t0.Add(time.Duration(2*i+1) * time.Millisecond)
			children = append(children, spans.Span{TraceID: tid, SpanID: spans.SpanID{byte(i + 2)},
				ParentSpanID: root.SpanID, Name: "step", StartTime: start, EndTime: start.Add(time.Millisecond)})
		}
		return root, children
	}

	var feeding, background sync.WaitGroup
	stop := make(chan struct{})
	for range feeders {
		feeding.Go(func() { // the live processor's calls, one span at a time
			for range runsPerFeeder {
				root, children := run()
				started := root
				started.EndTime = time.Time{}
				mustLive(t, p, pipelineLive(started, false))
				for _, c := range children {
					open := c
					open.EndTime = time.Time{}
					mustLive(t, p, pipelineLive(open, false))
					mustLive(t, p, pipelineLive(c, true))
				}
				mustLive(t, p, pipelineLive(root, true))
			}
		})
		feeding.Go(func() { // the exporter's: children first, the root later
			for range runsPerFeeder {
				root, children := run()
				if err := p.ConsumeSpans(ctx, children); err != nil {
					t.Error(err)
				}
				if err := p.ConsumeSpans(ctx, []spans.Span{root}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	background.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				p.Tick()
			}
		}
	})
	for range flushers {
		background.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					if err := p.Flush(ctx); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	feeding.Wait()
	close(stop)
	background.Wait()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	if st := srv.Stats(); st.Rejected != 0 {
		t.Errorf("the server rejected %d requests: %v", st.Rejected, st.Status)
	}
	runs := srv.Runs()
	if want := 2 * feeders * runsPerFeeder; len(runs) != want {
		t.Fatalf("%d runs, want %d", len(runs), want)
	}
	for _, r := range runs {
		if r.Status != localserver.StatusCompleted {
			t.Errorf("run %s: status %s (%s)", r.ExternalRunID, r.Status, r.ErrorMessage)
		}
		if len(r.Events) != 2*childrenPerRun {
			t.Errorf("run %s: %d events, want %d", r.ExternalRunID, len(r.Events), 2*childrenPerRun)
			continue
		}
		for i := 1; i < len(r.Events); i++ {
			if r.Events[i].OccurredAt <= r.Events[i-1].OccurredAt {
				t.Errorf("run %s: event %d (%s %s) received after %s %s", r.ExternalRunID, i,
					r.Events[i].Type, r.Events[i].OccurredAt, r.Events[i-1].Type, r.Events[i-1].OccurredAt)
				break
			}
		}
	}
}

func pipelineLive(s spans.Span, ended bool) []LiveSpan { return []LiveSpan{{Span: s, Ended: ended}} }

// mustLive feeds one live span, then pauses a little, as spans of a real
// agent are spread over time: ticks and flushes then catch runs midway.
func mustLive(t *testing.T, p *Pipeline, batch []LiveSpan) {
	if err := p.Live(context.Background(), batch); err != nil {
		t.Error(err)
	}
	time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
}
