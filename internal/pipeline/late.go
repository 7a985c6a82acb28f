package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/runtracker"
)

// lateLog turns the tracker's late-span report into warnings: a line per
// run, at most lateLinesPerWindow a window, then one line that counts the
// rest. Each run's line names its external_run_id in the message, so that
// a Collector's log sampling, which thins out repeated messages, keeps it.
// Its owner serialises calls.
type lateLog struct {
	log         *slog.Logger
	windowStart time.Time
	lines       int
	// Not listed on a line of their own in the current window.
	runs, spans int64
}

const (
	lateLinesPerWindow = 100
	lateWindow         = time.Minute
)

func (l *lateLog) report(now time.Time, late []runtracker.Late, unlisted int64) {
	if now.Sub(l.windowStart) >= lateWindow {
		l.summarise()
		l.windowStart, l.lines = now, 0
	}
	for _, r := range late {
		if l.lines >= lateLinesPerWindow {
			l.runs++
			l.spans += int64(r.Spans)
			continue
		}
		l.lines++
		l.log.LogAttrs(context.Background(), slog.LevelWarn,
			fmt.Sprintf("AgentOS run with external_run_id %s was closed before %d of its spans arrived; they were not sent", r.ExternalRunID, r.Spans),
			slog.String("trace_id", r.TraceID.String()), slog.String("external_run_id", r.ExternalRunID),
			slog.Int("late_spans", r.Spans), slog.Int("late_events", r.Events),
			slog.String("hint", "spans reached the bridge after the run's grace period: raise timing::grace_period (WithTiming) if the client sends out of order"))
	}
	if unlisted > 0 {
		l.runs++ // at least one run; the tracker did not list them
		l.spans += unlisted
	}
}

// summarise logs what report did not list, if anything.
func (l *lateLog) summarise() {
	if l.spans == 0 {
		return
	}
	l.log.LogAttrs(context.Background(), slog.LevelWarn, "more AgentOS runs were closed before some of their spans arrived; they were not sent",
		slog.Int64("runs_at_least", l.runs), slog.Int64("late_spans", l.spans), slog.Duration("within", lateWindow))
	l.runs, l.spans = 0, 0
}
