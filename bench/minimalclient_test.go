package bench

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/ingest"
)

// minimalClient is the practical limit for the AgentOS API's shape: per
// run the same three requests ours sends (run/start, one events request,
// run/complete) with the same JSON, written by an append encoder into
// pooled buffers, over keep-alive connections, with as many runs in
// flight as ours. It checks only what any client must for AgentOS to
// accept its requests whatever the spans hold: a JSON document taken from
// an attribute (GenAI messages, tool arguments) is embedded only if it is
// valid, else quoted, with the validator ours uses, since one cut by an
// attribute length limit would get the whole request refused. It trusts
// the rest (no retries, no ordering across batches, no bounds): anything
// real costs at least this much.
type minimalClient struct {
	base, auth string
	client     *http.Client
	inFlight   chan struct{}
	bufs       sync.Pool
}

const minimalInFlight = 256 // ours' default delivery concurrency

func newMinimalClient(base string) *minimalClient {
	// The same transport settings as ours: bodies up to 32 KB in one write.
	tr := &http.Transport{MaxIdleConns: minimalInFlight, MaxIdleConnsPerHost: minimalInFlight, IdleConnTimeout: time.Minute,
		WriteBufferSize: 32 << 10}
	return &minimalClient{
		base: base, auth: "Bearer " + benchKey,
		client:   &http.Client{Transport: tr, Timeout: 30 * time.Second},
		inFlight: make(chan struct{}, minimalInFlight),
		bufs:     sync.Pool{New: func() any { return new([]byte) }},
	}
}

// sendRuns delivers whole runs (root last in each), one goroutine per run,
// and returns once every run is closed.
func (c *minimalClient) sendRuns(ss []sdktrace.ReadOnlySpan) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for lo := 0; lo < len(ss); {
		hi := lo + 1
		for hi < len(ss) && ss[hi].SpanContext().TraceID() == ss[lo].SpanContext().TraceID() {
			hi++
		}
		run := ss[lo:hi]
		lo = hi
		c.inFlight <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-c.inFlight; wg.Done() }()
			if err := c.sendRun(run); err != nil {
				mu.Lock()
				first = err
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

func (c *minimalClient) sendRun(run []sdktrace.ReadOnlySpan) error {
	root := run[len(run)-1]
	bp := c.bufs.Get().(*[]byte)
	defer c.bufs.Put(bp)
	buf := appendStart((*bp)[:0], root)
	runID, err := c.post(agentosapi.PathRunStart, buf, true)
	if err != nil {
		return err
	}
	// Every event first, then requests of at most maxEvents events and
	// maxBody bytes, as the API allows.
	events := c.bufs.Get().(*[]byte)
	defer c.bufs.Put(events)
	ev := eventList{buf: (*events)[:0], ends: make([]int, 0, 3*len(run))}
	var sum summary
	for _, s := range run[:len(run)-1] {
		appendEvents(&ev, s, &sum)
	}
	*events = ev.buf
	for first := 0; first < len(ev.ends); {
		buf = append(buf[:0], `{"run_id":`...)
		buf = appendJSONString(buf, runID)
		buf = append(buf, `,"events":[`...)
		last := first
		for last < len(ev.ends) && last-first < ingest.DefaultMaxBatchEvents {
			lo := 0
			if last > 0 {
				lo = ev.ends[last-1]
			}
			one := ev.buf[lo:ev.ends[last]]
			if last > first && len(buf)+1+len(one)+2 > ingest.DefaultMaxBodyBytes {
				break
			}
			if last > first {
				buf = append(buf, ',')
			}
			buf = append(buf, one...)
			last++
		}
		buf = append(buf, "]}"...)
		if _, err := c.post(agentosapi.PathEvents, buf, false); err != nil {
			return err
		}
		first = last
	}
	buf = append(buf[:0], `{"run_id":`...)
	buf = appendJSONString(buf, runID)
	buf = append(buf, `,"output":{"summary":{"ended_at":`...)
	buf = appendTime(buf, root.EndTime())
	buf = append(buf, `,"duration_ms":`...)
	buf = strconv.AppendInt(buf, root.EndTime().Sub(root.StartTime()).Milliseconds(), 10)
	buf = append(buf, `,"input_tokens":`...)
	buf = strconv.AppendInt(buf, sum.in, 10)
	buf = append(buf, `,"output_tokens":`...)
	buf = strconv.AppendInt(buf, sum.out, 10)
	buf = append(buf, `,"total_tokens":`...)
	buf = strconv.AppendInt(buf, sum.in+sum.out, 10)
	buf = append(buf, `,"llm_calls":`...)
	buf = strconv.AppendInt(buf, sum.llm, 10)
	buf = append(buf, `,"tool_calls":`...)
	buf = strconv.AppendInt(buf, sum.tools, 10)
	buf = append(buf, `,"failed_spans":0,"spans":`...)
	buf = strconv.AppendInt(buf, int64(len(run)), 10)
	buf = append(buf, "}}}"...)
	_, err = c.post(agentosapi.PathRunComplete, buf, false)
	*bp = buf
	return err
}

// post sends body; for run/start it returns the run id from the answer.
func (c *minimalClient) post(path string, body []byte, wantRunID bool) (string, error) {
	req, err := http.NewRequest(http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header["Content-Type"] = []string{"application/json"}
	req.Header["Authorization"] = []string{c.auth}
	resp, err := c.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return "", fmt.Errorf("%s: status %d", path, resp.StatusCode)
	}
	if !wantRunID {
		_, err = io.Copy(io.Discard, resp.Body)
		return "", err
	}
	var small [256]byte
	n, _ := io.ReadFull(resp.Body, small[:])
	raw := small[:n]
	const key = `"run_id":"`
	i := bytes.Index(raw, []byte(key))
	if i < 0 {
		return "", fmt.Errorf("run/start: no run id in %q", raw)
	}
	raw = raw[i+len(key):]
	end := bytes.IndexByte(raw, '"')
	if end < 0 {
		return "", fmt.Errorf("run/start: no run id in %q", raw)
	}
	return string(raw[:end]), nil
}

type summary struct{ in, out, llm, tools int64 }

func appendStart(buf []byte, root sdktrace.ReadOnlySpan) []byte {
	var tid [32]byte
	traceID := root.SpanContext().TraceID()
	hex.Encode(tid[:], traceID[:])
	buf = append(buf, `{"agent_id":"`+benchAgent+`","trigger_type":"sdk","input":{"name":`...)
	buf = appendJSONString(buf, root.Name())
	var attrs []attribute.KeyValue
	for _, kv := range root.Attributes() {
		if kv.Key == "gen_ai.input.messages" {
			buf = append(buf, `,"input_messages":`...)
			buf = appendDocument(buf, kv.Value.AsString())
			continue
		}
		attrs = append(attrs, kv)
	}
	buf = append(buf, `,"started_at":`...)
	buf = appendTime(buf, root.StartTime())
	buf = append(buf, `,"trace_id":"`...)
	buf = append(buf, tid[:]...)
	buf = append(buf, `","span_id":"`...)
	buf = hexAppend(buf, root.SpanContext().SpanID())
	buf = append(buf, `","attributes":{`...)
	buf = appendAttrs(buf, attrs)
	buf = append(buf, `}},"external_run_id":"`...)
	buf = append(buf, tid[:]...)
	return append(buf, `"}`...)
}

// appendEvents writes the events of one child span, as ours maps them:
// a chat is llm.request and llm.response, a tool call tool.called, its
// span events, then tool.returned.
func appendEvents(ev *eventList, s sdktrace.ReadOnlySpan, sum *summary) {
	buf := ev.buf
	defer func() { ev.buf = buf }()
	var op, model, respModel, provider, prompt, answer, tool, callID, args, result string
	var in, out int64
	var finish []string
	for _, kv := range s.Attributes() {
		switch kv.Key {
		case "gen_ai.operation.name":
			op = kv.Value.AsString()
		case "gen_ai.request.model":
			model = kv.Value.AsString()
		case "gen_ai.response.model":
			respModel = kv.Value.AsString()
		case "gen_ai.provider.name":
			provider = kv.Value.AsString()
		case "gen_ai.input.messages":
			prompt = kv.Value.AsString()
		case "gen_ai.output.messages":
			answer = kv.Value.AsString()
		case "gen_ai.tool.name":
			tool = kv.Value.AsString()
		case "gen_ai.tool.call.id":
			callID = kv.Value.AsString()
		case "gen_ai.tool.call.arguments":
			args = kv.Value.AsString()
		case "gen_ai.tool.call.result":
			result = kv.Value.AsString()
		case "gen_ai.usage.input_tokens":
			in = kv.Value.AsInt64()
		case "gen_ai.usage.output_tokens":
			out = kv.Value.AsInt64()
		case "gen_ai.response.finish_reasons":
			finish = kv.Value.AsStringSlice()
		}
	}
	dur := s.EndTime().Sub(s.StartTime()).Milliseconds()
	if op == "execute_tool" {
		sum.tools++
		buf = appendEventHead(buf, "tool.called", s)
		buf = append(buf, `,"tool":`...)
		buf = appendJSONString(buf, tool)
		buf = append(buf, `,"input":`...)
		buf = appendDocument(buf, args)
		buf = append(buf, `,"call_id":`...)
		buf = appendJSONString(buf, callID)
		buf = ev.end(appendEventTail(buf, s.StartTime()))
		for _, e := range s.Events() {
			buf = appendEventHead(buf, e.Name, s)
			buf = append(buf, ',')
			buf = appendAttrs(buf, e.Attributes)
			buf = ev.end(appendEventTail(buf, e.Time))
		}
		buf = appendEventHead(buf, "tool.returned", s)
		buf = append(buf, `,"tool":`...)
		buf = appendJSONString(buf, tool)
		buf = append(buf, `,"output":`...)
		buf = appendDocument(buf, result)
		buf = append(buf, `,"duration_ms":`...)
		buf = strconv.AppendInt(buf, dur, 10)
		buf = ev.end(appendEventTail(buf, s.EndTime()))
		return
	}
	sum.llm++
	sum.in += in
	sum.out += out
	buf = appendEventHead(buf, "llm.request", s)
	buf = append(buf, `,"model":`...)
	buf = appendJSONString(buf, model)
	buf = append(buf, `,"provider":`...)
	buf = appendJSONString(buf, provider)
	buf = append(buf, `,"prompt":`...)
	buf = appendDocument(buf, prompt)
	buf = ev.end(appendEventTail(buf, s.StartTime()))
	buf = appendEventHead(buf, "llm.response", s)
	buf = append(buf, `,"model":`...)
	buf = appendJSONString(buf, respModel)
	buf = append(buf, `,"response":`...)
	buf = appendDocument(buf, answer)
	buf = append(buf, `,"input_tokens":`...)
	buf = strconv.AppendInt(buf, in, 10)
	buf = append(buf, `,"output_tokens":`...)
	buf = strconv.AppendInt(buf, out, 10)
	buf = append(buf, `,"finish_reasons":[`...)
	for i, f := range finish {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendJSONString(buf, f)
	}
	buf = append(buf, `],"duration_ms":`...)
	buf = strconv.AppendInt(buf, dur, 10)
	buf = ev.end(appendEventTail(buf, s.EndTime()))
}

// eventList is encoded events back to back; ends[i] is where event i ends.
type eventList struct {
	buf  []byte
	ends []int
}

// end marks the end of an event written into buf (ev.buf grown).
func (ev *eventList) end(buf []byte) []byte {
	ev.ends = append(ev.ends, len(buf))
	return buf
}

func appendEventHead(buf []byte, typ string, s sdktrace.ReadOnlySpan) []byte {
	buf = append(buf, `{"type":`...)
	buf = appendJSONString(buf, typ)
	buf = append(buf, `,"level":"info","payload":{"span_id":"`...)
	buf = hexAppend(buf, s.SpanContext().SpanID())
	buf = append(buf, `","parent_span_id":"`...)
	buf = hexAppend(buf, s.Parent().SpanID())
	buf = append(buf, `","span_name":`...)
	return appendJSONString(buf, s.Name())
}

func appendEventTail(buf []byte, at time.Time) []byte {
	buf = append(buf, `},"occurred_at":`...)
	buf = appendTime(buf, at)
	return append(buf, '}')
}

func appendAttrs(buf []byte, kvs []attribute.KeyValue) []byte {
	for i, kv := range kvs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendJSONString(buf, string(kv.Key))
		buf = append(buf, ':')
		switch kv.Value.Type() {
		case attribute.INT64:
			buf = strconv.AppendInt(buf, kv.Value.AsInt64(), 10)
		default:
			buf = appendJSONString(buf, kv.Value.Emit())
		}
	}
	return buf
}

func appendTime(buf []byte, t time.Time) []byte {
	buf = append(buf, '"')
	buf = t.UTC().AppendFormat(buf, "2006-01-02T15:04:05.000000000Z07:00")
	return append(buf, '"')
}

func hexAppend[T ~[8]byte](buf []byte, id T) []byte {
	var h [16]byte
	hex.Encode(h[:], id[:])
	return append(buf, h[:]...)
}

// appendDocument embeds s, a JSON document from an attribute, as ours
// does: compacted when it is a valid object or array, else quoted.
func appendDocument(buf []byte, s string) []byte {
	if len(s) > 0 && (s[0] == '{' || s[0] == '[') {
		if out, ok := agentosapi.AppendCompactJSON(buf, s); ok {
			return out
		}
	}
	return appendJSONString(buf, s)
}

// appendJSONString quotes s as a JSON string.
func appendJSONString(buf []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		buf = append(buf, s[start:i]...)
		switch c {
		case '"', '\\':
			buf = append(buf, '\\', c)
		default:
			buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
