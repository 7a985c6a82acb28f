package bench

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// agentosSink answers the ingest API as cheaply as possible (see
// agentosHandler), in this process.
func agentosSink(tb testing.TB) string {
	return serve(tb, agentosHandler(new(atomic.Int64), new(atomic.Int64)))
}

// otlpSink accepts OTLP/HTTP and discards it.
func otlpSink(tb testing.TB) string {
	return serve(tb, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
}

// slowAgentosSink is agentosSink answering after latency; closed counts
// the runs it closed (run/complete and run/fail).
func slowAgentosSink(tb testing.TB, latency time.Duration, closed *atomic.Int64) string {
	return serve(tb, delayed(latency, agentosHandler(closed, new(atomic.Int64))))
}

// slowOTLPSink accepts OTLP/HTTP (gzip or not), answers after latency and
// counts the spans it answered for.
func slowOTLPSink(tb testing.TB, latency time.Duration, spans *atomic.Int64) string {
	return serve(tb, delayed(latency, otlpHandler(spans)))
}

// delayed answers after latency, as a server that far away would.
func delayed(latency time.Duration, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(latency)
		h.ServeHTTP(w, r)
	})
}

func serve(tb testing.TB, h http.Handler) string {
	tb.Helper()
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return srv.URL
}
