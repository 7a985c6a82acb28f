package localserver

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
)

const startA = `{"agent_id":"` + agentA + `"}`

func TestFailNext(t *testing.T) {
	s, hs := newTestServer(t, Options{})
	s.FailNext(3, http.StatusBadGateway, "3")
	s.FailNext(1, http.StatusTooManyRequests, "")
	for _, tc := range []struct {
		name, path, key string
		status          int
		retryAfter      string
	}{
		{"before auth", agentosapi.PathRunStart, "", 502, "3"},
		{"before routing", "/nowhere", keyA, 502, "3"},
		{"a valid request", agentosapi.PathRunStart, keyA, 502, "3"},
		{"queued after", agentosapi.PathRunStart, keyA, 429, ""},
		{"then served", agentosapi.PathRunStart, keyA, 200, ""},
		{"as usual", agentosapi.PathRunStart, "", 401, ""},
	} {
		res := post(t, hs, tc.path, tc.key, startA)
		if res.status != tc.status || res.header.Get("Retry-After") != tc.retryAfter {
			t.Fatalf("%s: %d with Retry-After %q, want %d with %q", tc.name, res.status, res.header.Get("Retry-After"), tc.status, tc.retryAfter)
		}
		if tc.status != 200 && tc.status != 401 && !strings.Contains(res.err.Message, "injected fault") {
			t.Fatalf("%s: message %q", tc.name, res.err.Message)
		}
	}
	if n := len(s.Runs()); n != 1 {
		t.Fatalf("%d runs, want only the one served", n)
	}
	if st := s.Stats(); st.Status[502] != 3 || st.Status[429] != 1 || st.Rejected != 5 || st.Requests["/nowhere"] != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestFailNextRejectsNonErrorStatus(t *testing.T) {
	s := New(Options{})
	for _, status := range []int{0, 200, 302, 600} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("FailNext accepted status %d", status)
				}
			}()
			s.FailNext(1, status, "")
		}()
	}
	if _, queued := s.nextFault(); queued {
		t.Fatal("a refused FailNext queued a fault")
	}
}

func TestRates(t *testing.T) {
	for _, tc := range []struct {
		name             string
		faults           Faults
		status           int
		code, retryAfter string
	}{
		{"errors", Faults{ErrorRate: 1}, 503, "unavailable", ""},
		{"rate limits", Faults{RateLimitRate: 1}, 429, "rate_limited", "1"},
		{"rate limits with a date", Faults{RateLimitRate: 1, RetryAfter: "Wed, 21 Oct 2026 07:28:00 GMT"}, 429, "rate_limited", "Wed, 21 Oct 2026 07:28:00 GMT"},
		{"off", Faults{}, 200, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, hs := newTestServer(t, Options{})
			s.SetFaults(tc.faults)
			for range 5 {
				res := post(t, hs, agentosapi.PathRunStart, keyA, startA)
				if res.status != tc.status || res.header.Get("Retry-After") != tc.retryAfter || (res.err != nil && res.err.Code != tc.code) {
					t.Fatalf("%d %+v Retry-After %q", res.status, res.err, res.header.Get("Retry-After"))
				}
			}
			if want := map[bool]int{true: 5, false: 0}[tc.status == 200]; len(s.Runs()) != want {
				t.Fatalf("%d runs, want %d", len(s.Runs()), want)
			}
		})
	}
}

// TestSeededRates: the same seed fails the same requests, and the rates
// are fractions of all requests.
func TestSeededRates(t *testing.T) {
	sequence := func(seed int64) string {
		s, hs := newTestServer(t, Options{})
		s.SetFaults(Faults{ErrorRate: 0.3, RateLimitRate: 0.3, Seed: seed})
		var b strings.Builder
		for range 300 {
			fmt.Fprintf(&b, "%d ", post(t, hs, agentosapi.PathRunStart, keyA, startA).status)
		}
		return b.String()
	}
	a, b := sequence(7), sequence(7)
	if a != b {
		t.Fatal("the same seed gave different failures")
	}
	if a == sequence(8) {
		t.Fatal("another seed gave the same failures")
	}
	for _, status := range []string{"200 ", "429 ", "503 "} {
		if n := strings.Count(a, status); n < 60 || n > 120 {
			t.Errorf("%d of 300 requests got %s, want about 100", n, status)
		}
	}
}

// serve runs one request through s in the background, directly.
func serve(s *Server, ctx context.Context) (*httptest.ResponseRecorder, <-chan struct{}) {
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, agentosapi.PathRunStart, strings.NewReader(startA))
	req.Header.Set("Authorization", "Bearer "+keyA)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.ServeHTTP(rec, req)
	}()
	return rec, done
}

func isDone(done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// TestWaits checks Latency and Hang on the fake clock of synctest: a
// request waits exactly as long as it should, and no longer than its
// client.
func TestWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Options{})
		s.RegisterAgent(agentA, keyA)
		s.SetFaults(Faults{Latency: 5 * time.Second})

		rec, done := serve(s, t.Context())
		time.Sleep(5*time.Second - time.Nanosecond)
		synctest.Wait()
		if isDone(done) {
			t.Fatal("answered before the latency passed")
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if !isDone(done) || rec.Code != 200 {
			t.Fatalf("after the latency: done %v, status %d", isDone(done), rec.Code)
		}

		ctx, cancel := context.WithCancel(t.Context())
		_, done = serve(s, ctx)
		time.Sleep(time.Second)
		cancel()
		synctest.Wait()
		if !isDone(done) {
			t.Fatal("still waiting out the latency after the client left")
		}

		s.SetFaults(Faults{})
		release := s.Hang()
		rec, done = serve(s, t.Context())
		ctx, cancel = context.WithCancel(t.Context())
		_, abandoned := serve(s, ctx)
		time.Sleep(time.Hour)
		synctest.Wait()
		if isDone(done) || isDone(abandoned) {
			t.Fatal("answered while the server hangs")
		}
		cancel()
		synctest.Wait()
		if !isDone(abandoned) {
			t.Fatal("still hanging after the client left")
		}
		release()
		release()
		synctest.Wait()
		if !isDone(done) || rec.Code != 200 {
			t.Fatalf("after release: done %v, status %d", isDone(done), rec.Code)
		}
		if rec, done := serve(s, t.Context()); !func() bool { <-done; return rec.Code == 200 }() {
			t.Fatal("a request after release failed")
		}

		if st := s.Stats(); st.Requests[agentosapi.PathRunStart] != 5 || st.Status[200] != 3 || len(s.Runs()) != 3 {
			t.Fatalf("abandoned requests left a trace: %+v, %d runs", st, len(s.Runs()))
		}
	})
}

// TestWaitsOverHTTP: over a real connection too, a client that gives up
// ends the request, so the server can close.
func TestWaitsOverHTTP(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*Server) (release func())
	}{
		{"latency", func(s *Server) func() { s.SetFaults(Faults{Latency: time.Hour}); return func() {} }},
		{"hang", (*Server).Hang},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Options{})
			s.RegisterAgent(agentA, keyA)
			hs := httptest.NewServer(s)
			release := tc.setup(s)
			defer release()

			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, hs.URL+agentosapi.PathRunStart, strings.NewReader(startA))
			req.Header.Set("Authorization", "Bearer "+keyA)
			req.Header.Set("Content-Type", "application/json")
			if res, err := hs.Client().Do(req); err == nil {
				res.Body.Close()
				t.Fatalf("answered %d while held", res.StatusCode)
			}

			closed := make(chan struct{})
			go func() { hs.Close(); close(closed) }() // waits for every handler
			select {
			case <-closed:
			case <-time.After(5 * time.Second):
				t.Fatal("the handler is still waiting after its client left")
			}
			if len(s.Runs()) != 0 {
				t.Fatal("an abandoned request started a run")
			}
		})
	}
}

func TestHangOverHTTP(t *testing.T) {
	s, hs := newTestServer(t, Options{})
	release := s.Hang()
	done := make(chan response, 1)
	go func() {
		res, err := call(hs, http.MethodPost, agentosapi.PathRunStart, keyA, "application/json", startA)
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	select {
	case res := <-done:
		t.Fatalf("answered %d while the server hangs", res.status)
	case <-time.After(50 * time.Millisecond):
	}
	release()
	if res := <-done; res.status != 200 {
		t.Fatalf("after release: %d", res.status)
	}
}

func TestLatencyOverHTTP(t *testing.T) {
	s, hs := newTestServer(t, Options{})
	s.SetFaults(Faults{Latency: 100 * time.Millisecond})
	begin := time.Now()
	if res := post(t, hs, agentosapi.PathRunStart, keyA, startA); res.status != 200 {
		t.Fatalf("status %d", res.status)
	}
	if d := time.Since(begin); d < 100*time.Millisecond {
		t.Fatalf("answered after %v", d)
	}
}

// TestRequestsPerSecond checks the token bucket on the fake clock of
// synctest: a second's worth of burst, then the rate, and a Retry-After
// that says when the next token comes.
func TestRequestsPerSecond(t *testing.T) {
	type step struct {
		after      time.Duration // fake time passed before the request
		status     int
		retryAfter string
	}
	for _, tc := range []struct {
		name   string
		faults Faults
		steps  []step
	}{
		{"burst of one second's worth, then 429", Faults{RequestsPerSecond: 3}, []step{
			{0, 200, ""}, {0, 200, ""}, {0, 200, ""}, {0, 429, "1"}, {0, 429, "1"},
		}},
		{"tokens come back at the rate", Faults{RequestsPerSecond: 2}, []step{
			{0, 200, ""}, {0, 200, ""}, {0, 429, "1"},
			{499 * time.Millisecond, 429, "1"}, {time.Millisecond, 200, ""}, {0, 429, "1"},
		}},
		{"never more than the burst", Faults{RequestsPerSecond: 1}, []step{
			{time.Hour, 200, ""}, {0, 429, "1"},
		}},
		{"a slow rate waits whole seconds", Faults{RequestsPerSecond: 0.25}, []step{
			{0, 200, ""}, {0, 429, "4"}, {time.Second, 429, "3"}, {3 * time.Second, 200, ""},
		}},
		{"Retry-After as configured", Faults{RequestsPerSecond: 1, RetryAfter: "7"}, []step{
			{0, 200, ""}, {0, 429, "7"},
		}},
		{"off", Faults{}, []step{{0, 200, ""}, {0, 200, ""}, {0, 200, ""}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := New(Options{})
				s.RegisterAgent(agentA, keyA)
				s.SetFaults(tc.faults)
				for i, st := range tc.steps {
					time.Sleep(st.after)
					rec, done := serve(s, t.Context())
					<-done
					if rec.Code != st.status || rec.Header().Get("Retry-After") != st.retryAfter {
						t.Fatalf("request %d: %d with Retry-After %q, want %d with %q",
							i, rec.Code, rec.Header().Get("Retry-After"), st.status, st.retryAfter)
					}
				}
			})
		})
	}
}

// TestRequestsPerSecondSustained: over ten seconds of requests every 10 ms,
// the burst plus ten seconds at the rate get through; SetFaults refills.
func TestRequestsPerSecondSustained(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Options{})
		s.RegisterAgent(agentA, keyA)
		s.SetFaults(Faults{RequestsPerSecond: 5})
		admitted := 0
		for range 1000 {
			rec, done := serve(s, t.Context())
			<-done
			if rec.Code == 200 {
				admitted++
			}
			time.Sleep(10 * time.Millisecond)
		}
		if admitted < 54 || admitted > 56 {
			t.Fatalf("%d of 1000 requests admitted in 10s at 5/s, want 5 + 50", admitted)
		}
		s.SetFaults(Faults{RequestsPerSecond: 5})
		for i := range 5 {
			if rec, done := serve(s, t.Context()); func() int { <-done; return rec.Code }() != 200 {
				t.Fatalf("request %d after SetFaults was limited", i)
			}
		}
	})
}

// TestResponseDelay: the request is applied at once and answered after the
// delay; a client that leaves meanwhile gets nothing, yet its run exists.
func TestResponseDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Options{})
		s.RegisterAgent(agentA, keyA)
		s.SetFaults(Faults{ResponseDelay: 3 * time.Second})

		rec, done := serve(s, t.Context())
		synctest.Wait()
		if isDone(done) || len(s.Runs()) != 1 {
			t.Fatalf("before the delay: answered %v, %d runs, want held and 1", isDone(done), len(s.Runs()))
		}
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if !isDone(done) || rec.Code != 200 {
			t.Fatalf("after the delay: done %v, status %d", isDone(done), rec.Code)
		}

		ctx, cancel := context.WithCancel(t.Context())
		_, done = serve(s, ctx)
		time.Sleep(time.Second)
		cancel()
		synctest.Wait()
		if !isDone(done) {
			t.Fatal("still holding the answer after the client left")
		}
		if n := len(s.Runs()); n != 2 {
			t.Fatalf("%d runs, want 2: an abandoned request is still applied", n)
		}
		if st := s.Stats(); st.Status[200] != 1 {
			t.Fatalf("statuses %v, want one answer", st.Status)
		}
	})
}
