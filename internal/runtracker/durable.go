package runtracker

import "github.com/agentos-ai/agentos-otel/internal/spans"

// TakeRetired returns the traces retired since the previous call: every run
// of theirs is closed and no span of theirs is held. It lists them only
// with Options.ReportRetired.
func (t *Tracker) TakeRetired() []spans.TraceID {
	r := t.retired
	t.retired = nil
	return r
}

// Tracking reports whether trace id is open: its spans are held or some
// run of it is not closed yet.
func (t *Tracker) Tracking(id spans.TraceID) bool {
	_, ok := t.traces[id]
	return ok
}
