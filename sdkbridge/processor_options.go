package sdkbridge

import (
	"time"
)

// WithMaxRunDuration closes, as failed with a message saying why, a run of
// the live span processor whose root span has not ended after d (default
// 1 h), so a root that is never ended does not leave the run running until
// Shutdown. The exporter is not affected: it starts runs from ended spans.
func WithMaxRunDuration(d time.Duration) Option {
	return optionFunc(func(c *config) { c.maxRunDuration = d })
}
