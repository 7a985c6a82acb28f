package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/journal"
	"github.com/agentos-ai/agentos-otel/internal/logjoin"
	"github.com/agentos-ai/agentos-otel/internal/runtracker"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// ErrLogsNotJoined is returned by ConsumeLogs before JoinLogs.
var ErrLogsNotJoined = errors.New("agentos: log records are not joined to spans (JoinLogs)")

// JoinLogs makes the pipeline take GenAI log records (ConsumeLogs): each
// waits for its span and joins it as the span reaches the tracker, or
// joins it later while the span's events are not sent. report is told of
// the records dropped. A second call does nothing.
func (p *Pipeline) JoinLogs(report func(logjoin.Drop)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.logs == nil {
		p.joinLogs(report)
	}
}

func (p *Pipeline) joinLogs(report func(logjoin.Drop)) {
	p.tracker.JoinLogs()
	p.logs = logjoin.New(p.logWait, func(d logjoin.Drop) {
		if p.durable != nil {
			p.logDrops = append(p.logDrops, d.TraceID)
		}
		if report != nil {
			report(d)
		}
	}, func(recs []logjoin.Record) []logjoin.Record {
		return logjoin.Place(recs, p.tracker.AttachLogs) // mu is held
	})
}

// ConsumeLogs takes GenAI log records for their spans. With a journal they
// are stored before it returns, as spans are. At the memory bound it
// waits, then refuses them with ErrBufferFull, as ConsumeSpans does.
func (p *Pipeline) ConsumeLogs(ctx context.Context, recs []logjoin.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(recs) == 0 {
		return nil
	}
	err := p.admit(ctx, func(now time.Time) ([]runtracker.Op, error) {
		if p.logs == nil {
			return nil, ErrLogsNotJoined
		}
		if p.durable != nil {
			if err := p.durable.addLogs(ctx, now, logjoin.Carriers(recs)); err != nil {
				return nil, err
			}
		}
		p.logs.Add(now, recs)
		p.retireLogTraces()
		return nil, nil
	})
	var full *bufferFullError
	if errors.As(err, &full) {
		if full.cause != nil {
			return fmt.Errorf("%w: %d log records refused: %w", ErrBufferFull, len(recs), full.cause)
		}
		return fmt.Errorf("%w: %d log records refused, %d MiB of %d MiB buffered", ErrBufferFull, len(recs), full.used>>20, p.maxBytes>>20)
	}
	return err
}

// take gives a batch of spans their waiting records, then to the tracker.
// Called with mu held.
func (p *Pipeline) take(now time.Time, batch []spans.Span) []runtracker.Op {
	if p.logs != nil {
		p.logs.Attach(now, batch)
		defer p.retireLogTraces()
	}
	return p.tracker.Add(now, batch)
}

// holdsLogs reports whether records of trace wait for their span.
func (p *Pipeline) holdsLogs(id spans.TraceID) bool {
	return p.logs != nil && p.logs.Holds(id)
}

// retireLogTraces lets the journal delete the stored records of traces
// whose records were dropped and which nothing else keeps: no span of
// theirs is tracked, no record of theirs waits. Called with mu held.
func (p *Pipeline) retireLogTraces() {
	if p.durable == nil {
		return
	}
	for _, id := range p.logDrops {
		if !p.tracker.Tracking(id) && !p.holdsLogs(id) {
			p.durable.retired(id)
		}
	}
	clear(p.logDrops)
	p.logDrops = p.logDrops[:0]
}

// replay adds what a journal stored to the tracker, in the order it was
// stored, ticking where the tracker ticked before each chunk: the same
// spans, records and ticks in the same order give the same runs, cut into
// the same event batches, so a run's delivered count still marks what
// AgentOS holds. Called before the pipeline takes anything.
func (p *Pipeline) replay(traces []journal.Trace) (ops []runtracker.Op, spansN int) {
	var ticked time.Time
	dropped := 0
	for _, c := range inStoredOrder(traces) {
		if c.AfterTick.After(ticked) {
			ticked = c.AfterTick
			ops = append(ops, p.tracker.Tick(ticked)...)
		}
		if c.Logs {
			if p.logs == nil {
				dropped += len(logjoin.FromCarriers(c.Spans))
				continue
			}
			p.logs.Add(c.Time, logjoin.FromCarriers(c.Spans))
			continue
		}
		ops = append(ops, p.take(c.Time, c.Spans)...)
		spansN += len(c.Spans)
	}
	if dropped > 0 {
		p.log.Warn("AgentOS exporter dropped stored GenAI log records: the exporter is no longer in a logs pipeline",
			"records", dropped)
	}
	return ops, spansN
}
