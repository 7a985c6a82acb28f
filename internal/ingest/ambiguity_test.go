package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/localserver"
)

// TestStartRunAmbiguity: failures that provably had no effect are retried
// within the budget; after ambiguous ones run/start is tried at most twice,
// so a run exists at most twice, and giving up says which run may exist.
func TestStartRunAmbiguity(t *testing.T) {
	const ext = "trace-4bf92f3577b34da6"
	tests := []struct {
		name   string
		cfg    Config
		faults func(s *localserver.Server)
		// wantRequests reached the server; wantRuns it recorded.
		wantRequests, wantRuns int
		mayExist               bool // ends in *RunMayExistError
		maybeDuplicated        int64
		// attempts is what a StartObserver hears, when set: per attempt
		// "+" for Sending, then "ok", "none" (no effect) or "maybe".
		attempts string
	}{
		{name: "503 and 429 have no effect", faults: func(s *localserver.Server) {
			s.FailNext(3, 503, "")
			s.FailNext(2, 429, "0")
		}, wantRequests: 6, wantRuns: 1, attempts: "+none+none+none+none+none+ok"},
		{name: "a 500 is ambiguous, the retry succeeds", faults: func(s *localserver.Server) { s.FailNext(1, 500, "") },
			wantRequests: 2, wantRuns: 1, maybeDuplicated: 1, attempts: "+maybe+ok"},
		{name: "no-effect failures do not use up the two tries", faults: func(s *localserver.Server) {
			s.FailNext(1, 502, "")
			s.FailNext(4, 503, "")
		}, wantRequests: 6, wantRuns: 1, maybeDuplicated: 1},
		{name: "two 5xx give up", faults: func(s *localserver.Server) { s.FailNext(5, 500, "") },
			wantRequests: 2, wantRuns: 0, mayExist: true, attempts: "+maybe+maybe"},
		{name: "answer lost after the run opened, then success", faults: func(s *localserver.Server) { s.DropNext(1, true) },
			wantRequests: 2, wantRuns: 2, maybeDuplicated: 1},
		{name: "answer lost twice: two runs at most", faults: func(s *localserver.Server) { s.DropNext(5, true) },
			wantRequests: 2, wantRuns: 2, mayExist: true},
		{name: "slower than the timeout: the second try gets twice as long",
			cfg:    Config{Timeout: 200 * time.Millisecond},
			faults: func(s *localserver.Server) { s.SetFaults(localserver.Faults{Latency: 250 * time.Millisecond}) },
			// The first attempt's client left, so the server did not apply it.
			wantRequests: 2, wantRuns: 1, maybeDuplicated: 1},
		{name: "far slower than the timeout: two tries, then give up",
			cfg:          Config{Timeout: 20 * time.Millisecond},
			faults:       func(s *localserver.Server) { s.SetFaults(localserver.Faults{Latency: time.Second}) },
			wantRequests: 2, wantRuns: 0, mayExist: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOpts{cfg: tt.cfg})
			tt.faults(e.srv)
			heard := &attemptLog{}
			ctx := WithStartObserver(context.Background(), heard)
			id, err := e.client.StartRun(ctx, &agentosapi.StartRunRequest{AgentID: agentA, ExternalRunID: ext})
			if tt.attempts != "" && heard.String() != tt.attempts {
				t.Errorf("StartObserver heard %q, want %q", heard, tt.attempts)
			}
			if n := e.requests(agentosapi.PathRunStart); n != tt.wantRequests {
				t.Errorf("%d run/start requests, want %d", n, tt.wantRequests)
			}
			if n := len(e.srv.Runs()); n != tt.wantRuns {
				t.Errorf("%d runs recorded, want %d", n, tt.wantRuns)
			}
			st := e.client.Stats()
			if st.StartsMaybeDuplicated != tt.maybeDuplicated {
				t.Errorf("StartsMaybeDuplicated = %d, want %d", st.StartsMaybeDuplicated, tt.maybeDuplicated)
			}
			if !tt.mayExist {
				if err != nil || !agentosapi.IsUUID(id) {
					t.Fatalf("StartRun = %q, %v", id, err)
				}
				return
			}
			var mayExist *RunMayExistError
			if !errors.Is(err, ErrRunMayExist) || !errors.As(err, &mayExist) {
				t.Fatalf("error = %v, want a *RunMayExistError", err)
			}
			if mayExist.ExternalRunID != ext || mayExist.AgentID != agentA || mayExist.AmbiguousAttempts != 2 ||
				!strings.Contains(err.Error(), ext) || !IsAmbiguous(err) || !IsPermanent(err) {
				t.Errorf("error = %+v (%v)", mayExist, err)
			}
			if st.RunsMayExist != 1 {
				t.Errorf("RunsMayExist = %d, want 1", st.RunsMayExist)
			}
		})
	}
}

// TestNoEffectFailures: a refused connection is not ambiguous, so run/start
// keeps trying within the budget and gives up with a plain give-up.
func TestNoEffectFailures(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := New(Config{BaseURL: "http://" + addr, DefaultKey: testKey, Retry: RetryPolicy{Enabled: true,
		InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond, MaxElapsedTime: 300 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.StartRun(context.Background(), &agentosapi.StartRunRequest{AgentID: agentA})
	if errors.Is(err, ErrRunMayExist) || IsAmbiguous(err) || !IsRetryable(err) || strings.Contains(err.Error(), "after 2 attempts") {
		t.Fatalf("error = %v, want a retryable, unambiguous give-up after many attempts", err)
	}
	if st := c.Stats(); st.AmbiguousFailures != 0 || st.RunsMayExist != 0 {
		t.Errorf("stats = %+v", st)
	}
}

// TestEventsRetriedAfterLostAnswer shows the residual risk the README
// documents: an events request applied but unanswered is applied again by
// its retry, and the client counts the events.
func TestEventsRetriedAfterLostAnswer(t *testing.T) {
	e := newEnv(t, envOpts{})
	id := e.start(t)
	e.srv.DropNext(1, true)
	if err := e.client.SendEvents(context.Background(), agentA, id, manyEvents(3, 10)); err != nil {
		t.Fatal(err)
	}
	if r, _ := e.srv.Run(id); len(r.Events) != 6 {
		t.Errorf("server recorded %d events, want the 3 twice", len(r.Events))
	}
	if st := e.client.Stats(); st.EventsMaybeDuplicated != 3 || st.AmbiguousRetries != 1 {
		t.Errorf("stats = %+v, want the 3 events counted once", st)
	}
}

// TestCallerTimeoutIsTheBase: the Timeout of a caller's HTTP client is the
// first attempt's timeout, and the caller's client is left as it was.
func TestCallerTimeoutIsTheBase(t *testing.T) {
	hc := &http.Client{Timeout: 7 * time.Second}
	for _, tt := range []struct {
		cfg  Config
		want time.Duration
	}{
		{Config{HTTPClient: hc}, 7 * time.Second},
		{Config{HTTPClient: hc, Timeout: time.Second}, time.Second},
		{Config{}, DefaultTimeout},
	} {
		tt.cfg.DefaultKey = testKey
		c, err := New(tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if c.timeout != tt.want || c.http.Timeout != 0 {
			t.Errorf("timeout %s with client timeout %s, want %s and 0", c.timeout, c.http.Timeout, tt.want)
		}
	}
	if hc.Timeout != 7*time.Second {
		t.Errorf("the caller's client was changed: timeout %s", hc.Timeout)
	}
	if _, err := New(Config{DefaultKey: testKey, Timeout: -time.Second}); err == nil || !strings.Contains(err.Error(), "Timeout") {
		t.Errorf("negative Timeout: %v", err)
	}
}

// TestAuthFailFast: after a 401 for a key (or a 403 for a key and agent)
// calls fail at once with the same error for AuthFailureBackoff, without a
// request, and the messages say what to check without showing the key.
func TestAuthFailFast(t *testing.T) {
	const badKey = "aos_agent_typo-in-this-key-000"
	tests := []struct {
		name     string
		keys     map[string]string
		agent    string
		sentinel error
		hint     string
		// otherAgent is an agent the same key still works for.
		otherAgent string
	}{
		{name: "401", keys: map[string]string{agentA: badKey}, agent: agentA, sentinel: ErrUnauthorized,
			hint: "check AGENTOS_API_KEY / api_key"},
		{name: "403", keys: map[string]string{agentB: testKey, agentA: testKey}, agent: agentB, sentinel: ErrForbidden,
			hint: "belongs to another agent than " + agentB, otherAgent: agentA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOpts{cfg: Config{AgentKeys: tt.keys}})
			now := time.Now()
			e.client.auth.now = func() time.Time { return now }
			start := func(agent string) error {
				_, err := e.client.StartRun(context.Background(), &agentosapi.StartRunRequest{AgentID: agent})
				return err
			}
			first := start(tt.agent)
			if !errors.Is(first, tt.sentinel) || !IsPermanent(first) || !strings.Contains(first.Error(), tt.hint) {
				t.Fatalf("error = %v, want %v with %q", first, tt.sentinel, tt.hint)
			}
			checkNoKey(t, "error", first.Error(), []string{badKey, testKey})
			for range 3 {
				if err := start(tt.agent); !errors.Is(err, tt.sentinel) || !IsPermanent(err) {
					t.Fatalf("again: %v", err)
				}
			}
			if err := e.client.SendEvents(context.Background(), tt.agent, unknownRun, manyEvents(1, 1)); !errors.Is(err, tt.sentinel) {
				t.Fatalf("events: %v", err)
			}
			if n := e.srv.Stats().Rejected; n != 1 {
				t.Errorf("%d requests refused by the server, want 1", n)
			}
			if st := e.client.Stats(); st.AuthFailFast != 4 {
				t.Errorf("AuthFailFast = %d, want 4", st.AuthFailFast)
			}
			if tt.otherAgent != "" {
				if err := start(tt.otherAgent); err != nil {
					t.Errorf("the key's own agent: %v", err)
				}
			}
			now = now.Add(DefaultAuthFailureBackoff)
			if err := start(tt.agent); !errors.Is(err, tt.sentinel) {
				t.Fatalf("after the backoff: %v", err)
			}
			if n := e.srv.Stats().Rejected; n != 2 {
				t.Errorf("%d requests refused by the server, want a second one after the backoff", n)
			}
		})
	}
	t.Run("off", func(t *testing.T) {
		e := newEnv(t, envOpts{cfg: Config{AgentKeys: map[string]string{agentA: badKey}, AuthFailureBackoff: -1}})
		for range 2 {
			if _, err := e.client.StartRun(context.Background(), &agentosapi.StartRunRequest{AgentID: agentA}); !errors.Is(err, ErrUnauthorized) {
				t.Fatal(err)
			}
		}
		if n := e.requests(agentosapi.PathRunStart); n != 2 {
			t.Errorf("%d requests, want 2 with the fail-fast off", n)
		}
	})
}

// TestTooLarge: a 413 splits the request, down to one event, and an event
// too large alone is sent with its payload cut; no event is lost.
func TestTooLarge(t *testing.T) {
	big := agentosapi.Event{Type: "llm.response", Level: agentosapi.LevelInfo,
		Payload: json.RawMessage(`{"span_id":"00f067aa0ba902b7","parent_span_id":"53995c3f42cd8ad8","span_name":"chat","response":"` +
			strings.Repeat("é", 3000) + `"}`)}
	tests := []struct {
		name       string
		serverMax  int64
		inject     func(s *localserver.Server)
		events     []agentosapi.Event
		truncated  int // index of the event that must arrive cut, or -1
		wantSplits bool
	}{
		{name: "server limit below the client's", serverMax: 2000, events: manyEvents(20, 200), truncated: -1, wantSplits: true},
		{name: "one injected 413", inject: func(s *localserver.Server) { s.FailNext(1, 413, "") },
			events: manyEvents(5, 10), truncated: -1, wantSplits: true},
		{name: "one event too large alone", serverMax: 2000,
			events: append(append(manyEvents(2, 10), big), manyEvents(2, 10)...), truncated: 2, wantSplits: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOpts{serverMaxBody: tt.serverMax})
			id := e.start(t)
			if tt.inject != nil {
				tt.inject(e.srv)
			}
			if err := e.client.SendEvents(context.Background(), agentA, id, tt.events); err != nil {
				t.Fatal(err)
			}
			r, _ := e.srv.Run(id)
			if len(r.Events) != len(tt.events) {
				t.Fatalf("server recorded %d events, want %d", len(r.Events), len(tt.events))
			}
			for i, got := range r.Events {
				if got.Type != tt.events[i].Type {
					t.Errorf("event %d is %q, want %q: out of order", i, got.Type, tt.events[i].Type)
				}
				if i != tt.truncated {
					if string(got.Payload) != string(tt.events[i].Payload) {
						t.Errorf("event %d changed: %s", i, got.Payload)
					}
					continue
				}
				var p map[string]any
				if err := json.Unmarshal(got.Payload, &p); err != nil {
					t.Fatalf("truncated payload is not a JSON object: %v", err)
				}
				if p["truncated"] != true || p["span_id"] != "00f067aa0ba902b7" || p["parent_span_id"] != "53995c3f42cd8ad8" ||
					p["span_name"] != "chat" || !strings.HasSuffix(p["preview"].(string), truncationMarker) {
					t.Errorf("truncated payload = %s", got.Payload)
				}
			}
			st := e.client.Stats()
			if (st.TooLargeSplits > 0) != tt.wantSplits || (st.EventsTruncated == 1) != (tt.truncated >= 0) {
				t.Errorf("stats = %+v", st)
			}
		})
	}
}

// TestErrorEnvelope: a 2xx whose envelope carries an error is a permanent
// *APIError with the server's code and message.
func TestErrorEnvelope(t *testing.T) {
	e := newEnv(t, envOpts{})
	id := e.start(t)
	calls := map[string]func() error{
		agentosapi.PathRunStart: func() error {
			_, err := e.client.StartRun(context.Background(), &agentosapi.StartRunRequest{AgentID: agentA})
			return err
		},
		agentosapi.PathEvents: func() error {
			return e.client.SendEvents(context.Background(), agentA, id, manyEvents(1, 1))
		},
		agentosapi.PathRunComplete: func() error {
			return e.client.CompleteRun(context.Background(), agentA, &agentosapi.CompleteRunRequest{RunID: id, Output: json.RawMessage(`{}`)})
		},
	}
	for path, call := range calls {
		before := e.requests(path)
		e.srv.ErrorEnvelopeNext(1, "quota_exceeded", "monthly event quota reached")
		err := call()
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 200 || apiErr.Code != "quota_exceeded" ||
			apiErr.Message != "monthly event quota reached" || !IsPermanent(err) || IsAmbiguous(err) {
			t.Fatalf("%s: error = %v, want a permanent *APIError from the envelope", path, err)
		}
		if !strings.Contains(err.Error(), "200 OK with an error in the answer: monthly event quota reached") {
			t.Errorf("%s: message %q", path, err)
		}
		if n := e.requests(path) - before; n != 1 {
			t.Errorf("%s: %d requests, want 1 (not retried)", path, n)
		}
	}
}

// TestTooLargeRunFields: a run/start input, run/complete output or
// run/fail detail answered 413 is cut until it fits, so the run opens and
// closes all the same.
func TestTooLargeRunFields(t *testing.T) {
	e := newEnv(t, envOpts{serverMaxBody: 1500})
	ctx := context.Background()
	big := json.RawMessage(`{"span_id":"00f067aa0ba902b7","prompt":"` + strings.Repeat("p", 4000) + `"}`)
	wantCut := func(what string, raw json.RawMessage) {
		t.Helper()
		var p map[string]any
		if err := json.Unmarshal(raw, &p); err != nil || p["truncated"] != true || p["span_id"] != "00f067aa0ba902b7" {
			t.Errorf("%s = %s, want the truncation marker", what, raw)
		}
	}
	completed, err := e.client.StartRun(ctx, &agentosapi.StartRunRequest{AgentID: agentA, Input: big})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.client.CompleteRun(ctx, agentA, &agentosapi.CompleteRunRequest{RunID: completed, Output: big}); err != nil {
		t.Fatal(err)
	}
	failed := e.start(t)
	if err := e.client.FailRun(ctx, agentA, &agentosapi.FailRunRequest{RunID: failed, ErrorMessage: "boom", ErrorDetail: big}); err != nil {
		t.Fatal(err)
	}
	r, _ := e.srv.Run(completed)
	if r.Status != localserver.StatusCompleted {
		t.Errorf("run is %s", r.Status)
	}
	wantCut("input", r.Input)
	wantCut("output", r.Output)
	r, _ = e.srv.Run(failed)
	if r.Status != localserver.StatusFailed || r.ErrorMessage != "boom" {
		t.Errorf("run is %s with %q", r.Status, r.ErrorMessage)
	}
	wantCut("error_detail", r.ErrorDetail)
	if st := e.client.Stats(); st.FieldsTruncated != 3 {
		t.Errorf("FieldsTruncated = %d, want 3", st.FieldsTruncated)
	}
}

// TestSlowAgentOSIsLearned: once an attempt timed out after sending, later
// calls start with a longer timeout, so a slow AgentOS does not get every
// request twice; and once answers are fast again, the timeout comes back.
func TestSlowAgentOSIsLearned(t *testing.T) {
	// Margins of 150 ms either way keep it steady on a loaded machine.
	e := newEnv(t, envOpts{cfg: Config{Timeout: 300 * time.Millisecond,
		Retry: RetryPolicy{Enabled: true, InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond, MaxElapsedTime: 10 * time.Second}}})
	e.srv.SetFaults(localserver.Faults{ResponseDelay: 450 * time.Millisecond})
	ctx := context.Background()
	// The first call times out after its request was applied: it is sent
	// again with twice the time, and AgentOS holds two runs.
	id, err := e.client.StartRun(ctx, &agentosapi.StartRunRequest{AgentID: agentA, ExternalRunID: "slow"})
	if err != nil {
		t.Fatal(err)
	}
	// The calls after it start with the learned timeout: applied once each.
	if err := e.client.SendEvents(ctx, agentA, id, manyEvents(3, 10)); err != nil {
		t.Fatal(err)
	}
	if err := e.client.CompleteRun(ctx, agentA, &agentosapi.CompleteRunRequest{RunID: id}); err != nil {
		t.Fatal(err)
	}
	if r, _ := e.srv.Run(id); len(r.Events) != 3 || r.Status != localserver.StatusCompleted {
		t.Errorf("run: %d events, %s; want the 3 once, completed", len(r.Events), r.Status)
	}
	if st := e.client.Stats(); st.AmbiguousFailures != 1 || st.EventsMaybeDuplicated != 0 {
		t.Errorf("stats = %+v, want one ambiguous failure (the first start) and no event sent twice", st)
	}
	if got := e.client.firstTimeout(); got != 600*time.Millisecond {
		t.Errorf("learned first-attempt timeout %s, want 600ms", got)
	}
	e.srv.SetFaults(localserver.Faults{})
	for range 3 {
		if _, err := e.client.StartRun(ctx, &agentosapi.StartRunRequest{AgentID: agentA}); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.client.firstTimeout(); got != 300*time.Millisecond {
		t.Errorf("first-attempt timeout %s after fast answers, want back to 300ms", got)
	}
}

// attemptLog is a StartObserver that writes down what it hears.
type attemptLog struct{ strings.Builder }

func (l *attemptLog) Sending() { l.WriteString("+") }

func (l *attemptLog) Attempted(err error) {
	switch {
	case err == nil:
		l.WriteString("ok")
	case IsAmbiguous(err):
		l.WriteString("maybe")
	default:
		l.WriteString("none")
	}
}
