package localserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	agentA = "11111111-1111-4111-8111-111111111111"
	agentB = "22222222-2222-4222-8222-222222222222"
	keyA   = "aos_agent_a"
	keyA2  = "aos_agent_a_second"
	keyB   = "aos_agent_b"
	taskID = "33333333-3333-4333-8333-333333333333"
	noRun  = "44444444-4444-4444-8444-444444444444"
)

func newTestServer(t *testing.T, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	s := New(opts)
	s.RegisterAgent(agentA, keyA)
	s.RegisterAgent(agentA, keyA2)
	s.RegisterAgent(agentB, keyB)
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return s, hs
}

type response struct {
	status int
	header http.Header
	data   json.RawMessage
	err    *agentosapi.ErrorBody
}

// call sends one request and checks that the answer is an envelope. It
// does not touch t, so goroutines may use it.
func call(hs *httptest.Server, method, path, key, contentType, body string) (response, error) {
	req, err := http.NewRequest(method, hs.URL+path, strings.NewReader(body))
	if err != nil {
		return response{}, err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := hs.Client().Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, err
	}
	out := response{status: res.StatusCode, header: res.Header}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		return out, fmt.Errorf("Content-Type %q", ct)
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(raw, &env); err != nil || len(env) != 2 || env["data"] == nil || env["error"] == nil {
		return out, fmt.Errorf("not an envelope: %s", raw)
	}
	out.data = env["data"]
	if string(env["error"]) != "null" {
		out.err = new(agentosapi.ErrorBody)
		if err := json.Unmarshal(env["error"], out.err); err != nil {
			return out, err
		}
	}
	if ok := res.StatusCode == http.StatusOK; ok != (out.err == nil) || ok != (string(out.data) != "null") {
		return out, fmt.Errorf("status %d with envelope %s", res.StatusCode, raw)
	}
	return out, nil
}

func do(t *testing.T, hs *httptest.Server, method, path, key, contentType, body string) response {
	t.Helper()
	res, err := call(hs, method, path, key, contentType, body)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func post(t *testing.T, hs *httptest.Server, path, key, body string) response {
	t.Helper()
	return do(t, hs, http.MethodPost, path, key, "application/json", body)
}

// mustPost posts a request that has to succeed and decodes its data.
func mustPost(t *testing.T, hs *httptest.Server, path, key, body string, data any) {
	t.Helper()
	res := post(t, hs, path, key, body)
	if res.status != http.StatusOK {
		t.Fatalf("%s: %d %s", path, res.status, res.err.Message)
	}
	if data != nil {
		if err := json.Unmarshal(res.data, data); err != nil {
			t.Fatal(err)
		}
	}
}

func startRun(t *testing.T, hs *httptest.Server, key, agent string) string {
	t.Helper()
	var d agentosapi.StartRunResponse
	mustPost(t, hs, agentosapi.PathRunStart, key, fmt.Sprintf(`{"agent_id":%q,"input":{"q":1}}`, agent), &d)
	return d.RunID
}

func TestHappyPath(t *testing.T) {
	for name, open := range testStores {
		t.Run(name, func(t *testing.T) { testHappyPath(t, open(t)) })
	}
}

func testHappyPath(t *testing.T, store Store) {
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tick := func() time.Time { clock = clock.Add(time.Second); return clock } // under the server's lock
	s, hs := newTestServer(t, Options{Now: tick, Store: store})

	var started agentosapi.StartRunResponse
	mustPost(t, hs, agentosapi.PathRunStart, keyA, `{"agent_id":"`+agentA+`","input":{"q":"hi"},"external_run_id":"job-1"}`, &started)
	id := started.RunID
	if !agentosapi.IsUUID(id) || id[14] != '4' || !strings.ContainsRune("89ab", rune(id[19])) || id != strings.ToLower(id) {
		t.Fatalf("run_id %q is not a lower-case uuid v4", id)
	}

	batches := []string{
		`[{"type":"step.started","payload":{"i":0},"occurred_at":"2026-01-01T00:00:00.123456789Z"},{"type":"llm.request","level":"debug"}]`,
		`[{"type":"tool.called","level":"warn","payload":{"tool":"t","input":{}}}]`,
		`[{"type":"llm.response","level":"info"},{"type":"tool.failed","level":"error","occurred_at":"2026-01-01T01:00:00+02:00"},{"type":"x"}]`,
	}
	var want []string
	for _, b := range batches {
		var d struct{ Accepted int }
		mustPost(t, hs, agentosapi.PathEvents, keyA, fmt.Sprintf(`{"run_id":%q,"events":%s}`, id, b), &d)
		var evs []agentosapi.Event
		_ = json.Unmarshal([]byte(b), &evs)
		if d.Accepted != len(evs) {
			t.Fatalf("accepted %d of %d", d.Accepted, len(evs))
		}
		for _, e := range evs {
			want = append(want, e.Type)
		}
	}

	task := func(id, name, status string) string {
		return fmt.Sprintf(`{"run_id":%q,"task":{"id":%q,"name":%q,"status":%q,"input":{"n":%q}}}`, started.RunID, id, name, status, status)
	}
	other := "55555555-5555-4555-8555-555555555555"
	mustPost(t, hs, agentosapi.PathTasks, keyA, task(taskID, "search", "pending"), nil)
	mustPost(t, hs, agentosapi.PathTasks, keyA, task(other, "answer", "running"), nil)
	var upd struct {
		TaskID string `json:"task_id"`
		Status string `json:"status"`
	}
	mustPost(t, hs, agentosapi.PathTasks, keyA2, task(strings.ToUpper(taskID), "search", "completed"), &upd)
	if upd.TaskID != strings.ToUpper(taskID) || upd.Status != "completed" {
		t.Fatalf("task update answered %+v", upd)
	}
	mustPost(t, hs, agentosapi.PathRunComplete, keyA, fmt.Sprintf(`{"run_id":%q,"output":{"ok":true}}`, id), nil)

	r, ok := s.Run(id)
	if !ok || r.AgentID != agentA || r.Status != StatusCompleted || r.TriggerType != "sdk" || r.ExternalRunID != "job-1" ||
		string(r.Input) != `{"q":"hi"}` || string(r.Output) != `{"ok":true}` {
		t.Fatalf("run %+v", r)
	}
	if start := time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC); !r.StartedAt.Equal(start) || !r.EndedAt.Equal(start.Add(7*time.Second)) {
		t.Fatalf("run from %v to %v", r.StartedAt, r.EndedAt)
	}
	var got []string
	for i, e := range r.Events {
		got = append(got, e.Type)
		if e.SequenceNumber != int64(i+1) {
			t.Fatalf("event %d has sequence number %d", i, e.SequenceNumber)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if e := r.Events[0]; e.Level != "" || string(e.Payload) != `{"i":0}` || e.OccurredAt != "2026-01-01T00:00:00.123456789Z" || !e.ReceivedAt.Equal(r.StartedAt.Add(time.Second)) {
		t.Fatalf("first event recorded as %+v", e)
	}
	if e := r.Events[5]; !e.ReceivedAt.Equal(r.StartedAt.Add(3 * time.Second)) {
		t.Fatalf("last event received at %v", e.ReceivedAt)
	}
	wantTasks := []agentosapi.Task{
		{ID: strings.ToUpper(taskID), Name: "search", Status: "completed", Input: json.RawMessage(`{"n":"completed"}`)},
		{ID: other, Name: "answer", Status: "running", Input: json.RawMessage(`{"n":"running"}`)},
	}
	if !reflect.DeepEqual(r.Tasks, wantTasks) {
		t.Fatalf("tasks %+v", r.Tasks)
	}

	// A failed run, an explicit trigger, and headers in their other valid spellings.
	res := do(t, hs, http.MethodPost, agentosapi.PathRunStart, keyB, "application/json; charset=UTF-8", `{"agent_id":"`+strings.ToUpper(agentB)+`","trigger_type":"webhook"}`)
	var failed agentosapi.StartRunResponse
	_ = json.Unmarshal(res.data, &failed)
	var closed struct {
		RunID  string `json:"run_id"`
		Status string `json:"status"`
	}
	mustPost(t, hs, agentosapi.PathRunFail, keyB, fmt.Sprintf(`{"run_id":%q,"error_message":"boom","error_detail":{"k":"v"}}`, failed.RunID), &closed)
	if closed.RunID != failed.RunID || closed.Status != "failed" {
		t.Fatalf("fail answered %+v", closed)
	}
	if r, _ := s.Run(failed.RunID); r.Status != StatusFailed || r.TriggerType != "webhook" || r.ErrorMessage != "boom" || string(r.ErrorDetail) != `{"k":"v"}` || r.Output != nil {
		t.Fatalf("failed run %+v", r)
	}
	if runs := s.Runs(); len(runs) != 2 || runs[0].ID != id || runs[1].ID != failed.RunID {
		t.Fatalf("runs not in start order: %v", runs)
	}
	if st := s.Stats(); st.Requests[agentosapi.PathEvents] != 3 || st.Requests[agentosapi.PathTasks] != 3 || st.Status[200] != 10 || st.Rejected != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRejections(t *testing.T) {
	s, hs := newTestServer(t, Options{MaxBodyBytes: 2048})
	open := startRun(t, hs, keyA, agentA)
	closed := startRun(t, hs, keyA, agentA)
	failed := startRun(t, hs, keyA, agentA)
	mustPost(t, hs, agentosapi.PathRunComplete, keyA, fmt.Sprintf(`{"run_id":%q}`, closed), nil)
	mustPost(t, hs, agentosapi.PathRunFail, keyA, fmt.Sprintf(`{"run_id":%q,"error_message":"x"}`, failed), nil)
	s.RegisterAgent(agentA, "aos_agent_revoked")
	s.RevokeKey("aos_agent_revoked")

	start := `{"agent_id":"` + agentA + `"}`
	events := func(run, events string) string { return fmt.Sprintf(`{"run_id":%q,"events":%s}`, run, events) }
	complete := func(run string) string { return fmt.Sprintf(`{"run_id":%q}`, run) }
	fail := func(run string) string { return fmt.Sprintf(`{"run_id":%q,"error_message":"x"}`, run) }
	task := func(run, task string) string { return fmt.Sprintf(`{"run_id":%q,"task":%s}`, run, task) }
	okTask := `{"id":"` + taskID + `","name":"n","status":"running"}`
	const POST, JSON = http.MethodPost, "application/json"
	tests := []struct {
		name, method, path, key, ctype, body string
		status                               int
		msg                                  string
	}{
		{"unknown path", POST, "/api/ingest/v1/runs", keyA, JSON, `{}`, 404, "no endpoint /api/ingest/v1/runs"},
		{"path with a trailing slash", POST, agentosapi.PathRunStart + "/", keyA, JSON, start, 404, "no endpoint"},
		{"GET", http.MethodGet, agentosapi.PathRunStart, keyA, "", "", 405, "takes POST, not GET"},
		{"PUT", http.MethodPut, agentosapi.PathTasks, keyA, JSON, task(open, okTask), 405, "takes POST, not PUT"},

		{"missing key", POST, agentosapi.PathRunStart, "", JSON, start, 401, "Authorization"},
		{"empty bearer key", POST, agentosapi.PathRunStart, " ", JSON, start, 401, "Bearer <agent key>"},
		{"unknown key", POST, agentosapi.PathRunStart, "aos_agent_nope", JSON, start, 401, "unknown or revoked"},
		{"revoked key", POST, agentosapi.PathEvents, "aos_agent_revoked", JSON, events(open, `[{"type":"x"}]`), 401, "unknown or revoked"},
		{"workspace key", POST, agentosapi.PathRunStart, "aos_ws_team", JSON, start, 401, "workspace key"},

		{"no content type", POST, agentosapi.PathRunStart, keyA, "", start, 415, "Content-Type must be application/json"},
		{"text content type", POST, agentosapi.PathRunStart, keyA, "text/plain", start, 415, `got "text/plain"`},
		{"latin-1 charset", POST, agentosapi.PathRunStart, keyA, "application/json; charset=latin1", start, 415, "charset must be utf-8"},

		{"oversized body", POST, agentosapi.PathEvents, keyA, JSON, events(open, `[{"type":"`+strings.Repeat("x", 4096)+`"}]`), 413, "body exceeds 2048 bytes"},

		{"empty body", POST, agentosapi.PathRunStart, keyA, JSON, ``, 400, "empty body"},
		{"not an object", POST, agentosapi.PathRunStart, keyA, JSON, `["` + agentA + `"]`, 400, "must be a JSON object"},
		{"null body", POST, agentosapi.PathRunStart, keyA, JSON, `null`, 400, "must be a JSON object"},
		{"bad JSON", POST, agentosapi.PathRunStart, keyA, JSON, `{"agent_id":`, 400, "invalid JSON"},
		{"bad JSON inside", POST, agentosapi.PathRunStart, keyA, JSON, `{"agent_id" "x"}`, 400, "invalid JSON at byte"},
		{"trailing data", POST, agentosapi.PathRunStart, keyA, JSON, start + ` {}`, 400, "data after the top-level value"},
		{"invalid UTF-8", POST, agentosapi.PathEvents, keyA, JSON, events(open, "[{\"type\":\"caf\xc3\"}]"), 400, "UTF-8"},
		{"unknown field", POST, agentosapi.PathRunStart, keyA, JSON, `{"agent_id":"` + agentA + `","color":"red"}`, 400, `"color"`},
		{"unknown field in an event", POST, agentosapi.PathEvents, keyA, JSON, events(open, `[{"type":"x","when":"now"}]`), 400, `"when"`},
		{"unknown field in the task", POST, agentosapi.PathTasks, keyA, JSON, task(open, `{"id":"`+taskID+`","name":"n","status":"running","owner":"me"}`), 400, `"owner"`},
		{"field name in another case", POST, agentosapi.PathRunStart, keyA, JSON, `{"Agent_ID":"` + agentA + `"}`, 400, `unknown field "Agent_ID" (field names are case-sensitive)`},
		{"event field in another case", POST, agentosapi.PathEvents, keyA, JSON, events(open, `[{"type":"x"},{"Type":"y"}]`), 400, `"events[1].Type"`},
		{"duplicate field", POST, agentosapi.PathRunStart, keyA, JSON, `{"agent_id":"` + agentB + `","agent_id":"` + agentA + `"}`, 400, `"agent_id" appears more than once`},
		{"duplicate field in the task", POST, agentosapi.PathTasks, keyA, JSON, task(open, `{"id":"`+taskID+`","name":"n","status":"running","status":"failed"}`), 400, `"task.status" appears more than once`},
		{"wrong type", POST, agentosapi.PathRunStart, keyA, JSON, `{"agent_id":42}`, 400, "field agent_id: expected string, got JSON number"},
		{"wrong type of events", POST, agentosapi.PathEvents, keyA, JSON, events(open, `{"type":"x"}`), 400, "field events"},
		{"wrong type of a level", POST, agentosapi.PathEvents, keyA, JSON, events(open, `[{"type":"x","level":3}]`), 400, "level"},
		{"input not an object", POST, agentosapi.PathRunStart, keyA, JSON, `{"agent_id":"` + agentA + `","input":[1]}`, 400, "input must be an object"},
		{"agent_id not a uuid", POST, agentosapi.PathRunStart, keyA, JSON, `{"agent_id":"agent-a"}`, 400, "agent_id must be a uuid"},
		{"agent_id missing", POST, agentosapi.PathRunStart, keyA, JSON, `{}`, 400, "agent_id must be a uuid"},
		{"bad trigger_type", POST, agentosapi.PathRunStart, keyA, JSON, `{"agent_id":"` + agentA + `","trigger_type":"cron"}`, 400, `trigger_type "cron"`},
		{"run_id not a uuid", POST, agentosapi.PathEvents, keyA, JSON, events("run-1", `[{"type":"x"}]`), 400, "run_id must be a uuid"},
		{"bad level", POST, agentosapi.PathEvents, keyA, JSON, events(open, `[{"type":"x","level":"fatal"}]`), 400, `events[0]: invalid request: level "fatal"`},
		{"bad occurred_at", POST, agentosapi.PathEvents, keyA, JSON, events(open, `[{"type":"x"},{"type":"x","occurred_at":"yesterday"}]`), 400, `events[1]: invalid request: occurred_at "yesterday"`},
		{"empty event batch", POST, agentosapi.PathEvents, keyA, JSON, events(open, `[]`), 400, "events must not be empty"},
		{"missing event batch", POST, agentosapi.PathEvents, keyA, JSON, complete(open), 400, "events must not be empty"},
		{"null event batch", POST, agentosapi.PathEvents, keyA, JSON, events(open, `null`), 400, "events must not be empty"},
		{"event without type", POST, agentosapi.PathEvents, keyA, JSON, events(open, `[{"level":"info"}]`), 400, "type is required"},
		{"payload not an object", POST, agentosapi.PathEvents, keyA, JSON, events(open, `[{"type":"x","payload":"s"}]`), 400, "payload must be an object"},
		{"output not an object", POST, agentosapi.PathRunComplete, keyA, JSON, fmt.Sprintf(`{"run_id":%q,"output":"done"}`, open), 400, "output must be an object"},
		{"fail without message", POST, agentosapi.PathRunFail, keyA, JSON, complete(open), 400, "error_message is required"},
		{"error_detail not an object", POST, agentosapi.PathRunFail, keyA, JSON, fmt.Sprintf(`{"run_id":%q,"error_message":"x","error_detail":1}`, open), 400, "error_detail must be an object"},
		{"task id not a uuid", POST, agentosapi.PathTasks, keyA, JSON, task(open, `{"id":"t1","name":"n","status":"running"}`), 400, "task.id must be a uuid"},
		{"task without name", POST, agentosapi.PathTasks, keyA, JSON, task(open, `{"id":"`+taskID+`","status":"running"}`), 400, "task.name is required"},
		{"bad task status", POST, agentosapi.PathTasks, keyA, JSON, task(open, `{"id":"`+taskID+`","name":"n","status":"done"}`), 400, `task.status "done"`},
		{"missing task", POST, agentosapi.PathTasks, keyA, JSON, complete(open), 400, "task.id must be a uuid"},

		{"other agent's key on start", POST, agentosapi.PathRunStart, keyB, JSON, start, 403, "belongs to another agent"},
		{"other agent's key on events", POST, agentosapi.PathEvents, keyB, JSON, events(open, `[{"type":"x"}]`), 403, "run " + open + " belongs to another agent"},
		{"other agent's key on complete", POST, agentosapi.PathRunComplete, keyB, JSON, complete(open), 403, "belongs to another agent"},
		{"other agent's key on fail", POST, agentosapi.PathRunFail, keyB, JSON, fail(open), 403, "belongs to another agent"},
		{"other agent's key on tasks", POST, agentosapi.PathTasks, keyB, JSON, task(open, okTask), 403, "belongs to another agent"},
		{"other agent's key on a closed run", POST, agentosapi.PathRunComplete, keyB, JSON, complete(closed), 403, "belongs to another agent"},

		{"unknown run on events", POST, agentosapi.PathEvents, keyA, JSON, events(noRun, `[{"type":"x"}]`), 404, "run " + noRun + " not found"},
		{"unknown run on complete", POST, agentosapi.PathRunComplete, keyA, JSON, complete(noRun), 404, "not found"},
		{"unknown run on fail", POST, agentosapi.PathRunFail, keyA, JSON, fail(noRun), 404, "not found"},
		{"unknown run on tasks", POST, agentosapi.PathTasks, keyA, JSON, task(noRun, okTask), 404, "not found"},

		{"events to a completed run", POST, agentosapi.PathEvents, keyA, JSON, events(closed, `[{"type":"x"}]`), 409, "run " + closed + " is already completed"},
		{"complete a completed run", POST, agentosapi.PathRunComplete, keyA, JSON, complete(closed), 409, "already completed"},
		{"fail a completed run", POST, agentosapi.PathRunFail, keyA, JSON, fail(closed), 409, "already completed"},
		{"task on a completed run", POST, agentosapi.PathTasks, keyA, JSON, task(closed, okTask), 409, "already completed"},
		{"complete a failed run", POST, agentosapi.PathRunComplete, keyA, JSON, complete(failed), 409, "already failed"},
		{"events to a failed run", POST, agentosapi.PathEvents, keyA, JSON, events(failed, `[{"type":"x"}]`), 409, "already failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			runs, stats := s.Runs(), s.Stats()
			res := do(t, hs, tc.method, tc.path, tc.key, tc.ctype, tc.body)
			if res.status != tc.status {
				t.Fatalf("status %d, want %d (%s)", res.status, tc.status, res.err.Message)
			}
			if !strings.Contains(res.err.Message, tc.msg) || res.err.Code == "" {
				t.Fatalf("error %+v does not say %q", res.err, tc.msg)
			}
			if tc.status == 405 && res.header.Get("Allow") != "POST" {
				t.Fatalf("405 with Allow %q", res.header.Get("Allow"))
			}
			if after := s.Runs(); !reflect.DeepEqual(after, runs) {
				t.Fatalf("a rejected request changed the runs:\n%+v\nto\n%+v", runs, after)
			}
			after := s.Stats()
			if after.Rejected != stats.Rejected+1 || after.Status[tc.status] != stats.Status[tc.status]+1 || after.Requests[tc.path] != stats.Requests[tc.path]+1 {
				t.Fatalf("stats went from %+v to %+v", stats, after)
			}
		})
	}
}

// TestAuthSpellings: HTTP lets the Bearer scheme take any case and be
// followed by several spaces, but the header must hold exactly one key.
func TestAuthSpellings(t *testing.T) {
	_, hs := newTestServer(t, Options{})
	for _, tc := range []struct {
		header string
		status int
	}{
		{"Bearer " + keyA, 200},
		{"bearer " + keyA, 200},
		{"BEARER " + keyA, 200},
		{"Basic " + keyA, 401},
		{"Bearer", 401},
		{keyA, 401},
		{"Bearer  " + keyA, 200},
		{"Bearer\t" + keyA, 401},
		{"Bearer " + keyA + " extra", 401},
		{"Bearer " + strings.ToUpper(keyA), 401},
	} {
		req, _ := http.NewRequest(http.MethodPost, hs.URL+agentosapi.PathRunStart, strings.NewReader(`{"agent_id":"`+agentA+`"}`))
		req.Header.Set("Authorization", tc.header)
		req.Header.Set("Content-Type", "application/json")
		res, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.status {
			t.Errorf("Authorization %q: %d, want %d", tc.header, res.StatusCode, tc.status)
		}
	}
}

// TestSnapshotsAreCopies: callers may scribble over what Runs and Stats
// return without touching the server's records.
func TestSnapshotsAreCopies(t *testing.T) {
	s, hs := newTestServer(t, Options{})
	id := startRun(t, hs, keyA, agentA)
	mustPost(t, hs, agentosapi.PathEvents, keyA, fmt.Sprintf(`{"run_id":%q,"events":[{"type":"x","payload":{"a":1}}]}`, id), nil)
	mustPost(t, hs, agentosapi.PathTasks, keyA, fmt.Sprintf(`{"run_id":%q,"task":{"id":%q,"name":"n","status":"running","input":{"b":2}}}`, id, taskID), nil)

	before, _ := s.Run(id)
	r := s.Runs()[0]
	r.Input[1] = 'X'
	r.Events[0].Payload[1] = 'X'
	r.Events[0].Type = "changed"
	r.Tasks[0].Input[1] = 'X'
	r.Tasks[0].Status = "changed"
	r.Status = "changed"
	st := s.Stats()
	st.Requests[agentosapi.PathEvents] = 99
	st.Status[200] = 99

	if after, _ := s.Run(id); !reflect.DeepEqual(after, before) {
		t.Fatalf("a snapshot shares memory with the server:\n%+v\n%+v", before, after)
	}
	if st := s.Stats(); st.Requests[agentosapi.PathEvents] != 1 || st.Status[200] != 3 {
		t.Fatalf("stats share memory: %+v", st)
	}
}

func TestReset(t *testing.T) {
	s, hs := newTestServer(t, Options{})
	startRun(t, hs, keyA, agentA)
	s.SetFaults(Faults{Latency: time.Millisecond})
	s.Reset()
	if runs, st := s.Runs(), s.Stats(); len(runs) != 0 || len(st.Requests) != 0 || len(st.Status) != 0 || st.Rejected != 0 {
		t.Fatalf("after Reset: %d runs, stats %+v", len(runs), st)
	}
	startRun(t, hs, keyB, agentB) // agents are kept
	if len(s.Runs()) != 1 {
		t.Fatal("no run after Reset")
	}
	if _, ok := s.Run(noRun); ok {
		t.Fatal("Run found a run that never started")
	}
}

// TestConcurrentClients runs many clients at once, each with its own run,
// against readers of snapshots; run it with -race.
func TestConcurrentClients(t *testing.T) {
	s, hs := newTestServer(t, Options{})
	const runs, batches, perBatch = 40, 10, 5
	var clients, readers sync.WaitGroup
	stop := make(chan struct{})
	readers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				for _, r := range s.Runs() {
					_ = len(r.Events)
				}
				_ = s.Stats()
			}
		}
	})
	ids := make(chan string, runs)
	for g := range runs {
		clients.Go(func() {
			key, agent := keyA, agentA
			if g%2 == 1 {
				key, agent = keyB, agentB
			}
			res, err := call(hs, http.MethodPost, agentosapi.PathRunStart, key, "application/json", `{"agent_id":"`+agent+`"}`)
			var d agentosapi.StartRunResponse
			if err != nil || res.status != 200 || json.Unmarshal(res.data, &d) != nil {
				t.Errorf("start: %v %+v", err, res)
				return
			}
			ids <- d.RunID
			for b := range batches {
				var evs []string
				for e := range perBatch {
					evs = append(evs, fmt.Sprintf(`{"type":"e","payload":{"n":%d}}`, b*perBatch+e))
				}
				body := fmt.Sprintf(`{"run_id":%q,"events":[%s]}`, d.RunID, strings.Join(evs, ","))
				if res, err := call(hs, http.MethodPost, agentosapi.PathEvents, key, "application/json", body); err != nil || res.status != 200 {
					t.Errorf("events: %v %+v", err, res)
					return
				}
			}
			path, body := agentosapi.PathRunComplete, fmt.Sprintf(`{"run_id":%q}`, d.RunID)
			if g%4 == 0 {
				path, body = agentosapi.PathRunFail, fmt.Sprintf(`{"run_id":%q,"error_message":"e"}`, d.RunID)
			}
			if res, err := call(hs, http.MethodPost, path, key, "application/json", body); err != nil || res.status != 200 {
				t.Errorf("close: %v %+v", err, res)
			}
		})
	}
	clients.Wait()
	close(stop)
	readers.Wait()
	close(ids)

	all := s.Runs()
	if len(all) != runs {
		t.Fatalf("%d runs, want %d", len(all), runs)
	}
	for id := range ids {
		r, ok := s.Run(id)
		if !ok || r.Status == StatusRunning || len(r.Events) != batches*perBatch {
			t.Fatalf("run %s: %q with %d events", id, r.Status, len(r.Events))
		}
		for i, e := range r.Events {
			var p struct{ N int }
			_ = json.Unmarshal(e.Payload, &p)
			if e.SequenceNumber != int64(i+1) || p.N != i {
				t.Fatalf("run %s event %d: sequence number %d, n %d", id, i, e.SequenceNumber, p.N)
			}
		}
	}
	if st := s.Stats(); st.Requests[agentosapi.PathEvents] != runs*batches || st.Status[200] != runs*(batches+2) || st.Rejected != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestClosedExactlyOnce: of many clients closing the same run at once,
// exactly one succeeds and the others hear 409.
func TestClosedExactlyOnce(t *testing.T) {
	s, hs := newTestServer(t, Options{})
	id := startRun(t, hs, keyA, agentA)
	const n = 30
	var wg sync.WaitGroup
	statuses := make(chan int, n)
	for i := range n {
		wg.Go(func() {
			path, body := agentosapi.PathRunComplete, fmt.Sprintf(`{"run_id":%q,"output":{"i":%d}}`, id, i)
			if i%2 == 1 {
				path, body = agentosapi.PathRunFail, fmt.Sprintf(`{"run_id":%q,"error_message":"%d"}`, id, i)
			}
			res, err := call(hs, http.MethodPost, path, keyA, "application/json", body)
			if err != nil {
				t.Error(err)
				return
			}
			statuses <- res.status
		})
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for st := range statuses {
		count[st]++
	}
	if count[200] != 1 || count[409] != n-1 {
		t.Fatalf("statuses %v, want one 200 and %d 409", count, n-1)
	}
	if r, _ := s.Run(id); r.Status == StatusRunning || r.EndedAt.IsZero() {
		t.Fatalf("run %+v", r)
	}
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		path, body, err string
	}{
		{agentosapi.PathRunStart, `{"agent_id":"` + agentA + `"}`, ""},
		{agentosapi.PathEvents, `{"run_id":"` + agentA + `","events":[{"type":"x","payload":{"Type":1,"type":2}}]}`, ""}, // payloads are free-form
		{agentosapi.PathEvents, `{"run_id":"` + agentA + `","events":[{"type":"x","extra":1}]}`, `"extra"`},
		{agentosapi.PathRunFail, `{"run_id":"` + agentA + `","Error_Message":"x"}`, `"Error_Message"`},
		{agentosapi.PathTasks, `{"run_id":"` + agentA + `","TASK":{"id":"` + taskID + `","name":"n","status":"running"}}`, `"TASK"`},
		{agentosapi.PathRunComplete, `{"run_id":"` + agentA + `","output":{},"output":{}}`, `"output" appears more than once`},
		{"/api/ingest/v1/other", `{}`, "no endpoint"},
	} {
		v, err := Decode(tc.path, []byte(tc.body))
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("Decode(%s): %v", tc.body, err)
		case tc.err == "" && v == nil:
			t.Errorf("Decode(%s) returned nothing", tc.body)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("Decode(%s) = %v, want an error with %q", tc.body, err, tc.err)
		}
	}
	v, _ := Decode(agentosapi.PathRunFail, []byte(`{"run_id":"`+agentA+`","error_message":"x"}`))
	if r, ok := v.(*agentosapi.FailRunRequest); !ok || r.ErrorMessage != "x" {
		t.Fatalf("Decode returned %#v", v)
	}
	_, err := Decode(agentosapi.PathRunStart, []byte(`{"agent_id":"x"}`))
	if !errors.Is(err, agentosapi.ErrInvalid) {
		t.Fatalf("a rule violation is not agentosapi.ErrInvalid: %v", err)
	}
}
