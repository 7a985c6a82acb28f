package sdkbridge

import (
	"time"
)

// WithMaxRunDuration closes, as failed with a message saying why, a run of
// the live span processor whose root span has not ended after d (default
// 1 h), so a root that is never ended does not leave the run running until
// Shutdown. NewExporter refuses it: it starts runs from ended spans, so
// its runs never stay open on a root that does not end.
func WithMaxRunDuration(d time.Duration) ProcessorOption {
	return ProcessorOption{"WithMaxRunDuration", func(c *config) { c.maxRunDuration = d }}
}
