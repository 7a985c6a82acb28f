package bench

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/sdkbridge"
)

// recordBodies serves the ingest API and keeps every request body by path.
func recordBodies(t *testing.T) (url string, bodies func() map[string][]string) {
	t.Helper()
	var mu sync.Mutex
	got := map[string][]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		mu.Lock()
		got[r.URL.Path] = append(got[r.URL.Path], string(raw))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == agentosapi.PathRunStart {
			_, _ = io.WriteString(w, `{"data":{"run_id":"5b3d1f0e-8a2c-4e6b-9d7f-1a2b3c4d5e6f"},"error":null}`)
			return
		}
		_, _ = io.WriteString(w, `{"data":{},"error":null}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() map[string][]string {
		mu.Lock()
		defer mu.Unlock()
		return got
	}
}

// The limit is only a limit if it does the same work: the minimal client
// must send the requests ours sends, with the same JSON, also when a span
// holds a JSON document cut short (as an attribute length limit cuts them).
func TestMinimalClientSendsWhatOursSends(t *testing.T) {
	for _, sc := range shapes {
		t.Run(sc.name, func(t *testing.T) {
			sameRequests(t, runStubs(0, 1, sc.sh, true).Snapshots())
		})
	}
	t.Run("cut-documents", func(t *testing.T) {
		stubs := runStubs(0, 1, shape{8, 100}, true)
		for i := range stubs {
			for j, kv := range stubs[i].Attributes {
				if v := kv.Value.AsString(); kv.Value.Type() == attribute.STRING && strings.HasPrefix(v, "[") {
					stubs[i].Attributes[j] = attribute.String(string(kv.Key), v[:len(v)/2])
				}
			}
		}
		sameRequests(t, stubs.Snapshots())
	})
}

// sameRequests exports ss through ours and the minimal client and compares
// every request they send.
func sameRequests(t *testing.T, ss []sdktrace.ReadOnlySpan) {
	t.Helper()
	ctx := context.Background()
	oursURL, ours := recordBodies(t)
	exp, err := sdkbridge.NewExporter(ctx, bridgeOpts(oursURL)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.ExportSpans(ctx, ss); err != nil {
		t.Fatal(err)
	}
	if err := exp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	limitURL, limit := recordBodies(t)
	if err := newMinimalClient(limitURL).sendRuns(ss); err != nil {
		t.Fatal(err)
	}
	want, got := ours(), limit()
	if len(got) != len(want) {
		t.Fatalf("paths: minimal client %d, ours %d", len(got), len(want))
	}
	for path, bodies := range want {
		if len(got[path]) != len(bodies) {
			t.Fatalf("%s: minimal client sent %d requests, ours %d", path, len(got[path]), len(bodies))
		}
		for i := range bodies {
			if !sameJSON(t, got[path][i], bodies[i]) {
				t.Errorf("%s request %d differs:\nminimal %s\nours    %s", path, i, clip(got[path][i]), clip(bodies[i]))
			}
		}
	}
}

func sameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		t.Fatalf("minimal client sent invalid JSON: %v", err)
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

func clip(s string) string {
	if len(s) > 3000 {
		return s[:3000] + "…"
	}
	return strings.TrimSpace(s)
}
