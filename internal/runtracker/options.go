package runtracker

import (
	"errors"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/configerr"
)

// Options bound the tracker's memory and set its timings.
type Options struct {
	// MaxWait is how long spans of a trace are held waiting for their run
	// root before the run starts from what is known: only if the selector
	// picks one of them (any, with "all") and the earliest names a valid
	// agent. Otherwise they stay held (parked) for their root, which
	// decides, until OrphanTimeout of silence.
	MaxWait time.Duration
	// Grace lets stragglers in after the root ended before the run closes.
	Grace time.Duration
	// OrphanTimeout closes, as failed, a started run whose root never came,
	// once no span of it has arrived for this long; the spans of a parked
	// trace are then let go, counted as unselected.
	OrphanTimeout time.Duration
	// MaxRunDuration closes, as failed, a live run whose root span has not
	// ended after this long.
	MaxRunDuration time.Duration
	// MaxSpansPerTrace bounds the spans held for one trace.
	MaxSpansPerTrace int
	// MaxHeldSpans bounds the spans held across all traces.
	MaxHeldSpans int
	// MaxOpenRuns bounds the traces tracked at once. At either bound the
	// oldest trace without a started run open is evicted (held spans start
	// their run and close it as failed, or go as unselected if nothing
	// selects them); only when every trace has one is the oldest started
	// run closed, as failed.
	MaxOpenRuns int
	// RemoteParentIsRoot makes a span whose parent is remote a run root at
	// once (the SDK bridge). Otherwise it waits MaxWait for its parent (the
	// Collector, which may see the whole distributed trace).
	RemoteParentIsRoot bool
	// ReportRetired makes the tracker list the traces it is done with, for
	// TakeRetired.
	ReportRetired bool
	// LentAttrs says the caller of Add reuses the attribute arrays of its
	// spans, and of their span events, once Add returns: the tracker copies
	// those of the spans it keeps.
	LentAttrs bool
}

// Defaults.
const (
	DefaultMaxWait          = 30 * time.Second
	DefaultGrace            = 2 * time.Second
	DefaultOrphanTimeout    = 5 * time.Minute
	DefaultMaxRunDuration   = time.Hour
	DefaultMaxSpansPerTrace = 10_000
	DefaultMaxHeldSpans     = 100_000
	DefaultMaxOpenRuns      = 10_000
)

// WithDefaults fills zero fields with the defaults.
func (o Options) WithDefaults() Options {
	if o.MaxWait == 0 {
		o.MaxWait = DefaultMaxWait
	}
	if o.Grace == 0 {
		o.Grace = DefaultGrace
	}
	if o.OrphanTimeout == 0 {
		o.OrphanTimeout = DefaultOrphanTimeout
	}
	if o.MaxRunDuration == 0 {
		o.MaxRunDuration = DefaultMaxRunDuration
	}
	if o.MaxSpansPerTrace == 0 {
		o.MaxSpansPerTrace = DefaultMaxSpansPerTrace
	}
	if o.MaxHeldSpans == 0 {
		o.MaxHeldSpans = DefaultMaxHeldSpans
	}
	if o.MaxOpenRuns == 0 {
		o.MaxOpenRuns = DefaultMaxOpenRuns
	}
	return o
}

// Validate reports every invalid option as a *configerr.FieldError naming
// the field ("Tracker.Grace"), joined, for each front end to render with
// its own name for the setting.
func (o Options) Validate() error {
	var errs []error
	for _, f := range []struct {
		name     string
		negative bool
	}{
		{"MaxWait", o.MaxWait < 0},
		{"Grace", o.Grace < 0},
		{"OrphanTimeout", o.OrphanTimeout < 0},
		{"MaxRunDuration", o.MaxRunDuration < 0},
		{"MaxSpansPerTrace", o.MaxSpansPerTrace < 0},
		{"MaxHeldSpans", o.MaxHeldSpans < 0},
		{"MaxOpenRuns", o.MaxOpenRuns < 0},
	} {
		if f.negative {
			errs = append(errs, &configerr.FieldError{Field: "Tracker." + f.name, Err: errNegative})
		}
	}
	return errors.Join(errs...)
}

var errNegative = errors.New("must not be negative")
