package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/agentos-ai/agentos-otel/internal/delivery"
	"github.com/agentos-ai/agentos-otel/internal/ingest"
	"github.com/agentos-ai/agentos-otel/internal/journal"
	"github.com/agentos-ai/agentos-otel/internal/logjoin"
	"github.com/agentos-ai/agentos-otel/internal/mapping"
	"github.com/agentos-ai/agentos-otel/internal/runtracker"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// Config is everything the core needs; front ends fill it from their own
// options.
type Config struct {
	Ingest  ingest.Config
	Mapping mapping.Options
	Tracker runtracker.Options
	// Concurrency is how many runs are delivered in parallel; default
	// delivery.DefaultConcurrency.
	Concurrency int
	// MaxBufferedBytes bounds the estimated memory of spans held for their
	// root and of requests waiting for delivery; default
	// DefaultMaxBufferedBytes. At the bound new spans wait for room, then
	// are refused with ErrBufferFull.
	MaxBufferedBytes int64
	// MaxAdmitWait is how long ConsumeSpans waits for room before refusing;
	// default DefaultMaxAdmitWait.
	MaxAdmitWait time.Duration
	// Journal, when set, makes the pipeline crash-safe: accepted spans and
	// the progress of runs are stored in it, and New resumes what a
	// previous process left there; see durable.go.
	Journal journal.Store
	// MaxJournalBytes bounds what the journal stores; at the bound spans
	// are refused with ErrBufferFull. Default journal.DefaultMaxBytes.
	MaxJournalBytes int64
	// RetryLater, with a Journal, is how long a run whose request failed
	// with a transient error after its retries waits before the request
	// is sent again (doubling up to delivery.MaxRetryLater): the run stays
	// stored meanwhile, and would otherwise wait for a restart. Default
	// DefaultRetryLater.
	RetryLater time.Duration
	// JoinLogs makes the pipeline take GenAI log records from the start
	// (ConsumeLogs), as JoinLogs does later; with a Journal, it must be
	// set for the stored records to be resumed. LogDropped is told of the
	// records it drops.
	JoinLogs   bool
	LogDropped func(logjoin.Drop)
	// MeterProvider receives self-telemetry; nil means none.
	MeterProvider metric.MeterProvider
	Logger        *slog.Logger

	// Instruments, when set, are recorded on instead of MeterProvider's.
	Instruments *Instruments

	// Now and TickInterval exist for tests: a negative TickInterval starts
	// no ticker, and the test calls Tick itself.
	Now          func() time.Time
	TickInterval time.Duration
}

// Defaults of Config.
const (
	DefaultMaxBufferedBytes = 64 << 20
	DefaultMaxAdmitWait     = 5 * time.Second
	DefaultRetryLater       = 30 * time.Second
)

// ErrShutdown is returned by calls made after Shutdown.
var ErrShutdown = errors.New("agentos pipeline is shut down")

// ErrBufferFull is returned when spans are refused because the memory
// bound is reached: AgentOS is slower than the spans arrive, or down.
// Nothing of a refused batch was taken, so it may be offered again.
var ErrBufferFull = errors.New("agentos: buffer full, AgentOS is not keeping up")

// Pipeline is safe for concurrent use.
//
// Every call that changes the tracker submits the ops it emitted before
// releasing mu, so a run's requests reach delivery in the order the tracker
// emitted them, however calls interleave.
type Pipeline struct {
	now       func() time.Time
	log       *slog.Logger
	sender    *delivery.Sender
	metrics   *metrics
	maxBytes  int64
	admitWait time.Duration

	mu       sync.Mutex // serialises the tracker and the submission of its ops
	tracker  *runtracker.Tracker
	shutdown bool
	// submit hands ops to the sender; always called with mu held. A test
	// slows it down to widen any window in which calls could overtake.
	submit func([]runtracker.Op) error

	// durable is nil without a Journal.
	durable *durable
	late    lateLog // guarded by mu
	// logs holds GenAI log records for their spans; nil until JoinLogs.
	// Guarded by mu, which its late callback relies on.
	logs    *logjoin.Buffer
	logWait time.Duration
	// logDrops are traces whose records were dropped: with a journal,
	// their stored records may be done with (retireLogTraces).
	logDrops []spans.TraceID

	stopTick chan struct{}
	tickDone chan struct{}
}

// New validates cfg, builds the core and starts its goroutines.
func New(cfg Config) (*Pipeline, error) {
	mapper, err := mapping.New(cfg.Mapping)
	if err != nil {
		return nil, err
	}
	if cfg.Journal != nil {
		cfg.Tracker.ReportRetired = true
	}
	tracker, err := runtracker.New(mapper, cfg.Tracker)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Ingest.Logger == nil {
		cfg.Ingest.Logger = log
	}
	if cfg.Ingest.HTTPClient == nil && cfg.Ingest.Conns == 0 {
		// One connection per run in flight, kept between bursts.
		cfg.Ingest.Conns = cmp.Or(cfg.Concurrency, delivery.DefaultConcurrency)
	}
	client, err := ingest.New(cfg.Ingest)
	if err != nil {
		return nil, err
	}
	p := &Pipeline{now: cfg.Now, log: log, tracker: tracker, late: lateLog{log: log},
		maxBytes: cfg.MaxBufferedBytes, admitWait: cfg.MaxAdmitWait,
		logWait: cmp.Or(cfg.Tracker.MaxWait, runtracker.DefaultMaxWait)}
	if p.now == nil {
		p.now = time.Now
	}
	if p.maxBytes <= 0 {
		p.maxBytes = DefaultMaxBufferedBytes
	}
	if p.admitWait <= 0 {
		p.admitWait = DefaultMaxAdmitWait
	}
	if cfg.Journal != nil {
		if p.durable, err = openDurable(cfg.Journal, cfg.MaxJournalBytes, log); err != nil {
			return nil, err
		}
	}
	p.metrics, err = newMetrics(cfg.MeterProvider, cfg.Instruments, p.trackerStats, func() ingest.Stats {
		s := client.Stats()
		if p.durable != nil {
			// Starts found ambiguous at recovery are runs that may exist too.
			s.RunsMayExist += p.durable.mayExist.Load()
		}
		return s
	})
	if err != nil {
		return nil, fmt.Errorf("agentos self-telemetry: %w", err)
	}
	var progress delivery.Progress
	var retryLater time.Duration
	if p.durable != nil {
		progress = p.durable
		retryLater = cmp.Or(cfg.RetryLater, DefaultRetryLater)
	}
	p.sender = delivery.New(client, delivery.Options{
		Concurrency: cfg.Concurrency,
		Observer:    p.metrics,
		Progress:    progress,
		Logger:      log,
		RetryLater:  retryLater,
	})
	p.submit = p.sender.Submit
	if p.durable != nil {
		p.submit = func(ops []runtracker.Op) error {
			return p.sender.Submit(p.durable.prepare(p.tracker, ops))
		}
		if cfg.JoinLogs {
			p.joinLogs(cfg.LogDropped)
		}
		if err := p.durable.recover(p.tracker, p.submit, p.replay, p.holdsLogs); err != nil {
			_ = p.sender.Shutdown(context.Background())
			return nil, err
		}
	}
	if cfg.JoinLogs && p.logs == nil {
		p.joinLogs(cfg.LogDropped)
	}
	if cfg.TickInterval >= 0 {
		interval := cfg.TickInterval
		if interval == 0 {
			interval = tickInterval(cfg.Tracker.Grace)
		}
		p.stopTick = make(chan struct{})
		p.tickDone = make(chan struct{})
		go p.tickLoop(interval)
	}
	return p, nil
}

// tickInterval is a quarter of the grace period, between 25 and 250 ms:
// a run closes at most a quarter grace late (a delay the Collector adds to
// every run), without spinning when the grace period is long.
func tickInterval(grace time.Duration) time.Duration {
	if grace <= 0 {
		grace = runtracker.DefaultGrace
	}
	return min(max(grace/4, 25*time.Millisecond), 250*time.Millisecond)
}

func (p *Pipeline) tickLoop(interval time.Duration) {
	defer close(p.tickDone)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-p.stopTick:
			return
		case <-ticker.C:
			p.Tick()
			if p.durable != nil {
				p.durable.report(p.durable.sync(context.Background()))
			}
		}
	}
}

func (p *Pipeline) trackerStats() runtracker.Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tracker.Stats()
}

// Stats returns the tracker's counters.
func (p *Pipeline) Stats() runtracker.Stats { return p.trackerStats() }

// BufferedBytes is the estimated memory MaxBufferedBytes bounds: spans held
// and requests waiting for delivery. The live span processor adds its
// queue's bytes to it, to keep both within one budget.
func (p *Pipeline) BufferedBytes() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tracker.Bytes() + p.sender.QueuedBytes()
}

// ConsumeSpans takes a batch of ended spans. It may change them (log
// records join them) but keeps no reference to batch once it returns, so
// that a caller may reuse it. It does no I/O:
// the requests they lead to are queued for delivery. At the memory bound it
// waits for room until ctx ends or MaxAdmitWait passes, then refuses the
// whole batch with ErrBufferFull.
func (p *Pipeline) ConsumeSpans(ctx context.Context, batch []spans.Span) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := p.admit(ctx, func(now time.Time) ([]runtracker.Op, error) {
		if p.durable != nil {
			return p.durable.add(ctx, p.tracker, now, batch, p.take)
		}
		return p.take(now, batch), nil
	})
	var full *bufferFullError
	if errors.As(err, &full) {
		p.metrics.refused(len(batch))
		if full.cause != nil {
			return fmt.Errorf("%w: %d spans refused: %w", ErrBufferFull, len(batch), full.cause)
		}
		return fmt.Errorf("%w: %d spans refused, %d MiB of %d MiB buffered", ErrBufferFull, len(batch), full.used>>20, p.maxBytes>>20)
	}
	return err
}

// bufferFullError is admit's refusal, before a caller words it: memory
// used, or the bound that refused (the journal's).
type bufferFullError struct {
	used  int64
	cause error
}

func (e *bufferFullError) Error() string { return ErrBufferFull.Error() }

// admit runs change on the tracker once there is room, and submits its ops
// in the same critical section.
func (p *Pipeline) admit(ctx context.Context, change func(time.Time) ([]runtracker.Op, error)) error {
	var timeout <-chan time.Time
	for {
		p.mu.Lock()
		if p.shutdown {
			p.mu.Unlock()
			return ErrShutdown
		}
		used := p.tracker.Bytes() + p.sender.QueuedBytes()
		if used < p.maxBytes {
			ops, err := change(p.now())
			if err == nil {
				err = p.submit(ops)
			}
			p.mu.Unlock()
			return err
		}
		freed := p.sender.Freed()
		p.mu.Unlock()
		if timeout == nil {
			t := time.NewTimer(p.admitWait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-freed:
			continue
		case <-ctx.Done():
		case <-timeout:
		}
		return &bufferFullError{used: used}
	}
}

// Tick lets the tracker act on the time that passed, and logs the spans
// that arrived after their run closed.
func (p *Pipeline) Tick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shutdown {
		return
	}
	now := p.now()
	if err := p.submit(p.tracker.Tick(now)); err != nil {
		p.log.Error("agentos tick", slog.Any("error", err))
	}
	if p.durable != nil {
		p.durable.j.Ticked(now) // so that a replay ticks here too
	}
	if p.logs != nil {
		p.logs.Expire(now)
		p.retireLogTraces()
	}
	p.reportLate(now)
}

// reportLate logs the late spans since the last report. The caller holds
// mu.
func (p *Pipeline) reportLate(now time.Time) {
	late, unlisted := p.tracker.TakeLate()
	p.late.report(now, late, unlisted)
}

// Flush closes the runs whose root has arrived and waits until everything
// submitted before the call is delivered. Work submitted during the wait
// does not hold it up; with a Journal, a request waiting to be sent again
// (Config.RetryLater) holds it up until ctx ends. Runs that failed since the previous Flush or
// Shutdown are reported in a *delivery.FailedRunsError.
func (p *Pipeline) Flush(ctx context.Context) error {
	p.mu.Lock()
	if p.shutdown {
		p.mu.Unlock()
		return ErrShutdown
	}
	err := p.submit(p.tracker.Flush())
	mark := p.sender.Mark()
	p.mu.Unlock()
	if err != nil {
		return err
	}
	return errors.Join(p.sender.Wait(ctx, mark), p.sender.Failures())
}

// Shutdown closes every run still open (saying why), delivers, and stops,
// reporting the runs that failed as Flush does. With a Journal it closes
// nothing: it delivers what was queued and leaves open runs and held spans
// in the journal for the next New to resume. Later calls return
// ErrShutdown.
func (p *Pipeline) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	if p.shutdown {
		p.mu.Unlock()
		return ErrShutdown
	}
	p.shutdown = true
	var err error
	if p.durable == nil {
		err = p.submit(p.tracker.Shutdown(p.now()))
		if p.logs != nil {
			p.logs.Close() // what still waits has no span to join
		}
	}
	p.reportLate(p.now())
	p.late.summarise()
	// With a journal, open runs and held spans stay stored, for the next
	// start to resume: closing them as failed would end runs whose spans
	// are still coming.
	p.mu.Unlock()
	if p.stopTick != nil {
		close(p.stopTick)
		<-p.tickDone
	}
	deliver, cancel := beforeDeadline(ctx)
	defer cancel()
	err = errors.Join(err, p.sender.Shutdown(deliver), p.sender.Failures())
	if p.durable != nil {
		err = errors.Join(err, p.durable.sync(ctx))
	}
	return errors.Join(err, p.metrics.close())
}

// beforeDeadline keeps a moment of ctx's time back, so that Shutdown can
// cancel what is still in flight and say why it failed before ctx ends: a
// caller that stops listening at its deadline (the SDK's batch processor
// does) would otherwise hear only "context deadline exceeded".
func beforeDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	margin := min(time.Second, time.Until(deadline)/10)
	return context.WithDeadline(ctx, deadline.Add(-margin))
}

// LiveSpan is a span the live span processor saw start or end.
type LiveSpan struct {
	Span  spans.Span
	Ended bool
}

// Live feeds the live span processor's spans, in the order they started
// and ended: a root's start starts its run now, a span's end queues its end
// events, and a root's end closes its run after the grace period. One call
// takes the tracker once for the whole slice.
//
// The live processor cannot refuse spans, so at the memory bound Live waits
// for room for as long as ctx lasts (its queue then fills and drops what it
// must, counted), and takes the batch anyway once ctx ends.
func (p *Pipeline) Live(ctx context.Context, batch []LiveSpan) error {
	change := func(now time.Time) ([]runtracker.Op, error) {
		return p.tracker.Live(now, len(batch), func(i int) (*spans.Span, bool) {
			if batch[i].Ended && p.logs != nil {
				p.logs.AttachOne(now, &batch[i].Span)
			}
			return &batch[i].Span, batch[i].Ended
		}), nil
	}
	for {
		err := p.admit(ctx, change)
		var full *bufferFullError
		if !errors.As(err, &full) {
			return err
		}
		if ctx.Err() != nil {
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.shutdown {
				return ErrShutdown
			}
			ops, _ := change(p.now())
			return p.submit(ops)
		}
	}
}
