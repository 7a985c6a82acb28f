package delivery

import (
	"cmp"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// FailedRunsError summarises the runs that were not delivered whole since
// the previous report: a request of theirs failed for good. It unwraps to
// each distinct cause, so errors.Is and errors.As see the ingest errors.
type FailedRunsError struct {
	Runs   int     // runs with at least one request that failed for good
	Causes []Cause // distinct causes, the most frequent first
}

// Cause is one reason runs failed, and how many.
type Cause struct {
	Runs int
	Err  error
}

// maxCausesShown keeps the message readable; Unwrap still has them all.
const maxCausesShown = 3

func (e *FailedRunsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "agentos: %d %s not delivered", e.Runs, plural(e.Runs, "run", "runs"))
	for i, c := range e.Causes {
		if i == maxCausesShown {
			fmt.Fprintf(&b, "; and %d more causes", len(e.Causes)-i)
			break
		}
		if len(e.Causes) == 1 {
			fmt.Fprintf(&b, ": %v", c.Err)
			break
		}
		fmt.Fprintf(&b, "; %d: %v", c.Runs, c.Err)
	}
	return b.String()
}

// Unwrap returns every cause.
func (e *FailedRunsError) Unwrap() []error {
	errs := make([]error, len(e.Causes))
	for i, c := range e.Causes {
		errs[i] = c.Err
	}
	return errs
}

// A repeatedError is a failure decided from an earlier one without a new
// request (a key refused moments ago): the same cause, not a second one.
type repeatedError interface {
	error
	Repeats() error
}

func causeKey(err error) string {
	if r, ok := err.(repeatedError); ok && r.Repeats() != nil {
		return r.Repeats().Error()
	}
	return err.Error()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// failures collects failed runs by cause, and keeps their logs readable:
// one line per failed run, and past a few runs with the same cause a
// minute, one summary line instead. Its owner serialises calls.
type failures struct {
	runs    int
	byCause map[string]*Cause
	order   []string // causes in first-seen order, for a stable report

	logged map[string]*logWindow
}

type logWindow struct {
	start      time.Time
	lines      int
	suppressed int
}

// Per cause and minute, this many runs are logged each on its own line.
const (
	logLinesPerCause = 5
	logWindowLength  = time.Minute
)

// add records a run's first failure and says whether to log it on its own
// line; summary, when not empty, reports runs whose lines were suppressed.
func (f *failures) add(err error, now time.Time) (logLine bool, summary string, suppressed int) {
	key := causeKey(err)
	if f.byCause == nil {
		f.byCause = map[string]*Cause{}
		f.logged = map[string]*logWindow{}
	}
	f.runs++
	c := f.byCause[key]
	if c == nil {
		c = &Cause{Err: err}
		f.byCause[key] = c
		f.order = append(f.order, key)
	}
	c.Runs++

	w := f.logged[key]
	if w == nil || now.Sub(w.start) >= logWindowLength {
		if w != nil && w.suppressed > 0 {
			summary, suppressed = key, w.suppressed
		}
		w = &logWindow{start: now}
		f.logged[key] = w
	}
	if w.lines < logLinesPerCause {
		w.lines++
		return true, summary, suppressed
	}
	w.suppressed++
	return false, summary, suppressed
}

// take returns the summary since the last take, nil if nothing failed, and
// starts anew. Log windows carry on.
func (f *failures) take() *FailedRunsError {
	if f.runs == 0 {
		return nil
	}
	e := &FailedRunsError{Runs: f.runs, Causes: make([]Cause, 0, len(f.order))}
	for _, k := range f.order {
		e.Causes = append(e.Causes, *f.byCause[k])
	}
	slices.SortStableFunc(e.Causes, func(a, b Cause) int { return cmp.Compare(b.Runs, a.Runs) })
	f.runs, f.byCause, f.order = 0, map[string]*Cause{}, nil
	return e
}

// logSuppressed says how many failed runs were not logged one by one.
func logSuppressed(log *slog.Logger, cause string, n int) {
	log.Error("more AgentOS runs failed with the same cause", slog.Int("runs", n),
		slog.Duration("within", logWindowLength), slog.String("error", cause))
}
