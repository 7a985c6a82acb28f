package localserver

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
)

func TestInjections(t *testing.T) {
	tests := []struct {
		name   string
		inject func(s *Server)
		// dropped: the connection closes without an answer; otherwise a
		// 200 whose envelope carries error code "boom".
		dropped bool
		runs    int // runs the request left behind
	}{
		{"error envelope", func(s *Server) { s.ErrorEnvelopeNext(1, "boom", "it broke") }, false, 0},
		{"dropped unapplied", func(s *Server) { s.DropNext(1, false) }, true, 0},
		{"dropped after applying", func(s *Server) { s.DropNext(1, true) }, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, hs := newTestServer(t, Options{})
			tt.inject(s)
			s.FailNext(1, http.StatusBadGateway, "") // served only after the injection
			req, _ := http.NewRequest(http.MethodPost, hs.URL+agentosapi.PathRunStart, strings.NewReader(startA))
			req.Header.Set("Authorization", "Bearer "+keyA)
			req.Header.Set("Content-Type", "application/json")
			res, err := hs.Client().Do(req)
			switch {
			case tt.dropped && err == nil:
				res.Body.Close()
				t.Fatalf("answered %d, want the connection dropped", res.StatusCode)
			case !tt.dropped && err != nil:
				t.Fatal(err)
			case !tt.dropped:
				raw, _ := io.ReadAll(res.Body)
				res.Body.Close()
				var env struct {
					Data  json.RawMessage      `json:"data"`
					Error agentosapi.ErrorBody `json:"error"`
				}
				if err := json.Unmarshal(raw, &env); err != nil || res.StatusCode != 200 || string(env.Data) != "null" ||
					env.Error.Code != "boom" || env.Error.Message != "it broke" {
					t.Fatalf("answer %d %s", res.StatusCode, raw)
				}
			}
			if n := len(s.Runs()); n != tt.runs {
				t.Errorf("%d runs, want %d", n, tt.runs)
			}
			if got := post(t, hs, agentosapi.PathRunStart, keyA, startA).status; got != http.StatusBadGateway {
				t.Errorf("next request got %d, want FailNext's 502 after the injection", got)
			}
			if got := post(t, hs, agentosapi.PathRunStart, keyA, startA).status; got != http.StatusOK {
				t.Errorf("then %d, want 200", got)
			}
		})
	}
}
