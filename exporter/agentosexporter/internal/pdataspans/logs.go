package pdataspans

import (
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/agentos-ai/agentos-otel/internal/logjoin"
	"github.com/agentos-ai/agentos-otel/internal/mapping"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// LogRecords converts the GenAI log records of ld (mapping.LogEvent) for
// joining to their spans; other records are not AgentOS content and are
// left out.
func LogRecords(ld plog.Logs) []logjoin.Record {
	var out []logjoin.Record
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				at := lr.Timestamp().AsTime()
				if lr.Timestamp() == 0 {
					at = lr.ObservedTimestamp().AsTime()
				}
				ev, ok := mapping.LogEvent(lr.EventName(), at, Attrs(lr.Attributes()), Value(lr.Body()))
				if !ok {
					continue
				}
				out = append(out, logjoin.Record{TraceID: spans.TraceID(lr.TraceID()), SpanID: spans.SpanID(lr.SpanID()), Event: ev})
			}
		}
	}
	return out
}
