package bench

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
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

// slowAgentosSink is agentosSink answering after latency; closed counts
// the runs it closed (run/complete and run/fail).
func slowAgentosSink(tb testing.TB, latency time.Duration, closed *atomic.Int64) string {
	tb.Helper()
	start := []byte(`{"data":{"run_id":"5b3d1f0e-8a2c-4e6b-9d7f-1a2b3c4d5e6f"},"error":null}`)
	ok := []byte(`{"data":{},"error":null}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		time.Sleep(latency)
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case agentosapi.PathRunStart:
			_, _ = w.Write(start)
			return
		case agentosapi.PathRunComplete, agentosapi.PathRunFail:
			closed.Add(1)
		}
		_, _ = w.Write(ok)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL
}

// slowOTLPSink accepts OTLP/HTTP (gzip or not), answers after latency and
// counts the spans it answered for.
func slowOTLPSink(tb testing.TB, latency time.Duration, spans *atomic.Int64) string {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		raw, err := io.ReadAll(body)
		req := ptraceotlp.NewExportRequest()
		if err == nil {
			err = req.UnmarshalProto(raw)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		time.Sleep(latency)
		spans.Add(int64(req.Traces().SpanCount()))
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL
}
