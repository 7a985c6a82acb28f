package ingest

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"
)

// errBudgetSpent is the cause with which a call's context ends when
// RetryPolicy.MaxElapsedTime has passed.
var errBudgetSpent = errors.New("ingest: Retry.MaxElapsedTime elapsed")

// backoff returns the wait before retry n (1 for the first retry): the
// interval grown by Multiplier per retry and capped at MaxInterval, then
// spread by RandomizationFactor using r, uniform in [0, 1).
func (p RetryPolicy) backoff(n int, r float64) time.Duration {
	base := float64(p.InitialInterval) * math.Pow(p.Multiplier, float64(n-1))
	base = min(base, float64(p.MaxInterval)) // also tames +Inf from Pow
	delta := p.RandomizationFactor * base
	return time.Duration(base - delta + 2*delta*r)
}

// retryCall describes one call to the retry loop.
type retryCall struct {
	endpoint string
	// maxAmbiguous stops the call after that many attempts with an unknown
	// outcome; 0 means no limit. run/start uses it, since each such attempt
	// may have opened a run.
	maxAmbiguous int
	// events is how many events the body carries, counted as possibly
	// duplicated when it is sent again after an ambiguous failure.
	events int
	// starts hears run/start's attempts; nil when nobody listens.
	starts StartObserver
}

// outcome says what happened on the way to a call's result.
type outcome struct {
	attempts  int
	ambiguous int // failed attempts that may have taken effect
}

// retrying runs attempt until it succeeds, fails permanently, the caller's
// ctx ends or the policy's MaxElapsedTime is spent. Each attempt gets one
// context that ends at that deadline or at its per-attempt timeout,
// whichever is first, so a hanging request cannot outlast the budget. The
// timeout doubles after each ambiguous failure: an answer that was merely
// slow then gets the time it needs instead of being sent (and perhaps
// applied) again and again.
func (c *Client) retrying(ctx context.Context, rc retryCall, attempt func(context.Context) error) (outcome, error) {
	var out outcome
	if err := ctx.Err(); err != nil {
		return out, &canceledError{endpoint: rc.endpoint, cause: err}
	}
	timeout := c.firstTimeout()
	p := c.retry
	if !p.Enabled {
		out.attempts = 1
		err := c.try(ctx, rc, timeout, time.Time{}, p.MaxElapsedTime, attempt)
		if IsAmbiguous(err) {
			out.ambiguous = 1
			c.stats.ambiguousFailures.Add(1)
		}
		if err != nil && ctx.Err() != nil {
			return out, canceled(ctx, rc.endpoint, 1, err, out.ambiguous > 0)
		}
		return out, err
	}
	start := time.Now()
	deadline := start.Add(p.MaxElapsedTime)
	var prev error // the previous attempt's failure
	for n := 1; ; n++ {
		out.attempts = n
		err := c.try(ctx, rc, timeout, deadline, p.MaxElapsedTime, attempt)
		if err == nil {
			return out, nil
		}
		ambiguous := IsAmbiguous(err)
		if ambiguous {
			out.ambiguous++
			c.stats.ambiguousFailures.Add(1)
		}
		gaveUp := func(last error, cut bool) error {
			return &gaveUpError{attempts: n, elapsed: time.Since(start), last: last, cut: cut, anyAmbiguous: out.ambiguous > 0}
		}
		switch {
		case ctx.Err() != nil:
			return out, canceled(ctx, rc.endpoint, n, err, out.ambiguous > 0)
		case !IsRetryable(err):
			return out, err // permanent, even if it came just as the budget ran out
		case !time.Now().Before(deadline):
			// The budget ended this attempt. Report the previous failure,
			// if any: it is why the call kept retrying.
			if prev != nil {
				return out, gaveUp(prev, true)
			}
			return out, gaveUp(err, false)
		case ambiguous && rc.maxAmbiguous > 0 && out.ambiguous >= rc.maxAmbiguous:
			return out, err
		}
		prev = err
		wait := p.backoff(n, rand.Float64())
		var apiErr *APIError
		if errors.As(err, &apiErr) {
			wait = max(wait, apiErr.RetryAfter)
		}
		// A retry that could only start at or after the deadline would be
		// cancelled at once; say so now instead of sleeping first.
		if time.Until(deadline) <= wait {
			return out, gaveUp(err, false)
		}
		if ambiguous {
			if timeout > 0 {
				timeout = min(2*timeout, p.MaxElapsedTime)
			}
			c.stats.ambiguousRetries.Add(1)
			c.stats.eventsMaybeDuplicated.Add(int64(rc.events))
		}
		c.log.LogAttrs(ctx, slog.LevelWarn, "AgentOS request failed; retrying",
			slog.String("endpoint", rc.endpoint), slog.Int("attempt", n), slog.Bool("outcome_unknown", ambiguous),
			slog.Duration("wait", wait), slog.Duration("next_attempt_timeout", timeout), slog.String("error", err.Error()))
		if sleep(ctx, wait) != nil {
			return out, &canceledError{endpoint: rc.endpoint, attempts: n, cause: ctx.Err(), last: err, anyAmbiguous: out.ambiguous > 0}
		}
	}
}

// try makes one attempt, telling rc.starts.
func (c *Client) try(ctx context.Context, rc retryCall, timeout time.Duration, deadline time.Time, limit time.Duration,
	attempt func(context.Context) error) error {
	if rc.starts != nil {
		rc.starts.Sending()
	}
	err := c.timedAttempt(ctx, timeout, deadline, limit, attempt)
	if rc.starts != nil {
		rc.starts.Attempted(err)
	}
	return err
}

// firstTimeout is the timeout of a call's first attempt: the configured
// one, or longer once AgentOS has been seen to need more.
func (c *Client) firstTimeout() time.Duration {
	return max(c.timeout, time.Duration(c.learnedTimeout.Load()))
}

// timedAttempt runs an attempt within timeout and learns from how long it
// took. An attempt that ran out of its time after sending its request may
// well have been applied: sending the next calls with the same timeout
// would apply each of them twice too. So later calls start with twice that
// timeout (at most limit), until answers come well within it again.
func (c *Client) timedAttempt(ctx context.Context, timeout time.Duration, deadline time.Time, limit time.Duration,
	attempt func(context.Context) error) error {
	start := time.Now()
	err := c.attemptWithin(ctx, start, timeout, deadline, attempt)
	learned := time.Duration(c.learnedTimeout.Load())
	var timedOut *attemptTimeoutError
	switch {
	case err != nil && timeout > 0 && IsAmbiguous(err) && errors.As(err, &timedOut):
		c.learnTimeout(min(2*timeout, max(limit, c.timeout)))
	case err == nil && learned > 0 && time.Since(start) < learned/4:
		// Answers are fast again: halve what was learned, down to nothing.
		next := learned / 2
		if next <= c.timeout {
			next = 0
		}
		c.learnedTimeout.CompareAndSwap(int64(learned), int64(next))
	}
	return err
}

// learnTimeout raises the learned first-attempt timeout to d.
func (c *Client) learnTimeout(d time.Duration) {
	for {
		old := c.learnedTimeout.Load()
		if int64(d) <= old || c.learnedTimeout.CompareAndSwap(old, int64(d)) {
			return
		}
	}
}

// attemptWithin runs one attempt that ends at its timeout (none when zero)
// or at the call's deadline (none when zero), whichever is first: one
// context, one timer. An attempt that runs out of its own time fails with
// an *attemptTimeoutError that says how long it waited; one cut by the
// deadline has errBudgetSpent as its context's cause.
func (c *Client) attemptWithin(ctx context.Context, now time.Time, timeout time.Duration, deadline time.Time,
	attempt func(context.Context) error) error {
	end, cause := deadline, error(errBudgetSpent)
	if timeout > 0 && (deadline.IsZero() || now.Add(timeout).Before(deadline)) {
		end, cause = now.Add(timeout), &attemptTimeoutError{timeout: timeout}
	}
	if end.IsZero() {
		return attempt(ctx)
	}
	actx, cancel := context.WithDeadlineCause(ctx, end, cause)
	defer cancel()
	return attempt(actx)
}

// canceled reports a call its caller stopped. The attempt's own error is
// kept only when it is more than the cancellation itself.
func canceled(ctx context.Context, endpoint string, attempts int, err error, anyAmbiguous bool) error {
	e := &canceledError{endpoint: endpoint, attempts: attempts, cause: ctx.Err(), anyAmbiguous: anyAmbiguous}
	if !errors.Is(err, ctx.Err()) {
		e.last = err
	}
	return e
}

// sleep waits for d or until ctx ends, whichever is first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
