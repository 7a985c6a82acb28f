package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/localserver"
	"github.com/agentos-ai/agentos-otel/internal/version"
)

const (
	agentA = "11111111-1111-4111-8111-111111111111"
	agentB = "22222222-2222-4222-8222-222222222222"
	keyB   = "aos_agent_other-agent-key-9876543210"
	// unknownRun is a well-formed run id the server has never issued.
	unknownRun = "33333333-3333-4333-8333-333333333333"
)

// fastRetry keeps tests quick; tests that measure waits use Retry-After.
var fastRetry = RetryPolicy{Enabled: true, InitialInterval: 5 * time.Millisecond, MaxInterval: 20 * time.Millisecond,
	Multiplier: 2, MaxElapsedTime: 5 * time.Second}

// env is a client talking over real HTTP to a strict local AgentOS.
type env struct {
	srv    *localserver.Server
	rec    *recorder
	ts     *httptest.Server
	client *Client
}

type envOpts struct {
	serverMaxBody int64
	cfg           Config // BaseURL and keys are filled in unless set
	// intercept may answer a request itself (returning true) instead of
	// the server; n counts requests from 1.
	intercept func(w http.ResponseWriter, r *http.Request, n int) bool
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	srv := localserver.New(localserver.Options{MaxBodyBytes: o.serverMaxBody})
	srv.RegisterAgent(agentA, testKey)
	srv.RegisterAgent(agentB, keyB)
	rec := &recorder{next: srv, intercept: o.intercept}
	ts := httptest.NewServer(rec)
	cfg := o.cfg
	if cfg.BaseURL == "" {
		cfg.BaseURL = ts.URL
	}
	if cfg.DefaultKey == "" && cfg.AgentKeys == nil {
		cfg.AgentKeys = map[string]string{agentA: testKey, agentB: keyB}
	}
	if cfg.Retry == (RetryPolicy{}) {
		cfg.Retry = fastRetry
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.CloseIdleConnections()
		ts.Close()
	})
	return &env{srv: srv, rec: rec, ts: ts, client: c}
}

// start opens a run for agentA.
func (e *env) start(t *testing.T) string {
	t.Helper()
	id, err := e.client.StartRun(context.Background(), &agentosapi.StartRunRequest{AgentID: agentA})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (e *env) requests(path string) int { return e.srv.Stats().Requests[path] }

// recorder notes what reached the server, as the server cannot tell.
type recorder struct {
	next      http.Handler
	intercept func(w http.ResponseWriter, r *http.Request, n int) bool

	mu   sync.Mutex
	n    int
	reqs []recorded
}

type recorded struct {
	path     string
	header   http.Header
	bodySize int
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec.mu.Lock()
	rec.n++
	n := rec.n
	rec.mu.Unlock()
	if rec.intercept != nil && rec.intercept(w, r, n) {
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, recorded{path: r.URL.Path, header: r.Header.Clone(), bodySize: len(body)})
	rec.mu.Unlock()
	rec.next.ServeHTTP(w, r)
}

func (rec *recorder) all() []recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]recorded(nil), rec.reqs...)
}

func TestLifecycle(t *testing.T) {
	e := newEnv(t, envOpts{cfg: Config{UserAgent: "testfront/1"}})
	ctx := context.Background()
	c := e.client

	runID, err := c.StartRun(ctx, &agentosapi.StartRunRequest{AgentID: agentA, TriggerType: agentosapi.TriggerWebhook,
		Input: json.RawMessage(`{"q":"hi"}`), ExternalRunID: "job-42"})
	if err != nil {
		t.Fatal(err)
	}
	events := []agentosapi.Event{
		{Type: "llm.request", Payload: json.RawMessage(`{"model":"m","prompt":"<hi>"}`), OccurredAt: "2025-03-01T12:00:00Z"},
		{Type: "llm.response", Level: agentosapi.LevelDebug, Payload: json.RawMessage(`{"model":"m","response":"yo"}`)},
		{Type: "tool.failed", Level: agentosapi.LevelError, Payload: json.RawMessage(`{"tool":"t","error":"e"}`)},
	}
	if err := c.SendEvents(ctx, agentA, runID, events); err != nil {
		t.Fatal(err)
	}
	if err := c.SendEvents(ctx, agentA, runID, nil); err != nil {
		t.Fatalf("no events: %v", err)
	}
	task := agentosapi.Task{ID: "44444444-4444-4444-8444-444444444444", Name: "search", Status: agentosapi.TaskRunning,
		Input: json.RawMessage(`{"k":1}`)}
	if err := c.PutTask(ctx, agentA, &agentosapi.TaskRequest{RunID: runID, Task: task}); err != nil {
		t.Fatal(err)
	}
	task.Status = agentosapi.TaskCompleted
	if err := c.PutTask(ctx, agentA, &agentosapi.TaskRequest{RunID: runID, Task: task}); err != nil {
		t.Fatal(err)
	}
	if err := c.CompleteRun(ctx, agentA, &agentosapi.CompleteRunRequest{RunID: runID, Output: json.RawMessage(`{"a":"done"}`)}); err != nil {
		t.Fatal(err)
	}

	failedID, err := c.StartRun(ctx, &agentosapi.StartRunRequest{AgentID: agentB})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.FailRun(ctx, agentB, &agentosapi.FailRunRequest{RunID: failedID, ErrorMessage: "boom",
		ErrorDetail: json.RawMessage(`{"type":"ValueError"}`)}); err != nil {
		t.Fatal(err)
	}

	runs := e.srv.Runs()
	if len(runs) != 2 {
		t.Fatalf("server has %d runs, want 2", len(runs))
	}
	r := runs[0]
	if r.ID != runID || r.AgentID != agentA || r.TriggerType != agentosapi.TriggerWebhook || r.ExternalRunID != "job-42" ||
		string(r.Input) != `{"q":"hi"}` || r.Status != localserver.StatusCompleted || string(r.Output) != `{"a":"done"}` {
		t.Errorf("run = %+v", r)
	}
	if len(r.Events) != len(events) {
		t.Fatalf("run has %d events, want %d", len(r.Events), len(events))
	}
	for i, ev := range r.Events {
		if ev.SequenceNumber != int64(i+1) || ev.Type != events[i].Type || ev.Level != events[i].Level ||
			string(ev.Payload) != string(events[i].Payload) || ev.OccurredAt != events[i].OccurredAt {
			t.Errorf("event %d = %+v, want %+v", i, ev, events[i])
		}
	}
	if len(r.Tasks) != 1 || r.Tasks[0].Status != agentosapi.TaskCompleted || string(r.Tasks[0].Input) != `{"k":1}` {
		t.Errorf("tasks = %+v", r.Tasks)
	}
	f := runs[1]
	if f.AgentID != agentB || f.Status != localserver.StatusFailed || f.ErrorMessage != "boom" || string(f.ErrorDetail) != `{"type":"ValueError"}` {
		t.Errorf("failed run = %+v", f)
	}

	wantUA := version.UserAgent("") + " testfront/1"
	for _, req := range e.rec.all() {
		h := req.header
		if h.Get("Content-Type") != "application/json" || h.Get("Accept") != "application/json" || h.Get("User-Agent") != wantUA {
			t.Errorf("%s headers: Content-Type %q, Accept %q, User-Agent %q", req.path,
				h.Get("Content-Type"), h.Get("Accept"), h.Get("User-Agent"))
		}
		if !strings.HasPrefix(h.Get("Authorization"), "Bearer aos_agent_") {
			t.Errorf("%s: Authorization is not a bearer agent key", req.path)
		}
	}
	if s := e.srv.Stats(); s.Rejected != 0 {
		t.Errorf("server rejected %d requests: %v", s.Rejected, s.Status)
	}
}

// TestKeyPerAgent: each agent's requests carry its own key, the default
// key serves agents without one, and an agent with neither fails locally.
func TestKeyPerAgent(t *testing.T) {
	e := newEnv(t, envOpts{cfg: Config{AgentKeys: map[string]string{agentA: testKey}, DefaultKey: keyB}})
	ctx := context.Background()
	for _, agent := range []string{agentA, agentB} {
		id, err := e.client.StartRun(ctx, &agentosapi.StartRunRequest{AgentID: agent})
		if err != nil {
			t.Fatalf("agent %s: %v", agent, err)
		}
		if err := e.client.CompleteRun(ctx, agent, &agentosapi.CompleteRunRequest{RunID: id}); err != nil {
			t.Fatalf("agent %s: %v", agent, err)
		}
	}

	noDefault := newEnv(t, envOpts{cfg: Config{AgentKeys: map[string]string{agentA: testKey}}})
	_, err := noDefault.client.StartRun(ctx, &agentosapi.StartRunRequest{AgentID: agentB})
	if !errors.Is(err, ErrNoKey) || !IsPermanent(err) || !strings.Contains(err.Error(), agentB) {
		t.Fatalf("error = %v, want a permanent ErrNoKey naming the agent", err)
	}
	if n := noDefault.requests(agentosapi.PathRunStart); n != 0 {
		t.Errorf("%d requests sent without a key", n)
	}
}

func TestPermanentErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		opts      envOpts
		call      func(e *env) error
		path      string
		status    int
		message   string // part of the server's message
		runClosed bool
	}{
		{
			name: "401 unknown key", opts: envOpts{cfg: Config{DefaultKey: "aos_agent_revoked-0000"}},
			call: func(e *env) error {
				_, err := e.client.StartRun(ctx, &agentosapi.StartRunRequest{AgentID: agentA})
				return err
			},
			path: agentosapi.PathRunStart, status: 401, message: "unknown or revoked API key",
		},
		{
			name: "403 key of another agent", opts: envOpts{cfg: Config{AgentKeys: map[string]string{agentB: testKey}}},
			call: func(e *env) error {
				_, err := e.client.StartRun(ctx, &agentosapi.StartRunRequest{AgentID: agentB})
				return err
			},
			path: agentosapi.PathRunStart, status: 403, message: "belongs to another agent",
		},
		{
			name: "404 unknown run",
			call: func(e *env) error {
				return e.client.SendEvents(ctx, agentA, unknownRun, []agentosapi.Event{{Type: "x"}})
			},
			path: agentosapi.PathEvents, status: 404, message: "run " + unknownRun + " not found",
		},
		{
			name: "404 unknown run on close",
			call: func(e *env) error {
				return e.client.CompleteRun(ctx, agentA, &agentosapi.CompleteRunRequest{RunID: unknownRun})
			},
			path: agentosapi.PathRunComplete, status: 404, message: "not found",
		},
		{
			name: "400 from the server",
			call: func(e *env) error {
				id := e.start(t)
				e.srv.FailNext(1, 400, "")
				return e.client.PutTask(ctx, agentA, &agentosapi.TaskRequest{RunID: id,
					Task: agentosapi.Task{ID: unknownRun, Name: "n", Status: agentosapi.TaskPending}})
			},
			path: agentosapi.PathTasks, status: 400, message: "injected fault: Bad Request",
		},
		{
			name: "409 events on a closed run",
			call: func(e *env) error {
				id := closedRun(t, e)
				return e.client.SendEvents(ctx, agentA, id, []agentosapi.Event{{Type: "late"}})
			},
			path: agentosapi.PathEvents, status: 409, message: "already completed", runClosed: true,
		},
		{
			name: "409 task on a closed run",
			call: func(e *env) error {
				id := closedRun(t, e)
				return e.client.PutTask(ctx, agentA, &agentosapi.TaskRequest{RunID: id,
					Task: agentosapi.Task{ID: unknownRun, Name: "n", Status: agentosapi.TaskPending}})
			},
			path: agentosapi.PathTasks, status: 409, message: "already completed", runClosed: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opts)
			err := tt.call(e)
			n := e.requests(tt.path)
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error = %v (%T), want an *APIError", err, err)
			}
			if apiErr.StatusCode != tt.status || apiErr.Endpoint != tt.path || !strings.Contains(apiErr.Message, tt.message) {
				t.Errorf("APIError = %+v, want status %d on %s with message %q", apiErr, tt.status, tt.path, tt.message)
			}
			for _, part := range []string{tt.path, fmt.Sprint(tt.status), tt.message} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not mention %q", err, part)
				}
			}
			if !IsPermanent(err) || IsRetryable(err) {
				t.Errorf("IsPermanent = %t, IsRetryable = %t", IsPermanent(err), IsRetryable(err))
			}
			if got := errors.Is(err, ErrRunClosed); got != tt.runClosed {
				t.Errorf("errors.Is(err, ErrRunClosed) = %t, want %t", got, tt.runClosed)
			}
			if n != 1 {
				t.Errorf("%d requests to %s, want 1: permanent errors are not retried", n, tt.path)
			}
		})
	}
}

func closedRun(t *testing.T, e *env) string {
	t.Helper()
	id := e.start(t)
	if err := e.client.CompleteRun(context.Background(), agentA, &agentosapi.CompleteRunRequest{RunID: id}); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestCloseTwice: a 409 on close means the run is closed already, whoever
// closed it, and is success.
func TestCloseTwice(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	id := closedRun(t, e)
	if err := e.client.CompleteRun(ctx, agentA, &agentosapi.CompleteRunRequest{RunID: id}); err != nil {
		t.Errorf("second complete: %v", err)
	}
	if err := e.client.FailRun(ctx, agentA, &agentosapi.FailRunRequest{RunID: id, ErrorMessage: "late"}); err != nil {
		t.Errorf("fail after complete: %v", err)
	}
	if got := e.srv.Stats().Status[409]; got != 2 {
		t.Errorf("server answered 409 %d times, want 2", got)
	}
	if r, _ := e.srv.Run(id); r.Status != localserver.StatusCompleted {
		t.Errorf("run status %q", r.Status)
	}
}

// TestInvalidRequestsStayLocal: requests the API would reject are refused
// before any network traffic.
func TestInvalidRequestsStayLocal(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	calls := map[string]func() error{
		"start without agent": func() error {
			_, err := e.client.StartRun(ctx, &agentosapi.StartRunRequest{AgentID: "not-a-uuid"})
			return err
		},
		"start nil": func() error { _, err := e.client.StartRun(ctx, nil); return err },
		"bad input": func() error {
			_, err := e.client.StartRun(ctx, &agentosapi.StartRunRequest{AgentID: agentA, Input: json.RawMessage(`[1]`)})
			return err
		},
		"events run": func() error { return e.client.SendEvents(ctx, agentA, "", []agentosapi.Event{{Type: "x"}}) },
		"complete":   func() error { return e.client.CompleteRun(ctx, agentA, &agentosapi.CompleteRunRequest{RunID: "x"}) },
		"complete nil": func() error {
			return e.client.CompleteRun(ctx, agentA, nil)
		},
		"fail without message": func() error {
			return e.client.FailRun(ctx, agentA, &agentosapi.FailRunRequest{RunID: unknownRun})
		},
		"task status": func() error {
			return e.client.PutTask(ctx, agentA, &agentosapi.TaskRequest{RunID: unknownRun,
				Task: agentosapi.Task{ID: unknownRun, Name: "n", Status: "done"}})
		},
	}
	for name, call := range calls {
		err := call()
		if !errors.Is(err, agentosapi.ErrInvalid) || !IsPermanent(err) {
			t.Errorf("%s: error = %v, want a permanent agentosapi.ErrInvalid", name, err)
		}
	}
	if n := len(e.rec.all()); n != 0 {
		t.Errorf("%d requests reached the server", n)
	}
}

// TestRetryTransient: 429 and 5xx answers are retried until one succeeds;
// events sent again after a 5xx other than 503 are counted as possibly
// duplicated.
func TestRetryTransient(t *testing.T) {
	for _, tt := range []struct {
		status     int
		ambiguous  bool
		duplicated int64 // events possibly recorded twice
	}{
		{429, false, 0}, {503, false, 0}, {500, true, 6}, {502, true, 6}, {504, true, 6},
	} {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOpts{})
			id := e.start(t)
			e.srv.FailNext(3, tt.status, "")
			if err := e.client.SendEvents(context.Background(), agentA, id, manyEvents(2, 10)); err != nil {
				t.Fatal(err)
			}
			if n := e.requests(agentosapi.PathEvents); n != 4 {
				t.Errorf("%d requests, want 4", n)
			}
			if r, _ := e.srv.Run(id); len(r.Events) != 2 {
				t.Errorf("run has %d events, want 2", len(r.Events))
			}
			st := e.client.Stats()
			if st.EventsMaybeDuplicated != tt.duplicated || (st.AmbiguousRetries == 3) != tt.ambiguous {
				t.Errorf("stats = %+v, want %d events possibly duplicated", st, tt.duplicated)
			}
		})
	}
}

// TestRetryAfter: the client waits at least as long as the server asks,
// whether in seconds or as an HTTP date.
func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter func() string
	}{
		{"429 seconds", 429, func() string { return "1" }},
		{"503 seconds", 503, func() string { return "1" }},
		// Dates have whole seconds: two seconds ahead is at least one.
		{"429 HTTP date", 429, func() string { return time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOpts{})
			id := e.start(t)
			e.srv.FailNext(1, tt.status, tt.retryAfter())
			begin := time.Now()
			if err := e.client.SendEvents(context.Background(), agentA, id, []agentosapi.Event{{Type: "x"}}); err != nil {
				t.Fatal(err)
			}
			if waited := time.Since(begin); waited < time.Second {
				t.Errorf("retried after %s, before the server's Retry-After", waited)
			}
			if n := e.requests(agentosapi.PathEvents); n != 2 {
				t.Errorf("%d events requests, want 2", n)
			}
			if r, _ := e.srv.Run(id); len(r.Events) != 1 {
				t.Errorf("run has %d events, want 1", len(r.Events))
			}
		})
	}
}

func TestGiveUp(t *testing.T) {
	budget := RetryPolicy{Enabled: true, InitialInterval: 10 * time.Millisecond, MaxInterval: 50 * time.Millisecond,
		MaxElapsedTime: 400 * time.Millisecond}
	t.Run("persistent 503", func(t *testing.T) {
		t.Parallel()
		// Events, not run/start: an attempt the budget cuts after it was
		// sent is ambiguous, which would make a start a RunMayExistError.
		e := newEnv(t, envOpts{cfg: Config{Retry: budget}})
		id := e.start(t)
		e.srv.FailNext(1000, 503, "")
		begin := time.Now()
		err := e.client.SendEvents(context.Background(), agentA, id, []agentosapi.Event{{Type: "x"}})
		elapsed := time.Since(begin)
		n := e.requests(agentosapi.PathEvents)
		wantGaveUp(t, err, n, 503)
		if n < 3 {
			t.Errorf("only %d attempts within %s", n, budget.MaxElapsedTime)
		}
		if elapsed > budget.MaxElapsedTime+time.Second {
			t.Errorf("gave up after %s, budget %s", elapsed, budget.MaxElapsedTime)
		}
	})
	t.Run("Retry-After beyond the budget", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOpts{cfg: Config{Retry: budget}})
		e.srv.FailNext(1, 429, "30")
		begin := time.Now()
		_, err := e.client.StartRun(context.Background(), &agentosapi.StartRunRequest{AgentID: agentA})
		wantGaveUp(t, err, 1, 429)
		if elapsed := time.Since(begin); elapsed > time.Second {
			t.Errorf("waited %s for a retry it could never make", elapsed)
		}
	})
	t.Run("hanging server", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOpts{cfg: Config{Retry: budget}})
		id := e.start(t)
		release := e.srv.Hang()
		defer release()
		begin := time.Now()
		err := e.client.SendEvents(context.Background(), agentA, id, []agentosapi.Event{{Type: "x"}})
		wantGaveUp(t, err, 1, 0)
		if !IsAmbiguous(err) {
			t.Errorf("a request cut off after it was sent is not ambiguous: %v", err)
		}
		if elapsed := time.Since(begin); elapsed > budget.MaxElapsedTime+time.Second {
			t.Errorf("a hanging request outlasted the budget: %s", elapsed)
		}
	})
	t.Run("client timeouts", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOpts{cfg: Config{Retry: budget, HTTPClient: &http.Client{Timeout: 50 * time.Millisecond}}})
		id := e.start(t)
		release := e.srv.Hang()
		defer release()
		err := e.client.SendEvents(context.Background(), agentA, id, []agentosapi.Event{{Type: "x"}})
		if !IsRetryable(err) || !strings.Contains(err.Error(), "gave up after") {
			t.Fatalf("error = %v, want a retryable give-up", err)
		}
		if n := e.requests(agentosapi.PathEvents); n < 2 {
			t.Errorf("%d attempts: client timeouts must be retried", n)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		c, err := New(Config{BaseURL: "http://" + addr, DefaultKey: testKey, Retry: budget})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.StartRun(context.Background(), &agentosapi.StartRunRequest{AgentID: agentA})
		if !IsRetryable(err) || !strings.Contains(err.Error(), "gave up after") || strings.Contains(err.Error(), "after 1 attempt ") {
			t.Fatalf("error = %v, want a retryable give-up after several attempts", err)
		}
	})
	t.Run("retries disabled", func(t *testing.T) {
		t.Parallel()
		off := DefaultRetryPolicy()
		off.Enabled = false
		e := newEnv(t, envOpts{cfg: Config{Retry: off}})
		e.srv.FailNext(1, 503, "")
		_, err := e.client.StartRun(context.Background(), &agentosapi.StartRunRequest{AgentID: agentA})
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 || !IsRetryable(err) {
			t.Fatalf("error = %v, want the 503 itself", err)
		}
		if n := e.requests(agentosapi.PathRunStart); n != 1 {
			t.Errorf("%d attempts with retries off", n)
		}
	})
}

// wantGaveUp checks a give-up error: retryable, naming the attempts, and
// wrapping the last failure (an APIError of status, or a transport error
// when status is 0). attempts is what the server saw; the client may count
// one more, an attempt the budget cut short before it reached the server.
func wantGaveUp(t *testing.T, err error, attempts, status int) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	plural := func(n int) string {
		if n == 1 {
			return "gave up after 1 attempt "
		}
		return fmt.Sprintf("gave up after %d attempts ", n)
	}
	msg := err.Error()
	if !strings.Contains(msg, plural(attempts)) &&
		!(strings.Contains(msg, plural(attempts+1)) && strings.Contains(msg, "cut short")) {
		t.Errorf("error %q does not say %q", err, plural(attempts))
	}
	if !IsRetryable(err) {
		t.Errorf("give-up is not retryable: %v", err)
	}
	var apiErr *APIError
	if status != 0 && (!errors.As(err, &apiErr) || apiErr.StatusCode != status) {
		t.Errorf("error %v does not wrap the last %d", err, status)
	}
}

func TestCancellation(t *testing.T) {
	slow := RetryPolicy{Enabled: true, InitialInterval: time.Minute, MaxInterval: time.Minute, MaxElapsedTime: time.Hour}
	tests := []struct {
		name    string
		setup   func(e *env) (cleanup func())
		ctx     func() (context.Context, context.CancelFunc)
		wantIs  error
		lastErr bool // the error keeps the last attempt's failure
	}{
		{
			name:  "during backoff",
			setup: func(e *env) func() { e.srv.FailNext(1, 503, ""); return func() {} },
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(100*time.Millisecond, cancel)
				return ctx, cancel
			},
			wantIs: context.Canceled, lastErr: true,
		},
		{
			name:  "during a Retry-After wait",
			setup: func(e *env) func() { e.srv.FailNext(1, 429, "60"); return func() {} },
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(100*time.Millisecond, cancel)
				return ctx, cancel
			},
			wantIs: context.Canceled, lastErr: true,
		},
		{
			name:  "during a request",
			setup: func(e *env) func() { return e.srv.Hang() },
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(100*time.Millisecond, cancel)
				return ctx, cancel
			},
			wantIs: context.Canceled,
		},
		{
			name:  "caller's deadline",
			setup: func(e *env) func() { return e.srv.Hang() },
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 100*time.Millisecond)
			},
			wantIs: context.DeadlineExceeded,
		},
		{
			name:  "before the call",
			setup: func(e *env) func() { return func() {} },
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx, cancel
			},
			wantIs: context.Canceled,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOpts{cfg: Config{Retry: slow}})
			id := e.start(t)
			cleanup := tt.setup(e)
			defer cleanup()
			ctx, cancel := tt.ctx()
			defer cancel()
			begin := time.Now()
			err := e.client.SendEvents(ctx, agentA, id, []agentosapi.Event{{Type: "x"}})
			if elapsed := time.Since(begin); elapsed > 5*time.Second {
				t.Errorf("cancellation took %s", elapsed)
			}
			if !errors.Is(err, tt.wantIs) {
				t.Fatalf("error = %v, want %v", err, tt.wantIs)
			}
			if IsRetryable(err) || IsPermanent(err) {
				t.Errorf("a cancelled call is classified: retryable %t, permanent %t", IsRetryable(err), IsPermanent(err))
			}
			var apiErr *APIError
			if got := errors.As(err, &apiErr); got != tt.lastErr {
				t.Errorf("error %v keeps the last APIError: %t, want %t", err, got, tt.lastErr)
			}
		})
	}
}

// TestBrokenAnswers: a connection closed before or during the answer is
// retried, and counted: the request may have been applied.
func TestBrokenAnswers(t *testing.T) {
	hijack := func(w http.ResponseWriter, write string) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		_, _ = buf.WriteString(write)
		_ = buf.Flush()
		_ = conn.Close()
	}
	tests := []struct {
		name    string
		breakIt func(w http.ResponseWriter)
	}{
		{"closed before the answer", func(w http.ResponseWriter) { hijack(w, "") }},
		{"EOF mid-answer", func(w http.ResponseWriter) {
			hijack(w, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"data\":{\"run")
		}},
		{"EOF mid-headers", func(w http.ResponseWriter) { hijack(w, "HTTP/1.1 200 OK\r\nContent-Ty") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOpts{intercept: func(w http.ResponseWriter, r *http.Request, n int) bool {
				if n > 1 {
					return false
				}
				_, _ = io.Copy(io.Discard, r.Body)
				tt.breakIt(w)
				return true
			}})
			id := e.start(t)
			if len(e.srv.Runs()) != 1 || e.srv.Runs()[0].ID != id {
				t.Errorf("runs = %+v", e.srv.Runs())
			}
			if st := e.client.Stats(); st.StartsMaybeDuplicated != 1 || st.AmbiguousFailures != 1 {
				t.Errorf("stats = %+v, want the start counted as possibly duplicated", st)
			}
		})
	}
}

func TestSendEventsSplits(t *testing.T) {
	tests := []struct {
		name         string
		maxBody      int
		maxEvents    int
		events       []agentosapi.Event
		wantRequests int // 0: more than one, exact number not checked
	}{
		{name: "by count", maxBody: DefaultMaxBodyBytes, maxEvents: 100, events: manyEvents(250, 20), wantRequests: 3},
		{name: "by bytes", maxBody: 4096, maxEvents: 100, events: manyEvents(60, 900)},
		{name: "by both", maxBody: 8192, maxEvents: 5, events: manyEvents(101, 1200)},
		{name: "one request", maxBody: 8192, maxEvents: 100, events: manyEvents(3, 10), wantRequests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOpts{serverMaxBody: int64(tt.maxBody),
				cfg: Config{MaxBodyBytes: tt.maxBody, MaxBatchEvents: tt.maxEvents}})
			id := e.start(t)
			if err := e.client.SendEvents(context.Background(), agentA, id, tt.events); err != nil {
				t.Fatal(err)
			}
			n := e.requests(agentosapi.PathEvents)
			if tt.wantRequests > 0 && n != tt.wantRequests {
				t.Errorf("%d requests, want %d", n, tt.wantRequests)
			}
			if tt.wantRequests == 0 && n < 2 {
				t.Errorf("%d requests, want the events split", n)
			}
			for _, req := range e.rec.all() {
				if req.bodySize > tt.maxBody {
					t.Errorf("a %s request of %d bytes exceeds %d", req.path, req.bodySize, tt.maxBody)
				}
			}
			if s := e.srv.Stats(); s.Rejected != 0 {
				t.Errorf("server rejected requests: %v", s.Status)
			}
			wantRecorded(t, e, id, tt.events)
		})
	}
}

// wantRecorded checks that the server numbered exactly want, in order.
func wantRecorded(t *testing.T, e *env, runID string, want []agentosapi.Event) {
	t.Helper()
	r, _ := e.srv.Run(runID)
	if len(r.Events) != len(want) {
		t.Fatalf("server recorded %d events, want %d", len(r.Events), len(want))
	}
	for i, ev := range r.Events {
		if ev.SequenceNumber != int64(i+1) || ev.Type != want[i].Type || string(ev.Payload) != string(want[i].Payload) {
			t.Fatalf("event #%d: got seq %d type %s, want type %s", i+1, ev.SequenceNumber, ev.Type, want[i].Type)
		}
	}
}

func manyEvents(n, size int) []agentosapi.Event {
	evs := make([]agentosapi.Event, n)
	for i := range evs {
		evs[i] = event(i, size)
	}
	return evs
}

func TestSendEventsPartial(t *testing.T) {
	t.Run("oversized and invalid events are left out", func(t *testing.T) {
		e := newEnv(t, envOpts{serverMaxBody: 2048, cfg: Config{MaxBodyBytes: 2048, MaxBatchEvents: 4}})
		id := e.start(t)
		events := manyEvents(12, 300)
		events[3] = event(3, 5000)
		events[7] = agentosapi.Event{Type: "bad.level", Level: "fatal"}
		err := e.client.SendEvents(context.Background(), agentA, id, events)
		var se *SendEventsError
		if !errors.As(err, &se) {
			t.Fatalf("error = %v, want *SendEventsError", err)
		}
		if se.Total != 12 || se.Sent != 10 || se.Err != nil || len(se.Rejected) != 2 ||
			se.Rejected[0].Index != 3 || se.Rejected[1].Index != 7 || se.Rejected[1].Type != "bad.level" {
			t.Fatalf("SendEventsError = %+v", se)
		}
		if !errors.Is(err, ErrEventTooLarge) || !errors.Is(err, agentosapi.ErrInvalid) || !IsPermanent(err) {
			t.Errorf("error %v: want it to match ErrEventTooLarge and ErrInvalid, permanent", err)
		}
		for _, part := range []string{"events[3]", `"step.3"`, "MaxBodyBytes 2048", "events[7]"} {
			if !strings.Contains(err.Error(), part) {
				t.Errorf("error %q does not mention %s", err, part)
			}
		}
		wantRecorded(t, e, id, append(append(events[:3:3], events[4:7]...), events[8:]...))
	})
	t.Run("a failed batch stops the rest", func(t *testing.T) {
		e := newEnv(t, envOpts{cfg: Config{MaxBatchEvents: 10}, intercept: func(w http.ResponseWriter, r *http.Request, n int) bool {
			if n == 3 { // start, first batch, then this one
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, `{"data":null,"error":"nope"}`)
				return true
			}
			return false
		}})
		id := e.start(t)
		events := manyEvents(30, 10)
		err := e.client.SendEvents(context.Background(), agentA, id, events)
		var se *SendEventsError
		if !errors.As(err, &se) || se.Sent != 10 || se.Total != 30 {
			t.Fatalf("error = %v, want 10 of 30 sent", err)
		}
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Message != "nope" || !IsPermanent(err) {
			t.Errorf("error %v: want the permanent 400 with the server's string error", err)
		}
		wantRecorded(t, e, id, events[:10])
	})
}

// TestEarlyAnswer: a server that answers before reading the body must not
// make the client reuse a buffer the transport still reads (run with
// -race).
func TestEarlyAnswer(t *testing.T) {
	e := newEnv(t, envOpts{cfg: Config{MaxBodyBytes: 2 << 20, MaxBatchEvents: 1000},
		intercept: func(w http.ResponseWriter, r *http.Request, n int) bool {
			if r.URL.Path != agentosapi.PathEvents {
				return false
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"data":{"accepted":1},"error":null}`)
			return true
		}})
	id := e.start(t)
	if err := e.client.SendEvents(context.Background(), agentA, id, manyEvents(6, 1<<20)); err != nil {
		t.Fatal(err)
	}
}

// TestServerMessages: error messages come from the envelope (object or
// string) or, failing that, from the body's text, in one line.
func TestServerMessages(t *testing.T) {
	tests := []struct {
		name, body, ctype string
		status            int
		wantCode, wantMsg string
	}{
		{"object", `{"data":null,"error":{"code":"bad","message":"field x"}}`, "application/json", 400, "bad", "field x"},
		{"string", `{"data":null,"error":"plain words"}`, "application/json", 422, "", "plain words"},
		{"html page", "<html>\n<b>502</b>\n</html>", "text/html", 418, "", "<html> <b>502</b> </html>"},
		{"empty", "", "", 451, "", ""},
		{"redirect", "", "", 308, "", "redirected to https://elsewhere.example/x (redirects are not followed)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOpts{intercept: func(w http.ResponseWriter, r *http.Request, n int) bool {
				if tt.ctype != "" {
					w.Header().Set("Content-Type", tt.ctype)
				}
				if tt.status == 308 {
					w.Header().Set("Location", "https://elsewhere.example/x")
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
				return true
			}})
			_, err := e.client.StartRun(context.Background(), &agentosapi.StartRunRequest{AgentID: agentA})
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error = %v", err)
			}
			if apiErr.Code != tt.wantCode || apiErr.Message != tt.wantMsg || apiErr.StatusCode != tt.status {
				t.Errorf("APIError = %+v, want code %q message %q", apiErr, tt.wantCode, tt.wantMsg)
			}
		})
	}
}

func TestMalformedStartAnswer(t *testing.T) {
	for name, body := range map[string]string{
		"not JSON":      "ok",
		"no run_id":     `{"data":{},"error":null}`,
		"run_id no id":  `{"data":{"run_id":"r1"},"error":null}`,
		"data mismatch": `{"data":[1],"error":null}`,
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, envOpts{intercept: func(w http.ResponseWriter, r *http.Request, n int) bool {
				_, _ = io.WriteString(w, body)
				return true
			}})
			_, err := e.client.StartRun(context.Background(), &agentosapi.StartRunRequest{AgentID: agentA})
			if !IsPermanent(err) || !strings.Contains(err.Error(), agentosapi.PathRunStart) {
				t.Fatalf("error = %v, want a permanent error naming run/start", err)
			}
			if e.rec.n != 1 {
				t.Errorf("%d requests: a malformed success must not be retried", e.rec.n)
			}
		})
	}
}
