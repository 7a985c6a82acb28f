package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
)

// postJSON encodes req and posts it: with its own appender when it has one
// (run/start and the closes, sent for every run), else with encoding/json.
func (c *Client) postJSON(ctx context.Context, rc retryCall, agentID string, key secret, req, out any) (outcome, error) {
	buf := c.getBuf()
	if a, ok := req.(interface{ AppendJSON([]byte) []byte }); ok {
		buf.Write(a.AppendJSON(buf.AvailableBuffer()))
	} else {
		enc := json.NewEncoder(buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(req); err != nil {
			c.putBuf(buf)
			return outcome{}, fmt.Errorf("ingest: POST %s: %w: %w", rc.endpoint, agentosapi.ErrInvalid, err)
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
	}
	released, o, err := c.post(ctx, rc, agentID, key, buf.Bytes(), out)
	if released {
		c.putBuf(buf)
	}
	return o, err
}

// post sends body to rc.endpoint with key, retrying per policy, and decodes
// the answer's data into out unless out is nil. released reports whether
// the transport has closed every reader of body, so that it may be reused.
// A key refused moments ago for agentID fails at once, without a request.
func (c *Client) post(ctx context.Context, rc retryCall, agentID string, key secret, body []byte, out any) (released bool, o outcome, err error) {
	if refused, left := c.auth.check(key, agentID); refused != nil {
		c.stats.authFailFast.Add(1)
		return true, o, &refusedError{endpoint: rc.endpoint, err: refused, left: left}
	}
	b := &bodyReaders{data: body}
	o, err = c.retrying(ctx, rc, func(ctx context.Context) error {
		return c.once(ctx, rc.endpoint, agentID, key, b, out)
	})
	c.auth.note(key, agentID, err)
	return b.released(), o, err
}

// maxAnswerBytes bounds how much of an answer is read: answers are small
// envelopes, and an error page is only quoted in part.
const maxAnswerBytes = 64 << 10

// once makes one attempt.
func (c *Client) once(ctx context.Context, endpoint, agentID string, key secret, body *bodyReaders, out any) error {
	// Once the whole request is written, AgentOS may apply it whatever
	// happens to the answer: a failure from then on is ambiguous.
	var sent atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			sent.Store(info.Err == nil)
			body.wrote.Add(1)
		},
	})
	u, header := c.urls[endpoint], c.keyHeaders[key]
	if u == nil || header == nil {
		return &permanentError{fmt.Errorf("ingest: POST %s: no such endpoint or key", endpoint)}
	}
	if !c.shareHeaders {
		header = maps.Clone(header)
	}
	req := (&http.Request{
		Method: http.MethodPost, URL: u, Host: u.Host,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        header,
		Body:          body.reader(),
		GetBody:       func() (io.ReadCloser, error) { return body.reader(), nil },
		ContentLength: int64(len(body.data)),
	}).WithContext(ctx)
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return &transportError{endpoint: endpoint, err: attemptCause(ctx, err), retryable: transportRetryable(err), sent: sent.Load()}
	}
	answer := c.getBuf()
	defer c.putBuf(answer)
	_, err = answer.ReadFrom(io.LimitReader(resp.Body, maxAnswerBytes))
	// Drain a little more so the connection can be reused, then let go.
	_, _ = io.CopyN(io.Discard, resp.Body, 4*maxAnswerBytes)
	_ = resp.Body.Close()
	if err != nil {
		// A 2xx whose answer was cut may have been applied; so may a 5xx
		// other than 503. Other answers say the request had no effect.
		applied := resp.StatusCode < 300 || (&APIError{StatusCode: resp.StatusCode}).ambiguous()
		return &transportError{endpoint: endpoint, retryable: transportRetryable(err), sent: applied,
			err: fmt.Errorf("reading the %d answer: %w", resp.StatusCode, attemptCause(ctx, err))}
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "AgentOS request",
		slog.String("endpoint", endpoint), slog.Int("status", resp.StatusCode),
		slog.Int("request_bytes", len(body.data)), slog.Duration("duration", time.Since(start)))

	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		if data, ok := successData(answer.Bytes()); ok {
			if out == nil {
				return nil
			}
			if err := decodeData(data, out); err != nil {
				return permanentf("ingest: POST %s: %d answer has unreadable data: %v", endpoint, resp.StatusCode, err)
			}
			return nil
		}
		var env agentosapi.Envelope
		if err := json.Unmarshal(answer.Bytes(), &env); err != nil {
			if out == nil {
				return nil // nothing to read from it, and it said 2xx
			}
			return permanentf("ingest: POST %s: %d answer is not a JSON envelope: %v", endpoint, resp.StatusCode, err)
		}
		if env.Error != nil {
			// The envelope says it failed, whatever the status says.
			return newAPIError(endpoint, agentID, resp, answer.Bytes(), key, time.Now())
		}
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(env.Data, out); err != nil {
			return permanentf("ingest: POST %s: %d answer has unreadable data: %v", endpoint, resp.StatusCode, err)
		}
		return nil
	}
	return newAPIError(endpoint, agentID, resp, answer.Bytes(), key, time.Now())
}

// successData returns the data of an answer that is exactly
// {"data":<valid JSON>,"error":null}, as AgentOS writes a success, without
// reflection; any other answer is left to encoding/json.
func successData(answer []byte) ([]byte, bool) {
	const head, tail = `{"data":`, `,"error":null}`
	answer = bytes.TrimSpace(answer)
	if !bytes.HasPrefix(answer, []byte(head)) || !bytes.HasSuffix(answer, []byte(tail)) || len(answer) < len(head)+len(tail) {
		return nil, false
	}
	data := bytes.TrimSpace(answer[len(head) : len(answer)-len(tail)])
	return data, json.Valid(data)
}

// decodeData reads a success's data into out; run/start's answer, the one
// read on every run, is read without reflection when it has the usual form.
func decodeData(data []byte, out any) error {
	const head, tail = `{"run_id":"`, `"}`
	if r, ok := out.(*agentosapi.StartRunResponse); ok && len(data) == len(head)+36+len(tail) &&
		bytes.HasPrefix(data, []byte(head)) && bytes.HasSuffix(data, []byte(tail)) {
		if id := string(data[len(head) : len(head)+36]); agentosapi.IsUUID(id) {
			r.RunID = id
			return nil
		}
	}
	return json.Unmarshal(data, out)
}

// attemptCause replaces the bare "context deadline exceeded" of an attempt
// that ran out of its own time with the timeout it had.
func attemptCause(ctx context.Context, err error) error {
	var timeout *attemptTimeoutError
	if ctx.Err() != nil && errors.As(context.Cause(ctx), &timeout) {
		return fmt.Errorf("%w (%w)", timeout, ctx.Err())
	}
	return err
}

// newAPIError reads a failed answer: the envelope's error when there is
// one, else the start of the body as text, with the key scrubbed in case a
// server echoes it.
func newAPIError(endpoint, agentID string, resp *http.Response, body []byte, key secret, now time.Time) *APIError {
	e := &APIError{Endpoint: endpoint, AgentID: agentID, StatusCode: resp.StatusCode}
	var env agentosapi.Envelope
	if err := json.Unmarshal(body, &env); err == nil && env.Error != nil {
		e.Code, e.Message = env.Error.Code, env.Error.Message
	} else {
		e.Message = string(body)
	}
	if e.Message == "" && resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		if loc := resp.Header.Get("Location"); loc != "" {
			e.Message = "redirected to " + safeURL(loc) + " (redirects are not followed)"
		}
	}
	e.Code = oneLine(key.redactFrom(e.Code), 100)
	e.Message = oneLine(key.redactFrom(e.Message), 500)
	if retryableStatus(resp.StatusCode) {
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), resp.Header.Get("Date"), now)
	}
	return e
}

// oneLine makes server text fit an error message: valid UTF-8, no control
// characters or runs of blanks, at most limit bytes.
func oneLine(s string, limit int) string {
	s = strings.Join(strings.FieldsFunc(strings.ToValidUTF8(s, "?"), func(r rune) bool {
		return r == ' ' || r < ' ' || r == 0x7f
	}), " ")
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
