package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
)

const (
	agentA = "3b241101-e2bb-4255-8caf-4136c566a962"
	agentB = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
)

// serve runs the command on a free port and returns its base URL. It
// stops when the test ends, or when stop is called.
func serve(t *testing.T, args ...string) string {
	url, _ := serveStoppable(t, args...)
	return url
}

func serveStoppable(t *testing.T, args ...string) (url string, stop func()) {
	t.Helper()
	addrFile := filepath.Join(t.TempDir(), "addr")
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"-addr", "127.0.0.1:0", "-addr-file", addrFile}, args...), &stderr)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
			if strings.Contains(stderr.String(), "aos_agent") {
				t.Errorf("a key reached the log:\n%s", stderr.String())
			}
		})
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b, err := os.ReadFile(addrFile); err == nil {
			return "http://" + strings.TrimSpace(string(b)), stop
		}
		select {
		case err := <-done:
			t.Fatalf("run ended early: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no address written")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func post(t *testing.T, url, key string, body any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var env agentosapi.Envelope
	if err := json.NewDecoder(res.Body).Decode(&env); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d %+v", url, res.StatusCode, env.Error)
	}
	return env.Data
}

func get(t *testing.T, url string, v any) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func TestServesIngestAndSnapshot(t *testing.T) {
	file := filepath.Join(t.TempDir(), "agents")
	if err := os.WriteFile(file, []byte("# agents\n\n"+agentB+"=aos_agent_b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	url := serve(t, "-memory", "-agent", agentA+"=aos_agent_a", "-agents-file", file)

	for _, a := range []struct{ id, key string }{{agentA, "aos_agent_a"}, {agentB, "aos_agent_b"}} {
		var start agentosapi.StartRunResponse
		data := post(t, url+agentosapi.PathRunStart, a.key, agentosapi.StartRunRequest{AgentID: a.id, ExternalRunID: "trace-" + a.id[:4]})
		if err := json.Unmarshal(data, &start); err != nil {
			t.Fatal(err)
		}
		post(t, url+agentosapi.PathEvents, a.key, agentosapi.EventsRequest{RunID: start.RunID, Events: []agentosapi.Event{
			{Type: "step.started", Payload: json.RawMessage(`{"name":"a"}`)},
			{Type: "step.completed", Payload: json.RawMessage(`{"name":"a"}`)},
		}})
		post(t, url+agentosapi.PathRunComplete, a.key, agentosapi.CompleteRunRequest{RunID: start.RunID, Output: json.RawMessage(`{"ok":true}`)})
	}

	var snap runsJSON
	get(t, url+"/_local/runs", &snap)
	if len(snap.Runs) != 2 {
		t.Fatalf("%d runs, want 2", len(snap.Runs))
	}
	for i, want := range []string{agentA, agentB} {
		r := snap.Runs[i]
		if r.AgentID != want || r.Status != "completed" || r.EndedAt == nil || string(r.Output) != `{"ok":true}` {
			t.Errorf("run %d: %+v", i, r)
		}
		if len(r.Events) != 2 || r.Events[0].SequenceNumber != 1 || r.Events[1].Type != "step.completed" {
			t.Errorf("run %d events: %+v", i, r.Events)
		}
	}

	var st statsJSON
	get(t, url+"/_local/stats", &st)
	if st.Requests[agentosapi.PathEvents] != 2 || st.Rejected != 0 {
		t.Errorf("stats %+v", st)
	}
}

// syncBuffer is a bytes.Buffer the server's log may write to while the
// test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-agent", "not-a-uuid=aos_agent_x"},
		{"-agent", agentA},
		{"-agent", agentA + "="},
		{"-agents-file", filepath.Join(t.TempDir(), "missing")},
		{"-agent", agentA + "=k", "extra"},
		{"-agent", agentA + "=aos_agent_x", "-memory", "-db", filepath.Join(t.TempDir(), "runs.db")},
		{"-agent", agentA + "=aos_agent_x", "-db", t.TempDir()},
		// Malformed values that are, or hold, the key alone.
		{"-agent", "aos_agent_x"},
		{"-agent", "aos_agent_x="},
		{"-agent", "=aos_agent_x"},
		{"-agent", agentA + "=aos_agent_x extra"},
		// A key given twice: which agent it stands for would depend on
		// the order of the flags.
		{"-agent", agentA + "=aos_agent_x", "-agent", agentB + "=aos_agent_x"},
		{"-agent", agentA + "=aos_agent_x", "-agent", agentA + "=aos_agent_x"},
		{"-agent", agentA + "=aos_agent_x", "-agents-file", agentsFile(t, agentB+"=aos_agent_x")},
		{"-agents-file", agentsFile(t, "# ok", "aos_agent_x")},
		{"-agents-file", agentsFile(t, "not-a-uuid=aos_agent_x")},
		{"-agent", agentA + "=aos_agent_x", "-allow-host", "evil.example:80"},
	} {
		var stderr bytes.Buffer
		err := run(context.Background(), append([]string{"-addr", "127.0.0.1:0"}, args...), &stderr)
		if err == nil {
			t.Errorf("%q: no error", args)
			continue
		}
		if strings.Contains(err.Error(), "aos_agent_x") {
			t.Errorf("%q: the key is in the error %v", args, err)
		}
	}
}

func agentsFile(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "agents")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestOneKeyManyAgentsIsRefusedByName(t *testing.T) {
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-memory",
		"-agent", agentA + "=aos_agent_x", "-agent", agentB + "=aos_agent_x"}, &stderr)
	if err == nil || !strings.Contains(err.Error(), "-agent #2") || !strings.Contains(err.Error(), agentA) || strings.Contains(err.Error(), "aos_agent_x") {
		t.Errorf("error %v: want one naming the second flag and the first agent, without the key", err)
	}
}

// TestDamagedDatabase starts the server on a truncated database and on
// one with garbage pages: one line naming the file, and an error, not a
// panic.
func TestDamagedDatabase(t *testing.T) {
	db := filepath.Join(t.TempDir(), "runs.db")
	url, stop := serveStoppable(t, "-db", db, "-agent", agentA+"=aos_agent_a")
	for i := range 50 {
		startRun(t, url, "aos_agent_a", agentosapi.StartRunRequest{AgentID: agentA, ExternalRunID: fmt.Sprintf("run-%d", i),
			Input: json.RawMessage(fmt.Sprintf(`{"q":%q}`, strings.Repeat("x", 2000)))})
	}
	stop()
	good, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	garbage := append([]byte(nil), good...)
	for i := 8192; i < len(garbage); i++ {
		garbage[i] = byte(i * 7919 >> 3)
	}
	for name, data := range map[string][]byte{"truncated": good[:len(good)/3], "garbage pages": garbage} {
		t.Run(name, func(t *testing.T) {
			damaged := filepath.Join(t.TempDir(), "damaged.db")
			if err := os.WriteFile(damaged, data, 0o600); err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-db", damaged, "-agent", agentA + "=aos_agent_a"}, &stderr)
			if err == nil {
				t.Fatal("served a damaged database")
			}
			if msg := err.Error(); !strings.Contains(msg, damaged) || !strings.Contains(msg, "damaged") || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line naming the file", msg)
			}
		})
	}
}
