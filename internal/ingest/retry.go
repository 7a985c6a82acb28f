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

// retrying runs attempt until it succeeds, fails permanently, the caller's
// ctx ends or the policy's MaxElapsedTime is spent. attempt gets a context
// that ends at that deadline, so a hanging request cannot outlast it.
func (c *Client) retrying(ctx context.Context, endpoint string, attempt func(context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return &canceledError{endpoint: endpoint, cause: err}
	}
	p := c.retry
	if !p.Enabled {
		err := attempt(ctx)
		if err != nil && ctx.Err() != nil {
			return canceled(ctx, endpoint, 1, err)
		}
		return err
	}
	start := time.Now()
	deadline := start.Add(p.MaxElapsedTime)
	actx, cancel := context.WithDeadlineCause(ctx, deadline, errBudgetSpent)
	defer cancel()
	var prev error // the previous attempt's failure
	for n := 1; ; n++ {
		err := attempt(actx)
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return canceled(ctx, endpoint, n, err)
		case !IsRetryable(err):
			return err // permanent, even if it came just as the budget ran out
		case actx.Err() != nil:
			// The budget ended this attempt. Report the previous failure,
			// if any: it is why the call kept retrying.
			if prev != nil {
				return &gaveUpError{attempts: n, elapsed: time.Since(start), last: prev, cut: true}
			}
			return &gaveUpError{attempts: n, elapsed: time.Since(start), last: err}
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
			return &gaveUpError{attempts: n, elapsed: time.Since(start), last: err}
		}
		c.log.LogAttrs(ctx, slog.LevelWarn, "AgentOS request failed; retrying",
			slog.String("endpoint", endpoint), slog.Int("attempt", n),
			slog.Duration("wait", wait), slog.String("error", err.Error()))
		if sleep(actx, wait) != nil {
			if ctx.Err() != nil {
				return &canceledError{endpoint: endpoint, attempts: n, cause: ctx.Err(), last: err}
			}
			return &gaveUpError{attempts: n, elapsed: time.Since(start), last: err}
		}
	}
}

// canceled reports a call its caller stopped. The attempt's own error is
// kept only when it is more than the cancellation itself.
func canceled(ctx context.Context, endpoint string, attempts int, err error) error {
	e := &canceledError{endpoint: endpoint, attempts: attempts, cause: ctx.Err()}
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
