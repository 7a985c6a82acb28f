package pipeline

import (
	"context"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/journal"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// A run longer than max_wait streams its events as its spans come, tick by
// tick, in the order they came. After a crash, the replay must cut that
// stream where the ticks cut it, or skipping what AgentOS already holds
// skips other events: here a span that started before the ones already
// delivered, but came after them.
func TestCrashReplaysTheTicksThatShapedARun(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	early := span(9, 3, 1, t0.Add(2*time.Millisecond))
	late := span(9, 4, 1, t0.Add(time.Millisecond))
	late.EndTime = t0.Add(10 * time.Second) // started first, ended last
	root := span(9, 1, 0, t0)
	root.EndTime = t0.Add(11 * time.Second)

	play := func(p *Pipeline, c *clock, crashAfterSecond bool) {
		must(t, p.ConsumeSpans(ctx, []spans.Span{early}))
		c.now = t0.Add(6 * time.Second)
		p.Tick() // max_wait: the run starts from its spans and streams
		must(t, p.Flush(ctx))
		c.now = t0.Add(10 * time.Second)
		must(t, p.ConsumeSpans(ctx, []spans.Span{late}))
		if crashAfterSecond {
			return
		}
		c.now = t0.Add(11 * time.Second)
		p.Tick()
		must(t, p.ConsumeSpans(ctx, []spans.Span{root}))
		c.now = t0.Add(14 * time.Second)
		p.Tick()
	}

	ref := newServer(t)
	refHS := httptest.NewServer(ref)
	defer refHS.Close()
	c := &clock{now: t0}
	p := mustNew(t, durableConfig(refHS.URL, nil, c, nil))
	play(p, c, false)
	must(t, p.Shutdown(ctx))

	srv := newServer(t)
	hs1 := httptest.NewServer(srv)
	store := journal.NewMemStore()
	c = &clock{now: t0}
	p1 := mustNew(t, durableConfig(hs1.URL, store, c, nil))
	play(p1, c, true)
	disk := store.Clone()
	crash(t, p1, hs1)

	hs2 := httptest.NewServer(srv)
	defer hs2.Close()
	c.now = t0.Add(11 * time.Second)
	p2 := mustNew(t, durableConfig(hs2.URL, disk, c, nil))
	p2.Tick()
	must(t, p2.ConsumeSpans(ctx, []spans.Span{root}))
	c.now = t0.Add(14 * time.Second)
	p2.Tick()
	must(t, p2.Shutdown(ctx))

	want, got := timelines(ref), timelines(srv)
	if len(want) != 1 || len(got) != 1 {
		t.Fatalf("runs %v, want %v", got, want)
	}
	for id, tl := range want {
		if !slices.Equal(got[id], tl) {
			t.Errorf("after the crash\n got %v\nwant %v", got[id], tl)
		}
	}
}
