package ingest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
)

var (
	// ErrNoKey means neither AgentKeys nor DefaultKey holds a key for the
	// agent id of a call. It is permanent.
	ErrNoKey = errors.New("no agent key for this agent id")
	// ErrRunClosed means AgentOS answered 409: the run is already closed.
	// Errors from SendEvents and PutTask match it with errors.Is; the close
	// calls treat it as success.
	ErrRunClosed = errors.New("run already closed")
	// ErrEventTooLarge marks an event that alone exceeds MaxBodyBytes.
	ErrEventTooLarge = errors.New("event too large")
	// ErrUnauthorized means AgentOS answered 401: the key is unknown or
	// revoked. Every run sent with that key fails the same way.
	ErrUnauthorized = errors.New("API key is not valid")
	// ErrForbidden means AgentOS answered 403: the key belongs to another
	// agent than the run's agent_id.
	ErrForbidden = errors.New("API key belongs to another agent")
	// ErrRunMayExist means run/start gave up after an attempt whose outcome
	// is unknown: AgentOS may hold an open run this client never learned
	// the id of. A *RunMayExistError carries its external_run_id.
	ErrRunMayExist = errors.New("run may exist in AgentOS without its id being known")
)

// errClass is what a caller may do about an error.
type errClass int

const (
	classUnknown errClass = iota
	classRetryable
	classPermanent
)

// classified errors know their class; IsRetryable and IsPermanent ask the
// outermost one in a chain.
type classified interface {
	error
	class() errClass
}

func classOf(err error) errClass {
	var c classified
	if errors.As(err, &c) {
		return c.class()
	}
	if errors.Is(err, ErrNoKey) || errors.Is(err, ErrRunClosed) || errors.Is(err, ErrEventTooLarge) ||
		errors.Is(err, agentosapi.ErrInvalid) {
		return classPermanent
	}
	return classUnknown
}

// IsRetryable reports whether err comes from a transient failure: 429, a
// 5xx, a timeout or a dropped connection. The Client has already retried it
// for up to RetryPolicy.MaxElapsedTime; a caller with its own queue may try
// again later. A call ended by its caller's context is neither retryable
// nor permanent.
func IsRetryable(err error) bool { return classOf(err) == classRetryable }

// IsPermanent reports whether err cannot succeed by sending the same request
// again: a 4xx other than 429 (with the server's message), a missing key, an
// invalid request or an oversized event.
func IsPermanent(err error) bool { return classOf(err) == classPermanent }

// IsAmbiguous reports whether the request that failed with err may have
// taken effect in AgentOS anyway: an attempt timed out or lost its
// connection after the request was sent, or AgentOS answered a 5xx other
// than 503. A failure that provably had no effect (connection refused, 429,
// 503, another 4xx, a TLS handshake failure) is not ambiguous.
func IsAmbiguous(err error) bool {
	var a interface{ ambiguous() bool }
	return errors.As(err, &a) && a.ambiguous()
}

// APIError is an HTTP answer other than 2xx from AgentOS, or a 2xx whose
// envelope carries an error.
type APIError struct {
	// Endpoint is the path of the request, such as agentosapi.PathEvents.
	Endpoint string
	// AgentID is the agent whose key the request carried.
	AgentID    string
	StatusCode int
	// Code and Message come from the envelope's error, or Message from the
	// body when it was not an envelope.
	Code, Message string
	// RetryAfter is the wait the server asked for, zero when it did not.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ingest: POST %s: %d %s", e.Endpoint, e.StatusCode, http.StatusText(e.StatusCode))
	switch {
	case e.StatusCode >= 200 && e.StatusCode <= 299:
		b.WriteString(" with an error in the answer")
	case e.StatusCode == http.StatusUnauthorized:
		// Users see this one first after a typo; say where the key comes from.
		b.WriteString(": " + ErrUnauthorized.Error() + " (check AGENTOS_API_KEY / api_key, or the agent's entry in agent_keys)")
	case e.StatusCode == http.StatusForbidden:
		fmt.Fprintf(&b, ": %s than %s (check the key given for it: AGENTOS_API_KEY / api_key, or agent_keys)",
			ErrForbidden, e.agentName())
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, " (code %s)", e.Code)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

func (e *APIError) agentName() string {
	if e.AgentID == "" {
		return "the run's agent"
	}
	return e.AgentID
}

// Is makes a 409 on a run's endpoints match ErrRunClosed, a 401
// ErrUnauthorized and a 403 ErrForbidden.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrRunClosed:
		return e.StatusCode == http.StatusConflict && e.Endpoint != agentosapi.PathRunStart
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	}
	return false
}

func (e *APIError) class() errClass {
	if retryableStatus(e.StatusCode) {
		return classRetryable
	}
	return classPermanent
}

// ambiguous: a 5xx other than 503 may come after the request was applied;
// 503 and 4xx answers come before any processing.
func (e *APIError) ambiguous() bool {
	return e.StatusCode >= 500 && e.StatusCode <= 599 && e.StatusCode != http.StatusServiceUnavailable
}

// retryableStatus: 429 and every 5xx. The API documents no status codes,
// so any server-side failure is treated as one that may pass.
func retryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || (code >= 500 && code <= 599)
}

// transportError is a request that got no complete HTTP answer.
type transportError struct {
	endpoint  string
	err       error
	retryable bool
	// sent: the whole request was written before the failure, so AgentOS
	// may have applied it.
	sent bool
}

func (e *transportError) ambiguous() bool { return e.sent }

func (e *transportError) Error() string { return "ingest: POST " + e.endpoint + ": " + e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }
func (e *transportError) class() errClass {
	if e.retryable {
		return classRetryable
	}
	return classPermanent
}

// transportRetryable decides about an error from http.Client.Do or from
// reading a body. Connections refused or reset, timeouts and truncated
// answers pass with time, and so may anything unforeseen on the network;
// only failures that no retry can fix are permanent.
func transportRetryable(err error) bool {
	var (
		certErr      *tls.CertificateVerificationError
		unknownAuth  x509.UnknownAuthorityError
		hostnameErr  x509.HostnameError
		invalidCert  x509.CertificateInvalidError
		recordHeader tls.RecordHeaderError
		dnsErr       *net.DNSError
	)
	switch {
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostnameErr),
		errors.As(err, &invalidCert), errors.As(err, &recordHeader):
		return false
	case errors.As(err, &dnsErr):
		return !dnsErr.IsNotFound || dnsErr.IsTemporary || dnsErr.IsTimeout
	}
	return true
}

// canceledError ends a call whose caller's context ended. It is neither
// retryable nor permanent: the caller chose to stop.
type canceledError struct {
	endpoint string
	attempts int
	cause    error // the context's error
	last     error // the last attempt's error, if it ended on its own
	// anyAmbiguous: some attempt may have taken effect.
	anyAmbiguous bool
}

func (e *canceledError) ambiguous() bool { return e.anyAmbiguous }

func (e *canceledError) Error() string {
	s := fmt.Sprintf("ingest: POST %s: %v after %s", e.endpoint, e.cause, attempts(e.attempts))
	if e.last != nil {
		s += " (last error: " + e.last.Error() + ")"
	}
	return s
}

func (e *canceledError) Unwrap() []error {
	if e.last == nil {
		return []error{e.cause}
	}
	return []error{e.cause, e.last}
}

func (*canceledError) class() errClass { return classUnknown }

// gaveUpError ends a call that ran out of RetryPolicy.MaxElapsedTime.
type gaveUpError struct {
	attempts int
	elapsed  time.Duration
	// last is the last failure worth reporting: when the budget cut the
	// final attempt short (cut), the failure of the attempt before it,
	// which says more than "deadline exceeded".
	last error
	cut  bool
	// anyAmbiguous: some attempt may have taken effect.
	anyAmbiguous bool
}

func (e *gaveUpError) ambiguous() bool { return e.anyAmbiguous || IsAmbiguous(e.last) }

func (e *gaveUpError) Error() string {
	s := fmt.Sprintf("ingest: gave up after %s in %s", attempts(e.attempts), e.elapsed.Round(time.Millisecond))
	if e.cut {
		s += " (the last cut short by Retry.MaxElapsedTime)"
	}
	return s + ": " + e.last.Error()
}

func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return strconv.Itoa(n) + " attempts"
}

func (e *gaveUpError) Unwrap() error { return e.last }

// class is retryable: only transient failures are retried until the
// budget runs out.
func (*gaveUpError) class() errClass { return classRetryable }

// attemptTimeoutError is an attempt that got no answer within its
// per-attempt timeout.
type attemptTimeoutError struct {
	timeout time.Duration
}

func (e *attemptTimeoutError) Error() string {
	return "no answer within the attempt timeout of " + e.timeout.String()
}

// Timeout lets callers that test net.Error-style timeouts recognise it.
func (*attemptTimeoutError) Timeout() bool { return true }

// RunMayExistError ends a StartRun that gave up after an ambiguous
// attempt: AgentOS may have opened the run (and will show it running until
// someone closes it), but the client never learned its id. It matches
// ErrRunMayExist; retrying the start could open yet another run, so it is
// permanent.
type RunMayExistError struct {
	AgentID       string
	ExternalRunID string
	// Attempts is how many run/start requests were made, AmbiguousAttempts
	// how many of them may have opened a run.
	Attempts, AmbiguousAttempts int
	// Err is the last attempt's failure, or why the call stopped.
	Err error
}

func (e *RunMayExistError) Error() string {
	ext := "without external_run_id"
	if e.ExternalRunID != "" {
		ext = "with external_run_id " + strconv.Quote(e.ExternalRunID)
	}
	runs := "an open run"
	if e.AmbiguousAttempts > 1 {
		runs = "up to " + strconv.Itoa(e.AmbiguousAttempts) + " open runs"
	}
	return fmt.Sprintf("ingest: run/start gave up after %s, %d with an unknown outcome: %s (AgentOS may hold %s of agent %s %s): %v",
		attempts(e.Attempts), e.AmbiguousAttempts, ErrRunMayExist, runs, e.AgentID, ext, e.Err)
}

func (e *RunMayExistError) Unwrap() error        { return e.Err }
func (e *RunMayExistError) Is(target error) bool { return target == ErrRunMayExist }
func (*RunMayExistError) class() errClass        { return classPermanent }
func (*RunMayExistError) ambiguous() bool        { return true }

// EventError names one event SendEvents did not send, by its index in the
// caller's slice. The other events were sent.
type EventError struct {
	Index int
	Type  string
	Err   error
}

func (e *EventError) Error() string {
	return fmt.Sprintf("events[%d] (type %q): %v", e.Index, e.Type, e.Err)
}

func (e *EventError) Unwrap() error { return e.Err }
func (*EventError) class() errClass { return classPermanent }
func permanentf(format string, args ...any) error {
	return &permanentError{fmt.Errorf(format, args...)}
}

// permanentError marks an error no retry can fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }
func (*permanentError) class() errClass { return classPermanent }

// maxRetryAfter caps a server's Retry-After, which a call could never wait
// out anyway: MaxElapsedTime ends it first.
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter reads Retry-After: delay-seconds or an HTTP-date. A date
// is measured from the answer's Date header when there is one, which cancels
// any skew between the server's clock and ours, else from now. Absent,
// unreadable or past values give 0.
func parseRetryAfter(value, date string, now time.Time) time.Duration {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0
	}
	if isDecimal(value) {
		secs, err := strconv.ParseFloat(value, 64)
		if err != nil || secs <= 0 {
			return 0
		}
		if secs >= maxRetryAfter.Seconds() {
			return maxRetryAfter
		}
		return time.Duration(secs * float64(time.Second))
	}
	at, err := http.ParseTime(value)
	if err != nil {
		return 0
	}
	if d, err := http.ParseTime(date); err == nil {
		now = d
	}
	return min(max(at.Sub(now), 0), maxRetryAfter)
}

// isDecimal accepts delay-seconds ("120") and, leniently, a fraction
// ("1.5"), but not the signs, exponents and words ParseFloat also takes.
func isDecimal(s string) bool {
	dot := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
		case c == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return s != "."
}

// SendEventsError reports a SendEvents call that did not deliver every
// event. The events sent are the first Sent of those not rejected, in
// their order.
type SendEventsError struct {
	Total, Sent int
	// Err stopped the sending; nil when only Rejected went unsent.
	Err error
	// Rejected are the events left out as invalid or too large.
	Rejected []*EventError
}

// maxListedRejects keeps an error message short when many events fail.
const maxListedRejects = 3

func (e *SendEventsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ingest: sent %d of %d events", e.Sent, e.Total)
	if e.Err != nil {
		fmt.Fprintf(&b, "; stopped by: %v", e.Err)
	}
	if len(e.Rejected) > 0 {
		fmt.Fprintf(&b, "; left out %d: ", len(e.Rejected))
		for i, r := range e.Rejected[:min(len(e.Rejected), maxListedRejects)] {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(r.Error())
		}
		if more := len(e.Rejected) - maxListedRejects; more > 0 {
			fmt.Fprintf(&b, "; and %d more", more)
		}
	}
	return b.String()
}

func (e *SendEventsError) Unwrap() []error {
	errs := make([]error, 0, 1+len(e.Rejected))
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	for _, r := range e.Rejected {
		errs = append(errs, r)
	}
	return errs
}

// class is that of what stopped the sending; rejected events alone are
// permanent.
func (e *SendEventsError) class() errClass {
	if e.Err != nil {
		return classOf(e.Err)
	}
	return classPermanent
}
