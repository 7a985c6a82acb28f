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

// Instruments are the self-telemetry instruments the pipeline records on.
// The Collector exporter passes those of its mdatagen telemetry builder (its
// component's scope); without them the pipeline makes the same instruments on
// MeterProvider's meter named after this module, as the SDK bridge does.
type Instruments struct {
	// Meter made the observable instruments: the pipeline registers one
	// callback on it for all of them.
	Meter metric.Meter

	RunsStarted    metric.Int64Counter
	RunsCompleted  metric.Int64Counter
	RunsFailed     metric.Int64Counter
	EventsSent     metric.Int64Counter
	RequestsFailed metric.Int64Counter
	// RequestsDeferred counts requests delivery will send again later.
	RequestsDeferred metric.Int64Counter
	EventsDropped    metric.Int64Counter
	SpansRefused     metric.Int64Counter

	SpansDropped          metric.Int64ObservableCounter
	RunsMayExist          metric.Int64ObservableCounter
	RunsMaybeDuplicated   metric.Int64ObservableCounter
	EventsMaybeDuplicated metric.Int64ObservableCounter
	RequestsAuthFailFast  metric.Int64ObservableCounter
	EventsTruncated       metric.Int64ObservableCounter
	SpansHeld             metric.Int64ObservableGauge
	TracesOpen            metric.Int64ObservableGauge
}

// newInstruments makes the instruments on mp's meter for this module. Names,
// units and descriptions match the exporter's metadata.yaml.
func newInstruments(mp metric.MeterProvider) (*Instruments, error) {
	if mp == nil {
		mp = noop.NewMeterProvider()
	}
	ins := &Instruments{Meter: mp.Meter(meterName)}
	var errs []error
	counter := func(c *metric.Int64Counter, name, desc, unit string) {
		var err error
		*c, err = ins.Meter.Int64Counter(name, metric.WithDescription(desc), metric.WithUnit(unit))
		errs = append(errs, err)
	}
	observed := func(c *metric.Int64ObservableCounter, name, desc, unit string) {
		var err error
		*c, err = ins.Meter.Int64ObservableCounter(name, metric.WithDescription(desc), metric.WithUnit(unit))
		errs = append(errs, err)
	}
	gauge := func(g *metric.Int64ObservableGauge, name, desc, unit string) {
		var err error
		*g, err = ins.Meter.Int64ObservableGauge(name, metric.WithDescription(desc), metric.WithUnit(unit))
		errs = append(errs, err)
	}
	counter(&ins.RunsStarted, "agentos.runs.started", "Runs started in AgentOS.", "{run}")
	counter(&ins.RunsCompleted, "agentos.runs.completed", "Runs closed as completed.", "{run}")
	counter(&ins.RunsFailed, "agentos.runs.failed", "Runs closed as failed.", "{run}")
	counter(&ins.EventsSent, "agentos.events.sent", "Timeline events accepted by AgentOS.", "{event}")
	counter(&ins.RequestsFailed, "agentos.requests.failed", "Ingest requests that failed after retries, by request.", "{request}")
	counter(&ins.RequestsDeferred, "agentos.requests.deferred", "Ingest requests that failed after their retries with a transient error and will be sent again later (with storage), by request.", "{request}")
	counter(&ins.EventsDropped, "agentos.events.dropped", "Events not delivered, by reason.", "{event}")
	counter(&ins.SpansRefused, "agentos.spans.refused", "Spans refused at the memory bound, for the sender to offer again.", "{span}")
	observed(&ins.SpansDropped, "agentos.spans.dropped", "Spans not sent to AgentOS, by reason.", "{span}")
	observed(&ins.RunsMayExist, "agentos.runs.may_exist", "Runs whose run/start may have opened a run in AgentOS whose id the bridge never learned; look them up by external_run_id.", "{run}")
	observed(&ins.RunsMaybeDuplicated, "agentos.runs.maybe_duplicated", "Runs opened after an ambiguous run/start attempt: AgentOS may hold an earlier open run with the same external_run_id.", "{run}")
	observed(&ins.EventsMaybeDuplicated, "agentos.events.maybe_duplicated", "Events sent again after an ambiguous failure: AgentOS may have recorded them twice.", "{event}")
	observed(&ins.RequestsAuthFailFast, "agentos.requests.auth_fail_fast", "Requests refused without being sent because their key was just answered 401 or 403.", "{request}")
	observed(&ins.EventsTruncated, "agentos.events.truncated", "Events and run fields cut because AgentOS answered 413 even to them alone.", "{event}")
	gauge(&ins.SpansHeld, "agentos.spans.held", "Spans held waiting for their run root.", "{span}")
	gauge(&ins.TracesOpen, "agentos.traces.open", "Traces being tracked.", "{trace}")
	return ins, errors.Join(errs...)
}

// metrics is the bridge's self-telemetry: delivery outcomes counted as they
// happen, tracker and ingest counters observed at collection time.
type metrics struct {
	ins *Instruments
	reg metric.Registration
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
		// Live processor: spans of a run whose root's start it never saw
		// (dropped at its memory bound, or started before the processor).
		{"no_run", func(s runtracker.Stats) int64 { return s.SpansNoRun }},
	}
)

func init() {
	for _, k := range []runtracker.OpKind{runtracker.OpStart, runtracker.OpEvents, runtracker.OpTask, runtracker.OpClose} {
		kindAttrs[k] = metric.WithAttributes(attribute.String("request", k.String()))
	}
}

// newMetrics records on ins, or on instruments of its own on mp when ins
// is nil.
func newMetrics(mp metric.MeterProvider, ins *Instruments, stats func() runtracker.Stats, clientStats func() ingest.Stats) (*metrics, error) {
	if ins == nil {
		var err error
		if ins, err = newInstruments(mp); err != nil {
			return nil, err
		}
	}
	// The ingest client's counters: the outcomes a user must be able to
	// reconcile.
	ingestCounters := []struct {
		inst  metric.Int64ObservableCounter
		value func(ingest.Stats) int64
	}{
		{ins.RunsMayExist, func(s ingest.Stats) int64 { return s.RunsMayExist }},
		{ins.RunsMaybeDuplicated, func(s ingest.Stats) int64 { return s.StartsMaybeDuplicated }},
		{ins.EventsMaybeDuplicated, func(s ingest.Stats) int64 { return s.EventsMaybeDuplicated }},
		{ins.RequestsAuthFailFast, func(s ingest.Stats) int64 { return s.AuthFailFast }},
		{ins.EventsTruncated, func(s ingest.Stats) int64 { return s.EventsTruncated + s.FieldsTruncated }},
	}
	observed := []metric.Observable{ins.SpansDropped, ins.SpansHeld, ins.TracesOpen}
	for _, c := range ingestCounters {
		observed = append(observed, c.inst)
	}
	reg, err := ins.Meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := stats()
		for _, d := range dropReasons {
			o.ObserveInt64(ins.SpansDropped, d.value(s), metric.WithAttributes(attribute.String("reason", d.reason)))
		}
		o.ObserveInt64(ins.SpansHeld, int64(s.HeldSpans))
		o.ObserveInt64(ins.TracesOpen, int64(s.OpenTraces))
		cs := clientStats()
		for _, c := range ingestCounters {
			o.ObserveInt64(c.inst, c.value(cs))
		}
		return nil
	}, observed...)
	if err != nil {
		return nil, err
	}
	return &metrics{ins: ins, reg: reg}, nil
}

func (m *metrics) Delivered(op *runtracker.Op) {
	ctx := context.Background()
	switch op.Kind {
	case runtracker.OpStart:
		m.ins.RunsStarted.Add(ctx, 1)
	case runtracker.OpEvents:
		m.ins.EventsSent.Add(ctx, int64(len(op.Events)))
	case runtracker.OpClose:
		if op.Close.Fail {
			m.ins.RunsFailed.Add(ctx, 1)
		} else {
			m.ins.RunsCompleted.Add(ctx, 1)
		}
	}
}

func (m *metrics) Failed(op *runtracker.Op, err error) {
	ctx := context.Background()
	m.ins.RequestsFailed.Add(ctx, 1, kindAttrs[op.Kind])
	if op.Kind != runtracker.OpEvents {
		return
	}
	// A batch may have been sent in part before it failed.
	sent := 0
	var partial *ingest.SendEventsError
	if errors.As(err, &partial) {
		sent = partial.Sent
		m.ins.EventsSent.Add(ctx, int64(sent))
	}
	m.ins.EventsDropped.Add(ctx, int64(len(op.Events)-sent), attrFailed)
}

// Deferred counts a request delivery will send again later.
func (m *metrics) Deferred(op *runtracker.Op, _ error) {
	m.ins.RequestsDeferred.Add(context.Background(), 1, kindAttrs[op.Kind])
}

// Skipped counts the events of a run whose start failed; the start's own
// failure was counted once.
func (m *metrics) Skipped(op *runtracker.Op) {
	if op.Kind == runtracker.OpEvents {
		m.ins.EventsDropped.Add(context.Background(), int64(len(op.Events)), attrSkipped)
	}
}

func (m *metrics) refused(spans int) {
	m.ins.SpansRefused.Add(context.Background(), int64(spans))
}

func (m *metrics) close() error {
	if m.reg == nil {
		return nil
	}
	return m.reg.Unregister()
}
