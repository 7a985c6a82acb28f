package ingest

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Stats counts what a Client did that its callers cannot see in the
// results of their calls. All counts are since New.
type Stats struct {
	// AmbiguousFailures counts attempts whose outcome is unknown: they
	// failed after the request was sent (timeout, reset, EOF, a 5xx other
	// than 503), so AgentOS may have applied them.
	AmbiguousFailures int64
	// AmbiguousRetries counts requests sent again after such a failure.
	AmbiguousRetries int64
	// EventsMaybeDuplicated counts events in /events requests sent again
	// after an ambiguous failure: AgentOS may have recorded them twice.
	EventsMaybeDuplicated int64
	// StartsMaybeDuplicated counts runs that opened after an ambiguous
	// run/start attempt: AgentOS may also hold an earlier, open run with
	// the same external_run_id.
	StartsMaybeDuplicated int64
	// RunsMayExist counts StartRun calls that ended in *RunMayExistError.
	RunsMayExist int64
	// AuthFailFast counts calls refused without a request because their
	// key was answered 401 or 403 within Config.AuthFailureBackoff.
	AuthFailFast int64
	// TooLargeSplits counts events requests split in halves after a 413.
	TooLargeSplits int64
	// EventsTruncated counts events whose payload was cut because even
	// alone they were answered 413.
	EventsTruncated int64
	// FieldsTruncated counts run/start inputs, run/complete outputs and
	// run/fail error details cut after a 413.
	FieldsTruncated int64
}

type clientStats struct {
	ambiguousFailures, ambiguousRetries, eventsMaybeDuplicated atomic.Int64
	startsMaybeDuplicated, runsMayExist, authFailFast          atomic.Int64
	tooLargeSplits, eventsTruncated, fieldsTruncated           atomic.Int64
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	s := &c.stats
	return Stats{
		AmbiguousFailures:     s.ambiguousFailures.Load(),
		AmbiguousRetries:      s.ambiguousRetries.Load(),
		EventsMaybeDuplicated: s.eventsMaybeDuplicated.Load(),
		StartsMaybeDuplicated: s.startsMaybeDuplicated.Load(),
		RunsMayExist:          s.runsMayExist.Load(),
		AuthFailFast:          s.authFailFast.Load(),
		TooLargeSplits:        s.tooLargeSplits.Load(),
		EventsTruncated:       s.eventsTruncated.Load(),
		FieldsTruncated:       s.fieldsTruncated.Load(),
	}
}

// authGate remembers keys AgentOS refused (401, or 403 for one agent), so
// that every later run with them fails at once instead of sending again
// what will be refused again.
type authGate struct {
	backoff time.Duration // <= 0: off
	now     func() time.Time

	mu      sync.Mutex
	refused map[authScope]refusal
}

// authScope is a key and the agent it was used for: a 403 refuses the pair
// only, as the same key remains good for its own agent.
type authScope struct {
	key     secret
	agentID string
}

type refusal struct {
	err   *APIError
	until time.Time
}

func newAuthGate(backoff time.Duration) *authGate {
	return &authGate{backoff: backoff, now: time.Now, refused: map[authScope]refusal{}}
}

// check returns the recent refusal of key for agentID, if any.
func (g *authGate) check(key secret, agentID string) (*APIError, time.Duration) {
	if g.backoff <= 0 {
		return nil, 0
	}
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, scope := range []authScope{{key, ""}, {key, agentID}} {
		r, ok := g.refused[scope]
		switch {
		case !ok:
		case now.Before(r.until):
			return r.err, r.until.Sub(now)
		default:
			delete(g.refused, scope)
		}
	}
	return nil, 0
}

// note records err if it is a 401 (for key) or a 403 (for key and agentID).
func (g *authGate) note(key secret, agentID string, err error) {
	var apiErr *APIError
	if g.backoff <= 0 || !errors.As(err, &apiErr) {
		return
	}
	scope := authScope{key: key}
	switch apiErr.StatusCode {
	case http.StatusUnauthorized:
	case http.StatusForbidden:
		scope.agentID = agentID
	default:
		return
	}
	g.mu.Lock()
	g.refused[scope] = refusal{err: apiErr, until: g.now().Add(g.backoff)}
	g.mu.Unlock()
}

// refusedError is a call not sent because its key was refused recently. It
// wraps that refusal, so it matches ErrUnauthorized or ErrForbidden.
type refusedError struct {
	endpoint string
	err      *APIError
	left     time.Duration
}

func (e *refusedError) Error() string {
	return fmt.Sprintf("ingest: POST %s: not sent, as the key was refused moments ago (sending again in %s): %v",
		e.endpoint, e.left.Round(time.Second), e.err)
}

func (e *refusedError) Unwrap() error { return e.err }

// Repeats lets a report count it under the refusal it repeats.
func (e *refusedError) Repeats() error { return e.err }
func (*refusedError) class() errClass  { return classPermanent }
