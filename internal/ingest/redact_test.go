package ingest

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/localserver"
)

// wsKey is a workspace key given by mistake; New warns about it.
const wsKey = "aos_ws_workspace-key-should-not-leak-42"

// TestKeysNeverShow formats the client, its configuration, every kind of
// error and every log line the client writes, and looks for the keys.
func TestKeysNeverShow(t *testing.T) {
	secrets := []string{testKey, keyB, wsKey}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	budget := RetryPolicy{Enabled: true, InitialInterval: 5 * time.Millisecond, MaxInterval: 10 * time.Millisecond,
		MaxElapsedTime: 150 * time.Millisecond}

	e := newEnv(t, envOpts{cfg: Config{Logger: logger, Retry: budget, DefaultKey: testKey,
		AgentKeys: map[string]string{agentB: keyB, "55555555-5555-4555-8555-555555555555": wsKey}}})
	cfg := Config{BaseURL: e.ts.URL, DefaultKey: testKey, AgentKeys: map[string]string{agentB: keyB, "w": wsKey},
		Logger: logger, Retry: budget}

	var errs []error
	collect := func(err error) {
		t.Helper()
		if err == nil {
			t.Fatal("expected an error")
		}
		errs = append(errs, err)
	}

	// Configuration errors.
	for _, bad := range []Config{
		{DefaultKey: testKey + " " + keyB},
		{AgentKeys: map[string]string{agentA: testKey + "\x00"}},
		{DefaultKey: testKey, BaseURL: "https://user:" + testKey + "@agentos-ai.dev"},
		{DefaultKey: testKey, BaseURL: "https://user:" + testKey + "@agentos-ai.dev/%zz"},
		{DefaultKey: testKey, BaseURL: "http://user:" + testKey + "@example.com"},
		{DefaultKey: testKey, BaseURL: "https://agentos-ai.dev?key=" + testKey},
		{DefaultKey: testKey, BaseURL: "https://" + testKey + "@agentos-ai.dev"},
		{DefaultKey: testKey, BaseURL: "https://" + testKey + "@agentos-ai.dev/api/ingest/v1"},
		{DefaultKey: testKey, BaseURL: testKey + "@127.0.0.1:8787"},
		{DefaultKey: testKey, BaseURL: "http://" + testKey + ":x@agentos.internal/?k=" + testKey},
	} {
		_, err := New(bad)
		collect(err)
		errs = append(errs, fmt.Errorf("%v", bad)) // a Config in a message
	}

	// Echoing servers: envelope, string envelope and raw text.
	for i, body := range []string{
		`{"data":null,"error":{"code":"bad_key_` + testKey + `","message":"key ` + testKey + ` is revoked"}}`,
		`{"data":null,"error":"key ` + testKey + ` is revoked"}`,
		"Authorization: Bearer " + testKey,
	} {
		echo := newEnv(t, envOpts{cfg: Config{Logger: logger, Retry: budget, DefaultKey: testKey},
			intercept: func(w http.ResponseWriter, r *http.Request, n int) bool {
				w.WriteHeader([]int{401, 503, 400}[i])
				_, _ = io.WriteString(w, body)
				return true
			}})
		_, err := echo.client.StartRun(ctx, &agentosapi.StartRunRequest{AgentID: agentA})
		collect(err)
	}

	c := e.client
	id := e.start(t)
	// Permanent and run-closed errors, a missing key, invalid requests.
	collect(c.SendEvents(ctx, agentA, unknownRun, []agentosapi.Event{{Type: "x"}}))
	collect(c.SendEvents(ctx, "no-such-agent-but-default", "x", []agentosapi.Event{{Type: "x"}}))
	_, err := c.StartRun(ctx, &agentosapi.StartRunRequest{AgentID: agentB}) // keyB is agentB's: fine
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.StartRun(ctx, &agentosapi.StartRunRequest{AgentID: "55555555-5555-4555-8555-555555555555"})
	collect(err) // 401: workspace key
	noDefault, err := New(Config{BaseURL: e.ts.URL, AgentKeys: map[string]string{agentA: testKey}, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	_, err = noDefault.StartRun(ctx, &agentosapi.StartRunRequest{AgentID: agentB})
	collect(err)
	// Oversized and invalid events.
	events := manyEvents(3, 10)
	events[1] = event(1, DefaultMaxBodyBytes)
	events[2].Level = "loud"
	collect(c.SendEvents(ctx, agentA, id, events))
	// Give-up after retries, a caller's cancellation, connection refused.
	e.srv.FailNext(100, 503, "")
	collect(c.SendEvents(ctx, agentA, id, []agentosapi.Event{{Type: "x"}}))
	e.srv.FailNext(1, 429, "60")
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	collect(c.PutTask(cctx, agentA, &agentosapi.TaskRequest{RunID: id, Task: agentosapi.Task{ID: unknownRun, Name: "n", Status: "running"}}))
	cancel()
	e.srv.Reset()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	refused, err := New(Config{BaseURL: "http://" + addr, DefaultKey: testKey, Retry: budget, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	collect(refused.CompleteRun(ctx, agentA, &agentosapi.CompleteRunRequest{RunID: id}))
	release := e.srv.Hang()
	hctx, hcancel := context.WithTimeout(ctx, 50*time.Millisecond)
	collect(c.FailRun(hctx, agentA, &agentosapi.FailRunRequest{RunID: id, ErrorMessage: "x"}))
	hcancel()
	release()

	// Fail-fast after the workspace key's 401, ambiguous failures (timeouts,
	// dropped connections, 500), 413 splitting and truncation, and an error
	// envelope that echoes the key.
	_, err = c.StartRun(ctx, &agentosapi.StartRunRequest{AgentID: "55555555-5555-4555-8555-555555555555"})
	collect(err)
	slow := newEnv(t, envOpts{serverMaxBody: 1500, cfg: Config{Logger: logger, Retry: budget, DefaultKey: testKey, Timeout: 10 * time.Millisecond}})
	slow.srv.SetFaults(localserver.Faults{Latency: 100 * time.Millisecond})
	_, err = slow.client.StartRun(ctx, &agentosapi.StartRunRequest{AgentID: agentA, ExternalRunID: "ext-1"})
	collect(err)
	slow.srv.SetFaults(localserver.Faults{})
	slowID := slow.start(t)
	slow.srv.DropNext(1, true)
	slow.srv.FailNext(1, 500, "")
	big := event(0, 4000)
	if err := slow.client.SendEvents(ctx, agentA, slowID, append(manyEvents(10, 100), big)); err != nil {
		t.Fatal(err)
	}
	slow.srv.DropNext(5, false)
	_, err = slow.client.StartRun(ctx, &agentosapi.StartRunRequest{AgentID: agentA})
	collect(err)
	slow.srv.ErrorEnvelopeNext(1, "key_"+testKey, "the key "+testKey+" is over its quota")
	collect(slow.client.SendEvents(ctx, agentA, slowID, manyEvents(1, 1)))
	if st := slow.client.Stats(); st.EventsTruncated != 1 || st.RunsMayExist != 2 || st.AmbiguousRetries == 0 {
		t.Errorf("stats = %+v: the failure paths were not all taken", st)
	}

	// Every form of every value.
	values := []any{c, cfg, &cfg, struct{ Ingest Config }{cfg}, []Config{cfg}, secret(testKey)}
	for _, err := range errs {
		values = append(values, err)
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"}
	for _, v := range values {
		for _, verb := range verbs {
			checkNoKey(t, fmt.Sprintf("%T formatted with %s", v, verb), fmt.Sprintf(verb, v), secrets)
		}
	}
	for _, err := range errs {
		checkNoKey(t, "Error()", err.Error(), secrets)
	}
	for _, v := range []any{cfg, secret(testKey)} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		checkNoKey(t, fmt.Sprintf("JSON of %T", v), string(b), secrets)
	}
	var structured bytes.Buffer
	jl := slog.New(slog.NewJSONHandler(&structured, nil))
	jl.Info("config", slog.Any("config", cfg), slog.Any("client", c), slog.Any("key", secret(testKey)))
	logger.Info("config", slog.Any("config", cfg), slog.Any("client", c))
	checkNoKey(t, "JSON log", structured.String(), secrets)
	checkNoKey(t, "text log", logs.String(), secrets)
	for _, want := range []string{"retrying", "workspace key", "too large", "AgentOS request", "outcome_unknown=true"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %q, so it proves little", want)
		}
	}
	if !strings.Contains(logs.String(), "retrying") || !strings.Contains(logs.String(), "workspace key") {
		t.Errorf("the log lacks retries or the workspace-key warning, so it proves little:\n%s", logs.String())
	}
}

func checkNoKey(t *testing.T, what, text string, secrets []string) {
	t.Helper()
	for _, key := range secrets {
		for _, form := range []string{key, hex.EncodeToString([]byte(key)), strings.ToUpper(hex.EncodeToString([]byte(key)))} {
			if strings.Contains(text, form) {
				t.Errorf("%s reveals a key: %s", what, text)
				return
			}
		}
	}
}
