package localserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	agentA = "11111111-1111-4111-8111-111111111111"
	agentB = "22222222-2222-4222-8222-222222222222"
	keyA   = "aos_agent_a"
	keyB   = "aos_agent_b"
)

func newTestServer(t *testing.T, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	s := New(opts)
	s.RegisterAgent(agentA, keyA)
	s.RegisterAgent(agentB, keyB)
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return s, hs
}

type response struct {
	status int
	header http.Header
	Data   json.RawMessage `json:"data"`
	Error  *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func post(t *testing.T, hs *httptest.Server, path, key, body string) response {
	t.Helper()
	return do(t, hs, http.MethodPost, path, key, "application/json", body)
}

func do(t *testing.T, hs *httptest.Server, method, path, key, contentType, body string) response {
	t.Helper()
	req, _ := http.NewRequest(method, hs.URL+path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{status: res.StatusCode, header: res.Header}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("response is not an envelope: %s", raw)
	}
	if (out.Error == nil) != (res.StatusCode == http.StatusOK) {
		t.Fatalf("status %d with error %v", res.StatusCode, out.Error)
	}
	return out
}

func startRun(t *testing.T, hs *httptest.Server, key, agent string) string {
	t.Helper()
	res := post(t, hs, "/api/ingest/v1/run/start", key, fmt.Sprintf(`{"agent_id":%q,"input":{"q":1}}`, agent))
	if res.status != 200 {
		t.Fatalf("start: %d %+v", res.status, res.Error)
	}
	var d struct {
		RunID string `json:"run_id"`
	}
	_ = json.Unmarshal(res.Data, &d)
	return d.RunID
}

func TestHappyPath(t *testing.T) {
	s, hs := newTestServer(t, Options{})
	id := startRun(t, hs, keyA, agentA)
	for i := range 3 {
		body := fmt.Sprintf(`{"run_id":%q,"events":[{"type":"step.started","payload":{"i":%d},"occurred_at":"2026-01-01T00:00:00.123456789Z"},{"type":"llm.request","level":"debug"}]}`, id, i)
		if res := post(t, hs, "/api/ingest/v1/events", keyA, body); res.status != 200 {
			t.Fatalf("events: %d %+v", res.status, res.Error)
		}
	}
	task := `{"run_id":%q,"task":{"id":"33333333-3333-4333-8333-333333333333","name":"search","status":%q}}`
	post(t, hs, "/api/ingest/v1/tasks", keyA, fmt.Sprintf(task, id, "running"))
	post(t, hs, "/api/ingest/v1/tasks", keyA, fmt.Sprintf(task, id, "completed"))
	if res := post(t, hs, "/api/ingest/v1/run/complete", keyA, fmt.Sprintf(`{"run_id":%q,"output":{"ok":true}}`, id)); res.status != 200 {
		t.Fatalf("complete: %d", res.status)
	}
	r, ok := s.Run(id)
	if !ok || r.Status != StatusCompleted || r.TriggerType != "sdk" || string(r.Output) != `{"ok":true}` {
		t.Fatalf("run %+v", r)
	}
	if len(r.Events) != 6 {
		t.Fatalf("%d events", len(r.Events))
	}
	for i, e := range r.Events {
		if e.SequenceNumber != int64(i+1) {
			t.Fatalf("event %d has sequence %d", i, e.SequenceNumber)
		}
	}
	if len(r.Tasks) != 1 || r.Tasks[0].Status != "completed" {
		t.Fatalf("tasks %+v", r.Tasks)
	}
	id2 := startRun(t, hs, keyB, agentB)
	post(t, hs, "/api/ingest/v1/run/fail", keyB, fmt.Sprintf(`{"run_id":%q,"error_message":"boom","error_detail":{"k":"v"}}`, id2))
	if r, _ := s.Run(id2); r.Status != StatusFailed || r.ErrorMessage != "boom" {
		t.Fatalf("failed run %+v", r)
	}
	if runs := s.Runs(); len(runs) != 2 || runs[0].ID != id || runs[1].ID != id2 {
		t.Fatalf("runs not in start order")
	}
}

func TestRejections(t *testing.T) {
	s, hs := newTestServer(t, Options{MaxBodyBytes: 2048})
	open := startRun(t, hs, keyA, agentA)
	closed := startRun(t, hs, keyA, agentA)
	post(t, hs, "/api/ingest/v1/run/complete", keyA, fmt.Sprintf(`{"run_id":%q}`, closed))
	unknown := "44444444-4444-4444-8444-444444444444"
	ev := func(run, events string) string { return fmt.Sprintf(`{"run_id":%q,"events":%s}`, run, events) }

	for _, tc := range []struct {
		name, method, path, key, ctype, body string
		status                               int
		msg                                  string
	}{
		{"missing key", "POST", "/api/ingest/v1/run/start", "", "application/json", `{"agent_id":"` + agentA + `"}`, 401, "Authorization"},
		{"unknown key", "POST", "/api/ingest/v1/run/start", "aos_agent_nope", "application/json", `{"agent_id":"` + agentA + `"}`, 401, "unknown"},
		{"key of another agent on start", "POST", "/api/ingest/v1/run/start", keyB, "application/json", `{"agent_id":"` + agentA + `"}`, 403, "another agent"},
		{"key of another agent on a run", "POST", "/api/ingest/v1/events", keyB, "application/json", ev(open, `[{"type":"x"}]`), 403, "another agent"},
		{"bad JSON", "POST", "/api/ingest/v1/run/start", keyA, "application/json", `{"agent_id":`, 400, "JSON"},
		{"trailing data", "POST", "/api/ingest/v1/run/start", keyA, "application/json", `{"agent_id":"` + agentA + `"} {}`, 400, "after"},
		{"unknown field", "POST", "/api/ingest/v1/run/start", keyA, "application/json", `{"agent_id":"` + agentA + `","color":"red"}`, 400, "color"},
		{"unknown field in event", "POST", "/api/ingest/v1/events", keyA, "application/json", ev(open, `[{"type":"x","when":"now"}]`), 400, "when"},
		{"wrong type", "POST", "/api/ingest/v1/run/start", keyA, "application/json", `{"agent_id":42}`, 400, "agent_id"},
		{"input not an object", "POST", "/api/ingest/v1/run/start", keyA, "application/json", `{"agent_id":"` + agentA + `","input":[1]}`, 400, "input"},
		{"agent id not a uuid", "POST", "/api/ingest/v1/run/start", keyA, "application/json", `{"agent_id":"agent-a"}`, 400, "uuid"},
		{"bad trigger_type", "POST", "/api/ingest/v1/run/start", keyA, "application/json", `{"agent_id":"` + agentA + `","trigger_type":"cron"}`, 400, "trigger_type"},
		{"bad level", "POST", "/api/ingest/v1/events", keyA, "application/json", ev(open, `[{"type":"x","level":"fatal"}]`), 400, "level"},
		{"bad occurred_at", "POST", "/api/ingest/v1/events", keyA, "application/json", ev(open, `[{"type":"x","occurred_at":"yesterday"}]`), 400, "occurred_at"},
		{"empty event batch", "POST", "/api/ingest/v1/events", keyA, "application/json", ev(open, `[]`), 400, "empty"},
		{"missing event batch", "POST", "/api/ingest/v1/events", keyA, "application/json", fmt.Sprintf(`{"run_id":%q}`, open), 400, "events"},
		{"event without type", "POST", "/api/ingest/v1/events", keyA, "application/json", ev(open, `[{"level":"info"}]`), 400, "type"},
		{"payload not an object", "POST", "/api/ingest/v1/events", keyA, "application/json", ev(open, `[{"type":"x","payload":"s"}]`), 400, "payload"},
		{"fail without message", "POST", "/api/ingest/v1/run/fail", keyA, "application/json", fmt.Sprintf(`{"run_id":%q}`, open), 400, "error_message"},
		{"bad task status", "POST", "/api/ingest/v1/tasks", keyA, "application/json", fmt.Sprintf(`{"run_id":%q,"task":{"id":%q,"name":"n","status":"done"}}`, open, unknown), 400, "status"},
		{"unknown run", "POST", "/api/ingest/v1/events", keyA, "application/json", ev(unknown, `[{"type":"x"}]`), 404, "not found"},
		{"events to a closed run", "POST", "/api/ingest/v1/events", keyA, "application/json", ev(closed, `[{"type":"x"}]`), 409, "already"},
		{"complete a closed run", "POST", "/api/ingest/v1/run/complete", keyA, "application/json", fmt.Sprintf(`{"run_id":%q}`, closed), 409, "already"},
		{"fail a closed run", "POST", "/api/ingest/v1/run/fail", keyA, "application/json", fmt.Sprintf(`{"run_id":%q,"error_message":"x"}`, closed), 409, "already"},
		{"task on a closed run", "POST", "/api/ingest/v1/tasks", keyA, "application/json", fmt.Sprintf(`{"run_id":%q,"task":{"id":%q,"name":"n","status":"running"}}`, closed, unknown), 409, "already"},
		{"oversized body", "POST", "/api/ingest/v1/events", keyA, "application/json", ev(open, `[{"type":"`+strings.Repeat("x", 4096)+`"}]`), 413, "exceeds"},
		{"wrong content type", "POST", "/api/ingest/v1/run/start", keyA, "text/plain", `{"agent_id":"` + agentA + `"}`, 415, "Content-Type"},
		{"wrong method", "GET", "/api/ingest/v1/run/start", keyA, "", "", 405, "POST"},
		{"unknown path", "POST", "/api/ingest/v1/runs", keyA, "application/json", `{}`, 404, "no endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.Runs()
			res := do(t, hs, tc.method, tc.path, tc.key, tc.ctype, tc.body)
			if res.status != tc.status {
				t.Fatalf("status %d, want %d (%+v)", res.status, tc.status, res.Error)
			}
			if !strings.Contains(res.Error.Message, tc.msg) {
				t.Fatalf("message %q does not mention %q", res.Error.Message, tc.msg)
			}
			after := s.Runs()
			if len(after) != len(before) {
				t.Fatalf("a rejected request created a run")
			}
			for i := range after {
				if len(after[i].Events) != len(before[i].Events) || after[i].Status != before[i].Status || len(after[i].Tasks) != len(before[i].Tasks) {
					t.Fatalf("a rejected request changed run %s", after[i].ID)
				}
			}
		})
	}
}

func TestFaults(t *testing.T) {
	s, hs := newTestServer(t, Options{})
	start := `{"agent_id":"` + agentA + `"}`

	s.FailNext(2, 502, "3")
	for range 2 {
		if res := post(t, hs, "/api/ingest/v1/run/start", keyA, start); res.status != 502 || res.header.Get("Retry-After") != "3" {
			t.Fatalf("FailNext: %d %q", res.status, res.header.Get("Retry-After"))
		}
	}
	if len(s.Runs()) != 0 {
		t.Fatal("an injected fault created a run")
	}
	if res := post(t, hs, "/api/ingest/v1/run/start", keyA, start); res.status != 200 {
		t.Fatalf("after FailNext: %d", res.status)
	}

	s.SetFaults(Faults{ErrorRate: 1})
	if res := post(t, hs, "/api/ingest/v1/run/start", keyA, start); res.status != 503 {
		t.Fatalf("ErrorRate 1: %d", res.status)
	}
	s.SetFaults(Faults{RateLimitRate: 1, RetryAfter: "Wed, 21 Oct 2026 07:28:00 GMT"})
	if res := post(t, hs, "/api/ingest/v1/run/start", keyA, start); res.status != 429 || res.header.Get("Retry-After") != "Wed, 21 Oct 2026 07:28:00 GMT" {
		t.Fatalf("RateLimitRate 1: %d %q", res.status, res.header.Get("Retry-After"))
	}
	s.SetFaults(Faults{ErrorRate: 0.5, Seed: 7})
	fails := 0
	for range 200 {
		if post(t, hs, "/api/ingest/v1/run/start", keyA, start).status == 503 {
			fails++
		}
	}
	if fails < 60 || fails > 140 {
		t.Fatalf("ErrorRate 0.5 failed %d of 200", fails)
	}

	s.SetFaults(Faults{Latency: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, hs.URL+"/api/ingest/v1/run/start", strings.NewReader(start))
	if _, err := hs.Client().Do(req); err == nil {
		t.Fatal("a request under an hour of latency returned")
	}

	s.SetFaults(Faults{})
	release := s.Hang()
	done := make(chan int)
	go func() { done <- post(t, hs, "/api/ingest/v1/run/start", keyA, start).status }()
	select {
	case <-done:
		t.Fatal("a request returned while the server hangs")
	case <-time.After(50 * time.Millisecond):
	}
	release()
	if status := <-done; status != 200 {
		t.Fatalf("after release: %d", status)
	}
}

func TestConcurrentClients(t *testing.T) {
	s, hs := newTestServer(t, Options{})
	const runs, batches, perBatch = 40, 10, 5
	var wg sync.WaitGroup
	for range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := startRun(t, hs, keyA, agentA)
			for b := range batches {
				var evs []string
				for e := range perBatch {
					evs = append(evs, fmt.Sprintf(`{"type":"e","payload":{"n":%d}}`, b*perBatch+e))
				}
				post(t, hs, "/api/ingest/v1/events", keyA, fmt.Sprintf(`{"run_id":%q,"events":[%s]}`, id, strings.Join(evs, ",")))
			}
			post(t, hs, "/api/ingest/v1/run/complete", keyA, fmt.Sprintf(`{"run_id":%q}`, id))
		}()
	}
	wg.Wait()
	all := s.Runs()
	if len(all) != runs {
		t.Fatalf("%d runs", len(all))
	}
	for _, r := range all {
		if r.Status != StatusCompleted || len(r.Events) != batches*perBatch {
			t.Fatalf("run %s: %s with %d events", r.ID, r.Status, len(r.Events))
		}
		for i, e := range r.Events {
			var p struct{ N int }
			_ = json.Unmarshal(e.Payload, &p)
			if e.SequenceNumber != int64(i+1) || p.N != i {
				t.Fatalf("run %s event %d: sequence %d, n %d", r.ID, i, e.SequenceNumber, p.N)
			}
		}
	}
	if st := s.Stats(); st.Requests["/api/ingest/v1/events"] != runs*batches || st.Rejected != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestDecodeMatchesServer(t *testing.T) {
	if _, err := Decode("/api/ingest/v1/events", []byte(`{"run_id":"`+agentA+`","events":[{"type":"x","extra":1}]}`)); err == nil || !strings.Contains(err.Error(), "extra") {
		t.Fatalf("Decode accepted an unknown field: %v", err)
	}
	if _, err := Decode("/api/ingest/v1/run/start", []byte(`{"agent_id":"`+agentA+`"}`)); err != nil {
		t.Fatal(err)
	}
}
