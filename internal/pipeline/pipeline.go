package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/agentos-ai/agentos-otel/internal/delivery"
	"github.com/agentos-ai/agentos-otel/internal/ingest"
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
	// Concurrency is how many runs are delivered in parallel.
	Concurrency int
	// MaxQueuedEvents bounds events waiting for delivery.
	MaxQueuedEvents int
	// MeterProvider receives self-telemetry; nil means none.
	MeterProvider metric.MeterProvider
	Logger        *slog.Logger

	// Now and TickInterval exist for tests: a negative TickInterval starts
	// no ticker, and the test calls Tick itself.
	Now          func() time.Time
	TickInterval time.Duration
}

// ErrShutdown is returned by calls made after Shutdown.
var ErrShutdown = errors.New("agentos pipeline is shut down")

// Pipeline is safe for concurrent use.
type Pipeline struct {
	now     func() time.Time
	log     *slog.Logger
	sender  *delivery.Sender
	metrics *metrics

	mu       sync.Mutex // serialises the tracker
	tracker  *runtracker.Tracker
	shutdown bool

	stopTick chan struct{}
	tickDone chan struct{}
}

// New validates cfg, builds the core and starts its goroutines.
func New(cfg Config) (*Pipeline, error) {
	mapper, err := mapping.New(cfg.Mapping)
	if err != nil {
		return nil, err
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
	client, err := ingest.New(cfg.Ingest)
	if err != nil {
		return nil, err
	}
	p := &Pipeline{now: cfg.Now, log: log, tracker: tracker}
	if p.now == nil {
		p.now = time.Now
	}
	p.metrics, err = newMetrics(cfg.MeterProvider, p.trackerStats)
	if err != nil {
		return nil, fmt.Errorf("agentos self-telemetry: %w", err)
	}
	p.sender = delivery.New(client, delivery.Options{
		Concurrency:     cfg.Concurrency,
		MaxQueuedEvents: cfg.MaxQueuedEvents,
		Observer:        p.metrics,
		Logger:          log,
	})
	if cfg.TickInterval >= 0 {
		interval := cfg.TickInterval
		if interval == 0 {
			interval = defaultTickInterval
		}
		p.stopTick = make(chan struct{})
		p.tickDone = make(chan struct{})
		go p.tickLoop(interval)
	}
	return p, nil
}

// defaultTickInterval is fine enough for a grace period of a second or
// more without spinning.
const defaultTickInterval = 250 * time.Millisecond

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

// ConsumeSpans takes ownership of a batch of ended spans. It does no I/O:
// the requests they lead to are queued for delivery.
func (p *Pipeline) ConsumeSpans(ctx context.Context, batch []spans.Span) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	if p.shutdown {
		p.mu.Unlock()
		return ErrShutdown
	}
	ops := p.tracker.Add(p.now(), batch)
	p.mu.Unlock()
	return p.sender.Submit(ops)
}

// Tick lets the tracker act on the time that passed.
func (p *Pipeline) Tick() {
	p.mu.Lock()
	if p.shutdown {
		p.mu.Unlock()
		return
	}
	ops := p.tracker.Tick(p.now())
	p.mu.Unlock()
	if err := p.sender.Submit(ops); err != nil {
		p.log.Error("agentos tick", slog.Any("error", err))
	}
}

// Flush closes the runs whose root has arrived and waits until everything
// queued so far is delivered.
func (p *Pipeline) Flush(ctx context.Context) error {
	p.mu.Lock()
	if p.shutdown {
		p.mu.Unlock()
		return ErrShutdown
	}
	ops := p.tracker.Flush()
	p.mu.Unlock()
	if err := p.sender.Submit(ops); err != nil {
		return err
	}
	return p.sender.Flush(ctx)
}

// Shutdown flushes, closes every run still open (saying why), delivers, and
// stops. Later calls return ErrShutdown.
func (p *Pipeline) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	if p.shutdown {
		p.mu.Unlock()
		return ErrShutdown
	}
	p.shutdown = true
	ops := p.tracker.Shutdown(p.now())
	p.mu.Unlock()
	if p.stopTick != nil {
		close(p.stopTick)
		<-p.tickDone
	}
	err := p.sender.Submit(ops)
	return errors.Join(err, p.sender.Shutdown(ctx), p.metrics.close())
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
func (p *Pipeline) Live(batch []LiveSpan) error {
	p.mu.Lock()
	if p.shutdown {
		p.mu.Unlock()
		return ErrShutdown
	}
	now := p.now()
	var ops []runtracker.Op
	for i := range batch {
		if batch[i].Ended {
			ops = append(ops, p.tracker.Ended(now, &batch[i].Span)...)
		} else {
			ops = append(ops, p.tracker.Started(now, &batch[i].Span)...)
		}
	}
	p.mu.Unlock()
	return p.sender.Submit(ops)
}
