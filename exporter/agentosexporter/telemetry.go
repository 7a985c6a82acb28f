package agentosexporter

import (
	"go.opentelemetry.io/collector/component"

	"github.com/agentos-ai/agentos-otel/exporter/agentosexporter/internal/metadata"
	"github.com/agentos-ai/agentos-otel/internal/pipeline"
)

// instruments hands the core the instruments of the telemetry builder that
// mdatagen generates from metadata.yaml, so the exporter's metrics carry
// its component's scope (metadata.ScopeName) and the declared names.
func instruments(set component.TelemetrySettings) (*pipeline.Instruments, error) {
	tb, err := metadata.NewTelemetryBuilder(set)
	if err != nil {
		return nil, err
	}
	return &pipeline.Instruments{
		// The builder's meter (same scope): the core registers one callback
		// for all the observable instruments on it.
		Meter:                 metadata.Meter(set),
		RunsStarted:           tb.RunsStarted,
		RunsCompleted:         tb.RunsCompleted,
		RunsFailed:            tb.RunsFailed,
		EventsSent:            tb.EventsSent,
		RequestsFailed:        tb.RequestsFailed,
		RequestsDeferred:      tb.RequestsDeferred,
		EventsDropped:         tb.EventsDropped,
		SpansRefused:          tb.SpansRefused,
		SpansDropped:          tb.SpansDropped,
		RunsMayExist:          tb.RunsMayExist,
		RunsMaybeDuplicated:   tb.RunsMaybeDuplicated,
		EventsMaybeDuplicated: tb.EventsMaybeDuplicated,
		RequestsAuthFailFast:  tb.RequestsAuthFailFast,
		EventsTruncated:       tb.EventsTruncated,
		SpansHeld:             tb.SpansHeld,
		TracesOpen:            tb.TracesOpen,
	}, nil
}
