package main

import (
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	collectortracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpSink is the OTLP/HTTP endpoint of the otlphttp rows: it answers after
// the scenario's latency and counts distinct spans, so a retried batch is
// not counted twice.
type otlpSink struct {
	url string
	srv *http.Server

	mu      sync.Mutex
	latency time.Duration
	seen    map[[24]byte]struct{} // trace id and span id
	last    time.Time             // when the last batch was answered
}

func startSink() (*otlpSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the OTLP sink: %w", err)
	}
	s := &otlpSink{url: "http://" + ln.Addr().String(), seen: map[[24]byte]struct{}{}}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// reset forgets the spans seen and sets the latency of the next row.
func (s *otlpSink) reset(latency time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency, s.seen, s.last = latency, map[[24]byte]struct{}{}, time.Time{}
}

func (s *otlpSink) counts() (spans int, last time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen), s.last
}

func (s *otlpSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
	req := &collectortracepb.ExportTraceServiceRequest{}
	if err == nil {
		err = proto.Unmarshal(raw, req)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	latency := s.latency
	s.mu.Unlock()
	select {
	case <-time.After(latency):
	case <-r.Context().Done():
		return
	}
	s.record(req)
	out, _ := proto.Marshal(&collectortracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func (s *otlpSink) record(req *collectortracepb.ExportTraceServiceRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				s.seen[spanKey(sp.GetTraceId(), sp.GetSpanId())] = struct{}{}
			}
		}
	}
	s.last = time.Now()
}

// spanKey is the span's trace id (16 bytes) and span id (8 bytes).
func spanKey(traceID, spanID []byte) (k [24]byte) {
	copy(k[:16], traceID)
	copy(k[16:], spanID)
	return k
}

func (s *otlpSink) close() { _ = s.srv.Close() }
