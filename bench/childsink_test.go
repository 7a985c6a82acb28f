package bench

import (
	"bufio"
	"compress/gzip"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
)

// sinkModeEnv makes the test binary a sink process instead of running
// benchmarks: its CPU is then not charged to the process measured.
const sinkModeEnv = "AGENTOS_BENCH_SINK"

// waitPath answers once a child sink has received at least n (query
// parameter) closed runs (AgentOS) or spans (OTLP): the waiting happens in
// the sink's process, not in the one measured.
const waitPath = "/bench/wait"

func TestMain(m *testing.M) {
	if mode := os.Getenv(sinkModeEnv); mode != "" {
		serveSink(mode)
		return
	}
	os.Exit(m.Run())
}

// connsPath answers how many connections the sink's data port has
// accepted so far, eventsPath how many bytes of events requests it has
// read (AgentOS sinks), protosPath how many requests came over HTTP/1.x
// and over HTTP/2 ("h1 h2").
const (
	connsPath  = "/bench/conns"
	eventsPath = "/bench/events-bytes"
	protosPath = "/bench/protos"
)

// serveSink serves "agentos", "agentos-tls" (TLS, offering HTTP/2 and
// HTTP/1.1 by ALPN) or "otlp". It prints its data URL, control URL and,
// over TLS, its certificate (else "-"), then serves until stdin closes.
// The data port takes what the side measured sends and counts the
// connections it accepts; the control port answers waitPath, connsPath,
// eventsPath and protosPath, so that the harness's own requests are not
// counted.
func serveSink(mode string) {
	data, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	control, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var count, conns, eventBytes, h1, h2 atomic.Int64
	api := agentosHandler(&count, &eventBytes)
	if mode == "otlp" {
		api = otlpHandler(&count)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 {
			h2.Add(1)
		} else {
			h1.Add(1)
		}
		api.ServeHTTP(w, r)
	})
	ctl := http.NewServeMux()
	ctl.HandleFunc(waitPath, func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for count.Load() < n {
			time.Sleep(100 * time.Microsecond)
		}
		_, _ = io.WriteString(w, strconv.FormatInt(count.Load(), 10))
	})
	ctl.HandleFunc(connsPath, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, strconv.FormatInt(conns.Load(), 10))
	})
	ctl.HandleFunc(eventsPath, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, strconv.FormatInt(eventBytes.Load(), 10))
	})
	ctl.HandleFunc(protosPath, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = fmt.Fprintf(w, "%d %d", h1.Load(), h2.Load())
	})
	ts := httptest.NewUnstartedServer(h)
	ts.Listener.Close()
	ts.Listener = data
	ts.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	cert := "-"
	if mode == "agentos-tls" {
		ts.EnableHTTP2 = true
		ts.StartTLS()
		cert = base64.StdEncoding.EncodeToString(ts.Certificate().Raw)
	} else {
		ts.Start()
	}
	go func() { _ = http.Serve(control, ctl) }()
	fmt.Println(ts.URL, "http://"+control.Addr().String(), cert)
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// agentosHandler counts the runs it closed and the bytes of events
// requests it read.
func agentosHandler(closed, eventBytes *atomic.Int64) http.Handler {
	start := []byte(`{"data":{"run_id":"5b3d1f0e-8a2c-4e6b-9d7f-1a2b3c4d5e6f"},"error":null}`)
	ok := []byte(`{"data":{},"error":null}`)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case agentosapi.PathEvents:
			eventBytes.Add(n)
		case agentosapi.PathRunStart:
			_, _ = w.Write(start)
			return
		case agentosapi.PathRunComplete, agentosapi.PathRunFail:
			closed.Add(1)
		}
		_, _ = w.Write(ok)
	})
}

// otlpHandler decodes what it gets (gzip or not), so a span counted is a
// span that arrived whole.
func otlpHandler(spans *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
		spans.Add(int64(req.Traces().SpanCount()))
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	})
}

// childSink is a sink running in a process of its own: URL is where the
// side measured sends, control where the harness asks; roots trusts its
// certificate over TLS.
type childSink struct {
	URL     string
	control string
	client  *http.Client
	roots   *x509.CertPool
}

// startChildSink starts this test binary as a sink (see serveSink for the
// modes) and stops it at cleanup.
func startChildSink(tb testing.TB, mode string) *childSink {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), sinkModeEnv+"="+mode)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	f := strings.Fields(line)
	if err != nil || len(f) != 3 {
		tb.Fatalf("sink %s: %q, %v", mode, line, err)
	}
	s := &childSink{URL: f[0], control: f[1], client: &http.Client{}}
	if f[2] != "-" {
		der, err := base64.StdEncoding.DecodeString(f[2])
		if err != nil {
			tb.Fatal(err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			tb.Fatal(err)
		}
		s.roots = x509.NewCertPool()
		s.roots.AddCert(cert)
	}
	return s
}

// protos is how many requests came over HTTP/1.x and over HTTP/2.
func (s *childSink) protos(tb testing.TB) (h1, h2 int64) {
	if _, err := fmt.Sscan(s.get(tb, protosPath), &h1, &h2); err != nil {
		tb.Fatal(err)
	}
	return h1, h2
}

// waitFor returns once the sink has received at least n.
func (s *childSink) waitFor(tb testing.TB, n int64) {
	s.get(tb, waitPath+"?n="+strconv.FormatInt(n, 10))
}

// conns is how many connections the sink has accepted on its data port.
func (s *childSink) conns(tb testing.TB) int64 { return s.number(tb, connsPath) }

// eventBytes is how many bytes of events requests the sink has read.
func (s *childSink) eventBytes(tb testing.TB) int64 { return s.number(tb, eventsPath) }

func (s *childSink) number(tb testing.TB, path string) int64 {
	n, err := strconv.ParseInt(s.get(tb, path), 10, 64)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func (s *childSink) get(tb testing.TB, path string) string {
	resp, err := s.client.Get(s.control + path)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("sink %s: status %d", path, resp.StatusCode)
	}
	return string(body)
}
