package ingest

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	p := RetryPolicy{Enabled: true, InitialInterval: 100 * time.Millisecond, MaxInterval: time.Second,
		Multiplier: 2, RandomizationFactor: 0.5, MaxElapsedTime: time.Minute}
	tests := []struct {
		name string
		n    int
		r    float64
		want time.Duration
	}{
		{"first retry, lowest jitter", 1, 0, 50 * time.Millisecond},
		{"first retry, no jitter", 1, 0.5, 100 * time.Millisecond},
		{"first retry, highest jitter", 1, 0.75, 125 * time.Millisecond},
		{"grows by multiplier", 2, 0.5, 200 * time.Millisecond},
		{"grows again", 4, 0.5, 800 * time.Millisecond},
		{"capped at MaxInterval", 5, 0.5, time.Second},
		{"jitter applies after the cap", 5, 0, 500 * time.Millisecond},
		{"huge n stays capped", 100_000, 0.5, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.backoff(tt.n, tt.r); got != tt.want {
				t.Errorf("backoff(%d, %v) = %s, want %s", tt.n, tt.r, got, tt.want)
			}
		})
	}
}

// TestBackoffBounds checks the jitter range for every retry of the default
// policy: within [1-f, 1+f] of the capped exponential interval.
func TestBackoffBounds(t *testing.T) {
	p := DefaultRetryPolicy()
	for n := 1; n <= 40; n++ {
		base := math.Min(float64(p.InitialInterval)*math.Pow(p.Multiplier, float64(n-1)), float64(p.MaxInterval))
		lo := time.Duration(base * (1 - p.RandomizationFactor))
		hi := time.Duration(base * (1 + p.RandomizationFactor))
		for _, r := range []float64{0, 0.1, 0.5, 0.9, math.Nextafter(1, 0)} {
			if got := p.backoff(n, r); got < lo || got > hi {
				t.Fatalf("backoff(%d, %v) = %s, want within [%s, %s]", n, r, got, lo, hi)
			}
		}
	}
}

func TestRetryPolicyResolve(t *testing.T) {
	def := DefaultRetryPolicy()
	tests := []struct {
		name    string
		in      RetryPolicy
		want    RetryPolicy
		wantErr string
	}{
		{name: "zero means defaults", in: RetryPolicy{}, want: def},
		{name: "disabled stays disabled", in: RetryPolicy{Enabled: false, InitialInterval: time.Second},
			want: RetryPolicy{Enabled: false, InitialInterval: time.Second}},
		{name: "zero fields filled", in: RetryPolicy{Enabled: true, InitialInterval: time.Millisecond},
			want: RetryPolicy{Enabled: true, InitialInterval: time.Millisecond, MaxInterval: def.MaxInterval,
				Multiplier: def.Multiplier, RandomizationFactor: def.RandomizationFactor, MaxElapsedTime: def.MaxElapsedTime}},
		{name: "negative interval", in: RetryPolicy{Enabled: true, InitialInterval: -1}, wantErr: "Config.Retry.InitialInterval"},
		{name: "negative elapsed", in: RetryPolicy{Enabled: true, MaxElapsedTime: -time.Second}, wantErr: "Config.Retry.MaxElapsedTime"},
		{name: "shrinking multiplier", in: RetryPolicy{Enabled: true, Multiplier: 0.5}, wantErr: "Config.Retry.Multiplier"},
		{name: "NaN multiplier", in: RetryPolicy{Enabled: true, Multiplier: math.NaN()}, wantErr: "Config.Retry.Multiplier"},
		{name: "jitter over 1", in: RetryPolicy{Enabled: true, RandomizationFactor: 1.5}, wantErr: "Config.Retry.RandomizationFactor"},
		{name: "negative jitter", in: RetryPolicy{Enabled: true, RandomizationFactor: -0.1}, wantErr: "Config.Retry.RandomizationFactor"},
		{name: "max below initial", in: RetryPolicy{Enabled: true, InitialInterval: time.Minute, MaxInterval: time.Second},
			wantErr: "Config.Retry.MaxInterval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.resolve()
			if tt.wantErr != "" {
				if err == nil || !contains(err.Error(), tt.wantErr) {
					t.Fatalf("resolve() error = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("resolve() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// retryClient is a Client whose retry loop the tests drive directly.
func retryClient(p RetryPolicy) *Client {
	return &Client{retry: p, log: slog.New(slog.DiscardHandler)}
}

// retryErr runs the retry loop for a call to /x.
func retryErr(c *Client, ctx context.Context, attempt func(context.Context) error) error {
	_, err := c.retrying(ctx, retryCall{endpoint: "/x"}, attempt)
	return err
}

// TestRetryingLoop drives the retry loop with scripted attempts, without
// HTTP, to pin down its decisions.
func TestRetryingLoop(t *testing.T) {
	p := RetryPolicy{Enabled: true, InitialInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond,
		Multiplier: 2, RandomizationFactor: 0.5, MaxElapsedTime: 200 * time.Millisecond}
	retryable := &APIError{Endpoint: "/x", StatusCode: 503}
	permanent := &APIError{Endpoint: "/x", StatusCode: 400}
	ctx := context.Background()

	t.Run("succeeds after transient failures", func(t *testing.T) {
		n := 0
		err := retryErr(retryClient(p), ctx, func(context.Context) error {
			if n++; n < 4 {
				return retryable
			}
			return nil
		})
		if err != nil || n != 4 {
			t.Fatalf("err = %v after %d attempts", err, n)
		}
	})
	t.Run("permanent stops at once", func(t *testing.T) {
		n := 0
		err := retryErr(retryClient(p), ctx, func(context.Context) error { n++; return permanent })
		if err != permanent || n != 1 {
			t.Fatalf("err = %v after %d attempts", err, n)
		}
	})
	t.Run("an attempt cut short by the budget reports the failure before it", func(t *testing.T) {
		n := 0
		err := retryErr(retryClient(p), ctx, func(actx context.Context) error {
			if n++; n == 1 {
				return retryable
			}
			<-actx.Done() // hangs until the budget ends
			return &transportError{endpoint: "/x", err: actx.Err(), retryable: true}
		})
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 || !IsRetryable(err) {
			t.Fatalf("err = %v, want a retryable give-up wrapping the 503", err)
		}
		if msg := err.Error(); !strings.Contains(msg, "gave up after 2 attempts") || !strings.Contains(msg, "cut short") {
			t.Errorf("err = %q", msg)
		}
	})
	t.Run("a permanent failure as the budget ends stays permanent", func(t *testing.T) {
		err := retryErr(retryClient(p), ctx, func(actx context.Context) error {
			<-actx.Done()
			return permanent
		})
		if err != permanent {
			t.Fatalf("err = %v, want the 400 itself", err)
		}
	})
	t.Run("Retry-After longer than backoff is waited", func(t *testing.T) {
		n := 0
		var gap time.Duration
		var last time.Time
		err := retryErr(retryClient(p), ctx, func(context.Context) error {
			n++
			if n == 2 {
				gap = time.Since(last)
				return nil
			}
			last = time.Now()
			return &APIError{Endpoint: "/x", StatusCode: 429, RetryAfter: 50 * time.Millisecond}
		})
		if err != nil || gap < 50*time.Millisecond {
			t.Fatalf("err = %v, waited %s, want at least the 50ms asked", err, gap)
		}
	})
	t.Run("a Retry-After past the budget gives up without waiting", func(t *testing.T) {
		begin := time.Now()
		err := retryErr(retryClient(p), ctx, func(context.Context) error {
			return &APIError{Endpoint: "/x", StatusCode: 429, RetryAfter: time.Hour}
		})
		if !strings.Contains(err.Error(), "gave up after 1 attempt ") || time.Since(begin) > 100*time.Millisecond {
			t.Fatalf("err = %v after %s", err, time.Since(begin))
		}
	})
	t.Run("cancelled during backoff", func(t *testing.T) {
		slow := p
		slow.InitialInterval, slow.MaxInterval, slow.MaxElapsedTime = time.Hour, time.Hour, 2*time.Hour
		cctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(20*time.Millisecond, cancel)
		err := retryErr(retryClient(slow), cctx, func(context.Context) error { return retryable })
		if !errors.Is(err, context.Canceled) || !errors.Is(err, retryable) || IsRetryable(err) || IsPermanent(err) {
			t.Fatalf("err = %v", err)
		}
		if !strings.Contains(err.Error(), "after 1 attempt") {
			t.Errorf("err = %q, want the attempts counted", err)
		}
	})
	t.Run("disabled makes one attempt", func(t *testing.T) {
		off := p
		off.Enabled = false
		n := 0
		err := retryErr(retryClient(off), ctx, func(context.Context) error { n++; return retryable })
		if err != retryable || n != 1 {
			t.Fatalf("err = %v after %d attempts", err, n)
		}
	})
}
