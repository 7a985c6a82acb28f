package bench

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// agentosSink answers the ingest API as cheaply as possible: bodies are
// discarded, run/start always returns the same run id.
func agentosSink(tb testing.TB) string {
	tb.Helper()
	start := []byte(`{"data":{"run_id":"5b3d1f0e-8a2c-4e6b-9d7f-1a2b3c4d5e6f"},"error":null}`)
	ok := []byte(`{"data":{},"error":null}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/run/start") {
			_, _ = w.Write(start)
			return
		}
		_, _ = w.Write(ok)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL
}

// otlpSink accepts OTLP/HTTP and discards it.
func otlpSink(tb testing.TB) string {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL
}
