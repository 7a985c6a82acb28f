package pipeline

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/agentos-ai/agentos-otel/internal/delivery"
	"github.com/agentos-ai/agentos-otel/internal/ingest"
	"github.com/agentos-ai/agentos-otel/internal/journal"
	"github.com/agentos-ai/agentos-otel/internal/localserver"
	"github.com/agentos-ai/agentos-otel/internal/mapping"
	"github.com/agentos-ai/agentos-otel/internal/runtracker"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// clock is a settable time for the pipeline under test.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func durableConfig(url string, store journal.Store, c *clock, reader *sdkmetric.ManualReader) Config {
	retry := ingest.DefaultRetryPolicy()
	retry.InitialInterval, retry.MaxElapsedTime = time.Millisecond, time.Minute
	cfg := Config{
		Ingest:       ingest.Config{BaseURL: url, DefaultKey: key, Retry: retry},
		Mapping:      mapping.Options{DefaultAgentID: agent},
		Tracker:      runtracker.Options{Grace: time.Second, MaxWait: 5 * time.Second, OrphanTimeout: time.Hour},
		Now:          c.Now,
		TickInterval: -1,
	}
	if store != nil {
		cfg.Journal = store
	}
	if reader != nil {
		cfg.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	}
	return cfg
}

func newServer(t testing.TB) *localserver.Server {
	t.Helper()
	srv := localserver.New(localserver.Options{})
	srv.RegisterAgent(agent, key)
	return srv
}

func mustNew(t testing.TB, cfg Config) *Pipeline {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// crash stops p the way a kill would look from AgentOS: its HTTP front end
// is gone first, so nothing p still does reaches the server.
func crash(t testing.TB, p *Pipeline, hs *httptest.Server) {
	t.Helper()
	hs.Config.SetKeepAlivesEnabled(false)
	_ = hs.Listener.Close()
	hs.CloseClientConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_ = p.Shutdown(ctx)
	hs.Close()
}

// timelines maps each run's external id to its event types, with its
// status, for comparing what a crash-and-resume delivered with what an
// uninterrupted pipeline delivers.
func timelines(srv *localserver.Server) map[string][]string {
	out := map[string][]string{}
	for _, r := range srv.Runs() {
		tl := []string{r.Status}
		for _, e := range r.Events {
			tl = append(tl, e.Type+"@"+e.OccurredAt)
		}
		out[r.ExternalRunID] = append(out[r.ExternalRunID], tl...)
	}
	return out
}

func trace3(id byte, t0 time.Time) []spans.Span {
	return []spans.Span{span(id, 2, 1, t0.Add(time.Millisecond)), span(id, 3, 2, t0.Add(2*time.Millisecond)), span(id, 1, 0, t0)}
}

// AgentOS hangs, the process dies with every run/start in flight and a
// trace still waiting for its root; the next process, with AgentOS back,
// delivers every run exactly as an uninterrupted pipeline does, counts the
// starts whose outcome it cannot know, and leaves the journal empty.
func TestCrashWithAgentOSDownLosesNothing(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	batches := [][]spans.Span{trace3(1, t0), append(trace3(2, t0), trace3(3, t0)[:2]...)}
	rootOf3 := trace3(3, t0)[2:]

	// The reference: no crash.
	ref := newServer(t)
	refHS := httptest.NewServer(ref)
	defer refHS.Close()
	c := &clock{now: t0}
	p := mustNew(t, durableConfig(refHS.URL, nil, c, nil))
	for _, b := range batches {
		must(t, p.ConsumeSpans(ctx, b))
	}
	must(t, p.ConsumeSpans(ctx, rootOf3))
	c.now = c.now.Add(2 * time.Second)
	p.Tick()
	must(t, p.Shutdown(ctx))

	srv := newServer(t)
	release := srv.Hang()
	hs1 := httptest.NewServer(srv)
	store := journal.NewMemStore()
	c = &clock{now: t0}
	p1 := mustNew(t, durableConfig(hs1.URL, store, c, nil))
	for _, b := range batches {
		must(t, p1.ConsumeSpans(ctx, b))
	}
	c.now = c.now.Add(2 * time.Second)
	p1.Tick() // traces 1 and 2 close: their starts hang
	waitFor(t, func() bool { return srv.Stats().Requests["/api/ingest/v1/run/start"] == 2 })
	disk := store.Clone()
	crash(t, p1, hs1)
	release()
	if n := len(srv.Runs()); n != 0 {
		t.Fatalf("%d runs reached the server before the crash", n)
	}

	hs2 := httptest.NewServer(srv)
	defer hs2.Close()
	reader := sdkmetric.NewManualReader()
	c.now = c.now.Add(time.Second)
	p2 := mustNew(t, durableConfig(hs2.URL, disk, c, reader))
	p2.Tick()
	must(t, p2.ConsumeSpans(ctx, rootOf3))
	c.now = c.now.Add(2 * time.Second)
	p2.Tick()
	must(t, p2.Flush(ctx))
	if got := sums(t, reader)["agentos.runs.may_exist"]; got != 2 {
		t.Errorf("agentos.runs.may_exist = %d, want 2 (the starts in flight at the crash)", got)
	}
	must(t, p2.Shutdown(ctx))

	want, got := timelines(ref), timelines(srv)
	if len(want) != 3 {
		t.Fatalf("reference has %d runs", len(want))
	}
	for ext, tl := range want {
		if !slices.Equal(got[ext], tl) {
			t.Errorf("run %s:\n got %v\nwant %v", ext, got[ext], tl)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d runs, want %d", len(got), len(want))
	}
	if disk.Len() != 1 {
		t.Errorf("%d records left after every run closed, want the header only", disk.Len())
	}
}

// A run started and streaming when the process dies is resumed: no second
// run/start, its delivered events are not sent again, and it closes from
// its root when that arrives.
func TestCrashResumesStartedRun(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	children := trace3(7, t0)[:2]
	root := trace3(7, t0)[2:]
	root[0].Name = "invoke_agent travel"
	root[0].Attrs = []spans.Attr{{Key: "gen_ai.operation.name", Value: spans.StringValue("invoke_agent")}}

	ref := newServer(t)
	refHS := httptest.NewServer(ref)
	defer refHS.Close()
	c := &clock{now: t0}
	p := mustNew(t, durableConfig(refHS.URL, nil, c, nil))
	must(t, p.ConsumeSpans(ctx, children))
	c.now = c.now.Add(6 * time.Second)
	p.Tick()
	c.now = c.now.Add(time.Second)
	must(t, p.ConsumeSpans(ctx, root))
	c.now = c.now.Add(2 * time.Second)
	p.Tick()
	must(t, p.Shutdown(ctx))

	srv := newServer(t)
	hs1 := httptest.NewServer(srv)
	store := journal.NewMemStore()
	c = &clock{now: t0}
	p1 := mustNew(t, durableConfig(hs1.URL, store, c, nil))
	must(t, p1.ConsumeSpans(ctx, children))
	c.now = c.now.Add(6 * time.Second)
	p1.Tick() // max_wait: the run starts without its root and streams
	must(t, p1.Flush(ctx))
	runs := srv.Runs()
	if len(runs) != 1 || runs[0].Status != localserver.StatusRunning || len(runs[0].Events) == 0 {
		t.Fatalf("before the crash: %+v", runs)
	}
	delivered := len(runs[0].Events)
	disk := store.Clone()
	crash(t, p1, hs1)

	hs2 := httptest.NewServer(srv)
	defer hs2.Close()
	c.now = c.now.Add(time.Second)
	p2 := mustNew(t, durableConfig(hs2.URL, disk, c, nil))
	p2.Tick()
	must(t, p2.ConsumeSpans(ctx, root))
	c.now = c.now.Add(2 * time.Second)
	p2.Tick()
	must(t, p2.Shutdown(ctx))

	runs = srv.Runs()
	if len(runs) != 1 {
		t.Fatalf("%d runs, want 1", len(runs))
	}
	r := runs[0]
	if r.Status != localserver.StatusCompleted {
		t.Errorf("status %s, want completed from its root", r.Status)
	}
	if n := srv.Stats().Requests["/api/ingest/v1/run/start"]; n != 1 {
		t.Errorf("%d run/start requests, want 1", n)
	}
	seen := map[string]int{}
	for _, e := range r.Events {
		seen[e.Type+"@"+e.OccurredAt]++
	}
	for ev, n := range seen {
		if n != 1 {
			t.Errorf("event %s delivered %d times", ev, n)
		}
	}
	if len(r.Events) != delivered {
		t.Errorf("%d events, want the %d delivered before the crash, once each", len(r.Events), delivered)
	}
	if want, got := timelines(ref), timelines(srv); len(want) != 1 || !slices.Equal(got[r.ExternalRunID], want[r.ExternalRunID]) {
		t.Errorf("timeline\n got %v\nwant %v", got, want)
	}
	if disk.Len() != 1 {
		t.Errorf("%d records left, want the header only", disk.Len())
	}
}

// The journal's bound refuses spans as the memory bound does; a broken
// store refuses them with ErrStorage.
func TestJournalBoundAndBrokenStore(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t)
	release := srv.Hang()
	defer release()
	hs := httptest.NewServer(srv)
	defer hs.Close()
	store := journal.NewMemStore()
	c := &clock{now: time.Now()}
	cfg := durableConfig(hs.URL, store, c, nil)
	cfg.MaxJournalBytes = 300
	p := mustNew(t, cfg)
	defer crash(t, p, hs)
	must(t, p.ConsumeSpans(ctx, trace3(1, c.now)))
	if err := p.ConsumeSpans(ctx, trace3(2, c.now)); !errors.Is(err, ErrBufferFull) {
		t.Errorf("at the journal's bound: %v, want ErrBufferFull", err)
	}
	store.Fail(context.DeadlineExceeded)
	if err := p.ConsumeSpans(ctx, []spans.Span{span(1, 9, 1, c.now)}); !errors.Is(err, ErrStorage) {
		t.Errorf("with a broken store: %v, want ErrStorage", err)
	}
	store.Fail(nil)

	broken := journal.NewMemStore()
	broken.Fail(context.DeadlineExceeded)
	if _, err := New(durableConfig(hs.URL, broken, c, nil)); !errors.Is(err, ErrStorage) {
		t.Errorf("New with a broken store: %v, want ErrStorage", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Starts that AgentOS refused without effect (503) before a crash are not
// ambiguous: the next process starts those runs without counting them as
// runs that may exist, and each exists once.
func TestCrashAfterStartsWithoutEffect(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	srv := newServer(t)
	srv.SetFaults(localserver.Faults{ErrorRate: 1})
	hs1 := httptest.NewServer(srv)
	store := journal.NewMemStore()
	c := &clock{now: t0}
	cfg := durableConfig(hs1.URL, store, c, nil)
	// One attempt per start: the next could only begin past the budget, so
	// no attempt is cut short by it (which would be ambiguous).
	cfg.Ingest.Retry.InitialInterval, cfg.Ingest.Retry.MaxInterval = time.Hour, time.Hour
	p1 := mustNew(t, cfg)
	must(t, p1.ConsumeSpans(ctx, append(trace3(1, t0), trace3(2, t0)...)))
	c.now = c.now.Add(2 * time.Second)
	p1.Tick()
	// The starts wait to be sent again later: Flush waits until its
	// deadline.
	fctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := p1.Flush(fctx); err == nil {
		t.Fatal("Flush succeeded with AgentOS answering 503")
	}
	if n := srv.Stats().Requests["/api/ingest/v1/run/start"]; n < 2 {
		t.Fatalf("%d run/start requests before the crash, want every start tried", n)
	}
	disk := store.Clone()
	crash(t, p1, hs1)

	srv.SetFaults(localserver.Faults{})
	hs2 := httptest.NewServer(srv)
	defer hs2.Close()
	reader := sdkmetric.NewManualReader()
	p2 := mustNew(t, durableConfig(hs2.URL, disk, c, reader))
	must(t, p2.Flush(ctx))
	if got := sums(t, reader)["agentos.runs.may_exist"]; got != 0 {
		t.Errorf("agentos.runs.may_exist = %d, want 0: every start failed without effect", got)
	}
	must(t, p2.Shutdown(ctx))
	runs := srv.Runs()
	if len(runs) != 2 {
		t.Fatalf("%d runs in AgentOS, want 2", len(runs))
	}
	for _, r := range runs {
		if r.Status != localserver.StatusCompleted {
			t.Errorf("run %s: %s", r.ExternalRunID, r.Status)
		}
	}
}

// With a journal, a graceful shutdown leaves open runs open and held spans
// stored; the next start resumes them as after a crash.
func TestShutdownWithJournalLeavesRunsToResume(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	streaming, held := trace3(7, t0), trace3(8, t0)
	srv := newServer(t)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	store := journal.NewMemStore()
	c := &clock{now: t0}
	p1 := mustNew(t, durableConfig(hs.URL, store, c, nil))
	must(t, p1.ConsumeSpans(ctx, streaming[:2]))
	c.now = c.now.Add(6 * time.Second)
	p1.Tick() // max_wait: trace 7's run starts without its root
	must(t, p1.ConsumeSpans(ctx, held[:2]))
	must(t, p1.Shutdown(ctx))
	runs := srv.Runs()
	if len(runs) != 1 || runs[0].Status != localserver.StatusRunning {
		t.Fatalf("after a graceful shutdown with a journal: %+v, want trace 7's run still running", runs)
	}

	p2 := mustNew(t, durableConfig(hs.URL, store, c, nil))
	must(t, p2.ConsumeSpans(ctx, append(streaming[2:], held[2:]...)))
	c.now = c.now.Add(2 * time.Second)
	p2.Tick()
	must(t, p2.Shutdown(ctx))
	runs = srv.Runs()
	if len(runs) != 2 {
		t.Fatalf("%d runs, want 2", len(runs))
	}
	for _, r := range runs {
		if r.Status != localserver.StatusCompleted {
			t.Errorf("run %s: %s, want completed from its root", r.ExternalRunID, r.Status)
		}
	}
	if n := srv.Stats().Requests["/api/ingest/v1/run/start"]; n != 2 {
		t.Errorf("%d run/start requests, want 2: the open run resumed", n)
	}
	if store.Len() != 1 {
		t.Errorf("%d records left, want the header only", store.Len())
	}
}

// downForLong starts a pipeline with a journal whose runs of traces ids
// close while AgentOS answers every request 503, each request making one
// attempt per round (the next could only begin past the budget, so none is
// cut short by it, which would be ambiguous).
func downForLong(t *testing.T, retryLater time.Duration, ids ...byte) (*Pipeline, *localserver.Server, *journal.MemStore, *sdkmetric.ManualReader) {
	t.Helper()
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	srv := newServer(t)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	srv.SetFaults(localserver.Faults{ErrorRate: 1})
	store := journal.NewMemStore()
	reader := sdkmetric.NewManualReader()
	c := &clock{now: t0}
	cfg := durableConfig(hs.URL, store, c, reader)
	cfg.Ingest.Retry.InitialInterval, cfg.Ingest.Retry.MaxInterval = time.Hour, time.Hour
	cfg.RetryLater = retryLater
	p := mustNew(t, cfg)
	for _, id := range ids {
		must(t, p.ConsumeSpans(context.Background(), trace3(id, t0)))
	}
	c.now = c.now.Add(2 * time.Second)
	p.Tick()
	return p, srv, store, reader
}

// AgentOS is down for longer than the requests' retries last: with a
// journal, each run waits and is delivered whole once AgentOS is back,
// without a restart, its deferred requests counted, and the journal
// emptied behind it.
func TestRunsOutlastingTheirRetriesAreSentLater(t *testing.T) {
	ctx := context.Background()
	p, srv, store, reader := downForLong(t, 10*time.Millisecond, 1, 2)

	// Every run/start has failed after its retries, more than once.
	waitFor(t, func() bool { return sums(t, reader)["agentos.requests.deferred{run/start}"] >= 4 })
	if got := sums(t, reader)["agentos.requests.failed{run/start}"]; got != 0 {
		t.Fatalf("agentos.requests.failed = %d while AgentOS is down, want 0: runs wait instead", got)
	}
	srv.SetFaults(localserver.Faults{})
	must(t, p.Flush(ctx))
	runs := srv.Runs()
	if len(runs) != 2 {
		t.Fatalf("%d runs, want 2", len(runs))
	}
	for _, r := range runs {
		if r.Status != localserver.StatusCompleted || len(r.Events) != 4 {
			t.Errorf("run %s: %s with %d events, want completed with 4", r.ExternalRunID, r.Status, len(r.Events))
		}
	}
	must(t, p.Shutdown(ctx))
	if store.Len() != 1 {
		t.Errorf("%d records left after every run closed, want the header only", store.Len())
	}
}

// A request waiting to be sent again is given up when Shutdown's time runs
// out: reported, and its run kept stored for the next start.
func TestShutdownGivesUpOnRequestsWaitingToBeSentAgain(t *testing.T) {
	p, _, store, reader := downForLong(t, time.Hour, 1)
	waitFor(t, func() bool { return sums(t, reader)["agentos.requests.deferred{run/start}"] == 1 })
	sctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var failed *delivery.FailedRunsError
	if err := p.Shutdown(sctx); !errors.As(err, &failed) || failed.Runs != 1 {
		t.Fatalf("Shutdown: %v, want 1 run not delivered", err)
	}
	if store.Len() < 2 {
		t.Errorf("the run is no longer stored (%d records): the next start could not deliver it", store.Len())
	}
}
