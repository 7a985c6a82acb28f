package bench

import (
	"bufio"
	"context"
	"crypto/tls"
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

	"github.com/agentos-ai/agentos-otel/sdkbridge"
)

// tlsSinkEnv makes the test binary an AgentOS sink over TLS, offering
// HTTP/2 and HTTP/1.1 by ALPN, instead of running benchmarks. It is read
// in init, before TestMain, so that this file needs nothing of the other
// sinks' plumbing.
const tlsSinkEnv = "AGENTOS_BENCH_TLS_SINK"

func init() {
	if os.Getenv(tlsSinkEnv) != "" {
		serveTLSSink()
		os.Exit(0)
	}
}

// serveTLSSink serves AgentOS over TLS, and on a plain control listener
// /wait?n= (closed runs), /conns (connections accepted) and /protos
// (requests by HTTP major version). It prints both URLs and its
// certificate, then serves until stdin closes.
func serveTLSSink() {
	var closed, conns, h1, h2 atomic.Int64
	api := agentosHandler(&closed)
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 {
			h2.Add(1)
		} else {
			h1.Add(1)
		}
		api.ServeHTTP(w, r)
	}))
	ts.EnableHTTP2 = true
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	ts.StartTLS()
	control := http.NewServeMux()
	control.HandleFunc("/wait", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
		for closed.Load() < n {
			time.Sleep(100 * time.Microsecond)
		}
	})
	control.HandleFunc("/conns", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, conns.Load()) })
	control.HandleFunc("/protos", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintf(w, "%d %d", h1.Load(), h2.Load()) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go func() { _ = http.Serve(ln, control) }()
	fmt.Println(ts.URL, "http://"+ln.Addr().String(), base64.StdEncoding.EncodeToString(ts.Certificate().Raw))
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// tlsSink is a TLS sink in a process of its own.
type tlsSink struct {
	URL, control string
	roots        *x509.CertPool
}

func startTLSSink(b *testing.B) *tlsSink {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), tlsSinkEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	f := strings.Fields(line)
	if err != nil || len(f) != 3 {
		b.Fatalf("TLS sink: %q, %v", line, err)
	}
	der, err := base64.StdEncoding.DecodeString(f[2])
	if err != nil {
		b.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		b.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	return &tlsSink{URL: f[0], control: f[1], roots: roots}
}

func (s *tlsSink) get(b *testing.B, path string) string {
	resp, err := http.Get(s.control + path)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	return string(body)
}

// protoClient is the SDK bridge's default client (internal/ingest) with
// its protocol pinned: HTTP/1.1 with one kept connection per run in
// flight, or HTTP/2 (multiplexed) wherever the server offers it by ALPN.
func protoClient(proto string, roots *x509.CertPool) *http.Client {
	const conns = 256 // delivery.DefaultConcurrency
	var p http.Protocols
	if proto == "h2" {
		p.SetHTTP2(true)
	} else {
		p.SetHTTP1(true)
	}
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:       &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		Protocols:             &p,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxConnsPerHost:       conns,
		MaxIdleConns:          conns,
		MaxIdleConnsPerHost:   conns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		WriteBufferSize:       32 << 10,
	}}
}

// BenchmarkConnsHTTP1VsHTTP2 is the SDK exporter against AgentOS over
// TLS, its client speaking HTTP/1.1 (one connection per run in flight,
// each a handshake once) or HTTP/2 (requests multiplexed over one
// connection), in alternating rounds of 512 spans whose runs are all
// delivered at once (64 runs of 8, or 10 of 50). It reports process CPU
// and wall time per span for each, and the connections each sink
// accepted per 1,000 runs (the first round's included); the sinks run in
// processes of their own and check the protocol each request came in.
func BenchmarkConnsHTTP1VsHTTP2(b *testing.B) {
	ctx := context.Background()
	for _, spansPerRun := range []int{8, 50} {
		b.Run(fmt.Sprintf("spans=%d", spansPerRun), func(b *testing.B) {
			sh := shape{spansPerRun, 100}
			runs := runsPerRound(spansPerRun)
			sinks := map[string]*tlsSink{"h1": startTLSSink(b), "h2": startTLSSink(b)}
			var sides []side
			rounds := map[string]*int{}
			for _, proto := range []string{"h1", "h2"} {
				s := sinks[proto]
				exp, err := sdkbridge.NewExporter(ctx, append(bridgeOpts(s.URL), sdkbridge.WithHTTPClient(protoClient(proto, s.roots)))...)
				if err != nil {
					b.Fatal(err)
				}
				defer exp.Shutdown(ctx)
				n := new(int)
				rounds[proto] = n
				round := exportRound(b, exp)
				sides = append(sides, side{proto, func(i int) any { return runStubs(uint64(i), runs, sh, true).Snapshots() },
					func(in any) int { *n++; return round(in) }})
			}
			interleave(b, sides...)
			for _, proto := range []string{"h1", "h2"} {
				s := sinks[proto]
				total := *rounds[proto] * runs
				s.get(b, "/wait?n="+strconv.Itoa(total))
				var h1, h2 int
				if _, err := fmt.Sscan(s.get(b, "/protos"), &h1, &h2); err != nil {
					b.Fatal(err)
				}
				if (proto == "h2") != (h1 == 0) {
					b.Fatalf("the %s sink answered %d HTTP/1.1 and %d HTTP/2 requests", proto, h1, h2)
				}
				conns, err := strconv.Atoi(s.get(b, "/conns"))
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(conns)*1000/float64(max(total, 1)), proto+"-conns/1000runs")
			}
		})
	}
}
