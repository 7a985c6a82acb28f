package localserver

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Faults make the server misbehave on purpose, for tests of the client.
type Faults struct {
	ErrorRate     float64       // fraction of requests answered 503
	RateLimitRate float64       // fraction answered 429 with Retry-After
	RetryAfter    string        // Retry-After sent with 429 (seconds or HTTP date); "" means "1", or the wait for a token
	Latency       time.Duration // delay before each request is handled; ends early if the client leaves
	Seed          int64         // seeds the random choice of failing requests

	// RequestsPerSecond admits at most this many requests per second (a
	// token bucket holding one second's worth); the others get 429 with
	// Retry-After. Zero means no limit.
	RequestsPerSecond float64
	// ResponseDelay holds the answer after the request is applied. Unlike
	// Latency, a client that gives up meanwhile leaves the request applied:
	// an ambiguous timeout.
	ResponseDelay time.Duration
}

type fault struct {
	status     int
	retryAfter string
}

func newRand(seed int64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))
}

// SetFaults replaces the fault settings, reseeds their random source and
// refills the rate limit's bucket. Requests queued by FailNext still come
// first.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
	s.rng = newRand(f.Seed)
	s.bucket = tokenBucket{}
}

// tokenBucket is the state of Faults.RequestsPerSecond.
type tokenBucket struct {
	tokens float64
	last   time.Time // zero: full
}

// take spends a token if there is one, else reports how long until the
// next one.
func (b *tokenBucket) take(now time.Time, rate float64) (wait time.Duration, ok bool) {
	capacity := max(rate, 1)
	if b.last.IsZero() {
		b.tokens = capacity
	} else {
		b.tokens = min(capacity, b.tokens+max(0, now.Sub(b.last).Seconds())*rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	return time.Duration((1 - b.tokens) / rate * float64(time.Second)), false
}

// retryAfterSeconds is wait rounded up to whole seconds, at least 1.
func retryAfterSeconds(wait time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(wait.Seconds()))))
}

// FailNext answers the next n requests with status, and Retry-After if
// retryAfter is not empty, before any other processing. Calls queue up.
// status must be a 4xx or 5xx code: anything else is a mistake in the
// calling test, reported here rather than as a panic inside a handler.
func (s *Server) FailNext(n, status int, retryAfter string) {
	if status < 400 || status > 599 {
		panic(fmt.Sprintf("localserver: FailNext status %d is not a 4xx or 5xx code", status))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failNext = append(s.failNext, fault{status, retryAfter})
	}
}

// Hang makes every request wait until release is called or the request's
// context ends. Release may be called more than once. A request whose body
// exceeds MaxBodyBytes is not held: it could not notice its client leave.
func (s *Server) Hang() (release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.hang = ch
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.hang == ch {
				s.hang = nil
			}
			s.mu.Unlock()
			close(ch)
		})
	}
}

// nextFault picks the injected failure of one request, if any.
func (s *Server) nextFault() (fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failNext) > 0 {
		f := s.failNext[0]
		s.failNext = s.failNext[1:]
		return f, true
	}
	if rate := s.faults.RequestsPerSecond; rate > 0 {
		if wait, ok := s.bucket.take(s.now(), rate); !ok {
			ra := s.faults.RetryAfter
			if ra == "" {
				ra = retryAfterSeconds(wait)
			}
			return fault{status: http.StatusTooManyRequests, retryAfter: ra}, true
		}
	}
	if s.faults.ErrorRate <= 0 && s.faults.RateLimitRate <= 0 {
		return fault{}, false
	}
	// One draw, so each rate is the fraction of all requests it names.
	switch p := s.rng.Float64(); {
	case p < s.faults.ErrorRate:
		return fault{status: http.StatusServiceUnavailable}, true
	case p < s.faults.ErrorRate+s.faults.RateLimitRate:
		ra := s.faults.RetryAfter
		if ra == "" {
			ra = "1"
		}
		return fault{status: http.StatusTooManyRequests, retryAfter: ra}, true
	}
	return fault{}, false
}

func faultCode(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return "rate_limited"
	case http.StatusServiceUnavailable:
		return "unavailable"
	}
	return "injected_fault"
}

// wait holds a request while the server hangs and for the latency, and
// reports false if the client went away meanwhile.
func wait(r *http.Request, hang <-chan struct{}, latency time.Duration) bool {
	done := r.Context().Done()
	if hang != nil {
		select {
		case <-hang:
		case <-done:
			return false
		}
	}
	if latency > 0 {
		t := time.NewTimer(latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-done:
			return false
		}
	}
	return true
}
