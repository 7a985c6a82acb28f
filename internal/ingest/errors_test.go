package ingest

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	date := func(tm time.Time) string { return tm.Format(http.TimeFormat) }
	tests := []struct {
		name        string
		value, hdrD string
		want        time.Duration
	}{
		{"absent", "", "", 0},
		{"seconds", "1", "", time.Second},
		{"seconds with blanks", " 120 ", "", 2 * time.Minute},
		{"zero", "0", "", 0},
		{"fraction, leniently", "1.5", "", 1500 * time.Millisecond},
		{"negative", "-1", "", 0},
		{"exponent is not delay-seconds", "1e3", "", 0},
		{"word", "soon", "", 0},
		{"lone dot", ".", "", 0},
		{"absurd seconds are capped", "99999999999999", "", maxRetryAfter},
		{"HTTP-date from now", date(now.Add(3 * time.Second)), "", 3 * time.Second},
		{"HTTP-date from the answer's Date", date(now.Add(time.Hour + 2*time.Second)), date(now.Add(time.Hour)), 2 * time.Second},
		{"unreadable Date falls back to now", date(now.Add(2 * time.Second)), "yesterday", 2 * time.Second},
		{"RFC 850 date", now.Add(5 * time.Second).Format(time.RFC850), "", 5 * time.Second},
		{"ANSI C date", now.Add(5 * time.Second).Format(time.ANSIC), "", 5 * time.Second},
		{"past date", date(now.Add(-time.Minute)), "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseRetryAfter(tt.value, tt.hdrD, now); got != tt.want {
				t.Errorf("parseRetryAfter(%q, %q) = %s, want %s", tt.value, tt.hdrD, got, tt.want)
			}
		})
	}
}

func TestClassification(t *testing.T) {
	api := func(status int) error { return &APIError{Endpoint: agentosapi.PathEvents, StatusCode: status} }
	transport := func(err error) error {
		return &transportError{endpoint: agentosapi.PathEvents, err: err, retryable: transportRetryable(err)}
	}
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	reset := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	const (
		retryable = "retryable"
		permanent = "permanent"
		neither   = "neither"
	)
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"400", api(400), permanent},
		{"401", api(401), permanent},
		{"403", api(403), permanent},
		{"404", api(404), permanent},
		{"409", api(409), permanent},
		{"413", api(413), permanent},
		{"422", api(422), permanent},
		{"429", api(429), retryable},
		{"500", api(500), retryable},
		{"501", api(501), retryable},
		{"502", api(502), retryable},
		{"503", api(503), retryable},
		{"504", api(504), retryable},
		{"wrapped 503", fmt.Errorf("delivering: %w", api(503)), retryable},
		{"connection refused", transport(&urlErr{refused}), retryable},
		{"connection reset", transport(reset), retryable},
		{"EOF mid-answer", transport(io.ErrUnexpectedEOF), retryable},
		{"EOF", transport(io.EOF), retryable},
		{"client timeout", transport(timeoutErr{}), retryable},
		{"unknown certificate authority", transport(x509.UnknownAuthorityError{}), permanent},
		{"no such host", transport(&net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}), permanent},
		{"DNS timeout", transport(&net.DNSError{Err: "timeout", Name: "x", IsTimeout: true}), retryable},
		{"no key", fmt.Errorf("x: %w", ErrNoKey), permanent},
		{"invalid request", fmt.Errorf("x: %w", agentosapi.ErrInvalid), permanent},
		{"event too large", &EventError{Err: ErrEventTooLarge}, permanent},
		{"gave up", &gaveUpError{attempts: 3, last: api(503)}, retryable},
		{"caller cancelled", &canceledError{cause: context.Canceled, last: api(503)}, neither},
		{"events stopped by 503", &SendEventsError{Err: api(503)}, retryable},
		{"events stopped by 400", &SendEventsError{Err: api(400)}, permanent},
		{"events with rejects only", &SendEventsError{Rejected: []*EventError{{Err: ErrEventTooLarge}}}, permanent},
		{"events cancelled", &SendEventsError{Err: &canceledError{cause: context.Canceled}}, neither},
		{"plain error", errors.New("boom"), neither},
		{"nil", nil, neither},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := neither
			switch r, p := IsRetryable(tt.err), IsPermanent(tt.err); {
			case r && p:
				t.Fatal("both retryable and permanent")
			case r:
				got = retryable
			case p:
				got = permanent
			}
			if got != tt.want {
				t.Errorf("%v: got %s, want %s", tt.err, got, tt.want)
			}
		})
	}
}

type urlErr struct{ err error }

func (e *urlErr) Error() string { return "Post \"http://x\": " + e.err.Error() }
func (e *urlErr) Unwrap() error { return e.err }

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "timeout awaiting headers" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestRunClosedMatch(t *testing.T) {
	for _, tt := range []struct {
		endpoint string
		status   int
		want     bool
	}{
		{agentosapi.PathEvents, 409, true},
		{agentosapi.PathTasks, 409, true},
		{agentosapi.PathRunComplete, 409, true},
		{agentosapi.PathRunStart, 409, false},
		{agentosapi.PathEvents, 404, false},
	} {
		err := fmt.Errorf("wrapped: %w", &APIError{Endpoint: tt.endpoint, StatusCode: tt.status})
		if got := errors.Is(err, ErrRunClosed); got != tt.want {
			t.Errorf("%s %d: errors.Is(ErrRunClosed) = %t, want %t", tt.endpoint, tt.status, got, tt.want)
		}
	}
}

func TestAPIErrorMessage(t *testing.T) {
	e := &APIError{Endpoint: agentosapi.PathEvents, StatusCode: 429, Code: "rate_limited", Message: "slow down", RetryAfter: time.Second}
	want := "ingest: POST /api/ingest/v1/events: 429 Too Many Requests: slow down (code rate_limited) (retry after 1s)"
	if e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}
}

func TestOneLine(t *testing.T) {
	for _, tt := range []struct {
		in    string
		limit int
		want  string
	}{
		{"plain", 100, "plain"},
		{"  two\n\tlines \r\n", 100, "two lines"},
		{"bad \xff utf8", 100, "bad ? utf8"},
		{"abcdefghij", 4, "abcd…"},
		{strings.Repeat("é", 10), 9, strings.Repeat("é", 4) + "…"}, // never half a rune
	} {
		if got := oneLine(tt.in, tt.limit); got != tt.want {
			t.Errorf("oneLine(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
		}
	}
}

// successData reads an answer only when encoding/json reads the same
// envelope: a success whose data is what successData returns.
func FuzzSuccessData(f *testing.F) {
	for _, seed := range []string{
		`{"data":{"run_id":"5b3d1f0e-8a2c-4e6b-9d7f-1a2b3c4d5e6f"},"error":null}`,
		`{"data":{},"error":null}`, ` {"data":null,"error":null} `,
		`{"data":1,"error":{"m":1},"error":null}`, `{"data":{"error":null},"error":null}`,
		`{"data":{"a":1},"error":"x"}`, `{"data":{"a":1,"error":null}`, `{"data":,"error":null}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, answer string) {
		data, ok := successData([]byte(answer))
		if !ok {
			return
		}
		var env agentosapi.Envelope
		if err := json.Unmarshal([]byte(answer), &env); err != nil {
			t.Fatalf("successData read %q, encoding/json refuses it: %v", answer, err)
		}
		if env.Error != nil || !bytes.Equal(env.Data, data) {
			t.Fatalf("successData(%q) = %q, encoding/json reads data %q error %+v", answer, data, env.Data, env.Error)
		}
	})
}
