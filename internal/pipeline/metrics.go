package pipeline

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/agentos-ai/agentos-otel/internal/ingest"
	"github.com/agentos-ai/agentos-otel/internal/runtracker"
)

const meterName = "github.com/agentos-ai/agentos-otel"

// metrics is the bridge's self-telemetry: delivery outcomes counted as they
// happen, tracker counters observed at collection time.
type metrics struct {
	runsStarted   metric.Int64Counter
	runsCompleted metric.Int64Counter
	runsFailed    metric.Int64Counter
	eventsSent    metric.Int64Counter
	requestErrors metric.Int64Counter
	eventsDropped metric.Int64Counter
	spansRefused  metric.Int64Counter
	reg           metric.Registration
}

var (
	attrFailed  = metric.WithAttributes(attribute.String("reason", "delivery_failed"))
	attrSkipped = metric.WithAttributes(attribute.String("reason", "run_not_started"))
	kindAttrs   = map[runtracker.OpKind]metric.MeasurementOption{}
	dropReasons = []struct {
		reason string
		value  func(runtracker.Stats) int64
	}{
		{"late", func(s runtracker.Stats) int64 { return s.SpansLate }},
		{"unselected", func(s runtracker.Stats) int64 { return s.SpansUnselected }},
		{"no_agent_id", func(s runtracker.Stats) int64 { return s.SpansNoAgent }},
		{"duplicate", func(s runtracker.Stats) int64 { return s.SpansDuplicate }},
	}
)

func init() {
	for _, k := range []runtracker.OpKind{runtracker.OpStart, runtracker.OpEvents, runtracker.OpTask, runtracker.OpClose} {
		kindAttrs[k] = metric.WithAttributes(attribute.String("request", k.String()))
	}
}

// ingestCounters are the ingest client's counters reported as metrics: the
// outcomes a user must be able to reconcile.
var ingestCounters = []struct {
	name, desc, unit string
	value            func(ingest.Stats) int64
}{
	{"agentos.runs.may_exist", "Runs whose run/start may have opened a run in AgentOS whose id the bridge never learned; look them up by external_run_id.", "{run}",
		func(s ingest.Stats) int64 { return s.RunsMayExist }},
	{"agentos.runs.maybe_duplicated", "Runs opened after an ambiguous run/start attempt: AgentOS may hold an earlier open run with the same external_run_id.", "{run}",
		func(s ingest.Stats) int64 { return s.StartsMaybeDuplicated }},
	{"agentos.events.maybe_duplicated", "Events sent again after an ambiguous failure: AgentOS may have recorded them twice.", "{event}",
		func(s ingest.Stats) int64 { return s.EventsMaybeDuplicated }},
	{"agentos.requests.auth_fail_fast", "Requests refused without being sent because their key was just answered 401 or 403.", "{request}",
		func(s ingest.Stats) int64 { return s.AuthFailFast }},
	{"agentos.events.truncated", "Events and run fields cut because AgentOS answered 413 even to them alone.", "{event}",
		func(s ingest.Stats) int64 { return s.EventsTruncated + s.FieldsTruncated }},
}

func newMetrics(mp metric.MeterProvider, stats func() runtracker.Stats, clientStats func() ingest.Stats) (*metrics, error) {
	if mp == nil {
		mp = noop.NewMeterProvider()
	}
	meter := mp.Meter(meterName)
	m := &metrics{}
	var errs []error
	counter := func(name, desc, unit string) metric.Int64Counter {
		c, err := meter.Int64Counter(name, metric.WithDescription(desc), metric.WithUnit(unit))
		errs = append(errs, err)
		return c
	}
	m.runsStarted = counter("agentos.runs.started", "Runs started in AgentOS.", "{run}")
	m.runsCompleted = counter("agentos.runs.completed", "Runs closed as completed.", "{run}")
	m.runsFailed = counter("agentos.runs.failed", "Runs closed as failed.", "{run}")
	m.eventsSent = counter("agentos.events.sent", "Timeline events accepted by AgentOS.", "{event}")
	m.requestErrors = counter("agentos.requests.failed", "Ingest requests that failed after retries, by request.", "{request}")
	m.eventsDropped = counter("agentos.events.dropped", "Events not delivered, by reason.", "{event}")
	m.spansRefused = counter("agentos.spans.refused", "Spans refused at the memory bound, for the sender to offer again.", "{span}")

	spansDropped, err := meter.Int64ObservableCounter("agentos.spans.dropped",
		metric.WithDescription("Spans not sent to AgentOS, by reason."), metric.WithUnit("{span}"))
	errs = append(errs, err)
	held, err := meter.Int64ObservableGauge("agentos.spans.held",
		metric.WithDescription("Spans held waiting for their run root."), metric.WithUnit("{span}"))
	errs = append(errs, err)
	open, err := meter.Int64ObservableGauge("agentos.traces.open",
		metric.WithDescription("Traces being tracked."), metric.WithUnit("{trace}"))
	errs = append(errs, err)
	observed := []metric.Observable{spansDropped, held, open}
	ingestObs := make([]metric.Int64ObservableCounter, len(ingestCounters))
	for i, c := range ingestCounters {
		ingestObs[i], err = meter.Int64ObservableCounter(c.name, metric.WithDescription(c.desc), metric.WithUnit(c.unit))
		errs = append(errs, err)
		observed = append(observed, ingestObs[i])
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	m.reg, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := stats()
		for _, d := range dropReasons {
			o.ObserveInt64(spansDropped, d.value(s), metric.WithAttributes(attribute.String("reason", d.reason)))
		}
		o.ObserveInt64(held, int64(s.HeldSpans))
		o.ObserveInt64(open, int64(s.OpenTraces))
		cs := clientStats()
		for i, c := range ingestCounters {
			o.ObserveInt64(ingestObs[i], c.value(cs))
		}
		return nil
	}, observed...)
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (m *metrics) Delivered(op *runtracker.Op) {
	ctx := context.Background()
	switch op.Kind {
	case runtracker.OpStart:
		m.runsStarted.Add(ctx, 1)
	case runtracker.OpEvents:
		m.eventsSent.Add(ctx, int64(len(op.Events)))
	case runtracker.OpClose:
		if op.Close.Fail {
			m.runsFailed.Add(ctx, 1)
		} else {
			m.runsCompleted.Add(ctx, 1)
		}
	}
}

func (m *metrics) Failed(op *runtracker.Op, err error) {
	ctx := context.Background()
	m.requestErrors.Add(ctx, 1, kindAttrs[op.Kind])
	if op.Kind != runtracker.OpEvents {
		return
	}
	// A batch may have been sent in part before it failed.
	sent := 0
	var partial *ingest.SendEventsError
	if errors.As(err, &partial) {
		sent = partial.Sent
		m.eventsSent.Add(ctx, int64(sent))
	}
	m.eventsDropped.Add(ctx, int64(len(op.Events)-sent), attrFailed)
}

// Skipped counts the events of a run whose start failed; the start's own
// failure was counted once.
func (m *metrics) Skipped(op *runtracker.Op) {
	if op.Kind == runtracker.OpEvents {
		m.eventsDropped.Add(context.Background(), int64(len(op.Events)), attrSkipped)
	}
}

func (m *metrics) refused(spans int) {
	m.spansRefused.Add(context.Background(), int64(spans))
}

func (m *metrics) close() error {
	if m.reg == nil {
		return nil
	}
	return m.reg.Unregister()
}
