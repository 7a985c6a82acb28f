package mapping

import (
	"bytes"
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// Summary accumulates what a run's output reports about its spans.
type Summary struct {
	Spans        int
	LLMCalls     int
	ToolCalls    int
	FailedSpans  int
	InputTokens  int64
	OutputTokens int64
	// First and Last bound the times seen, for runs whose root never came.
	First, Last time.Time
}

// Add counts one span of the run (the root included).
func (sum *Summary) Add(s *spans.Span) {
	sum.Spans++
	switch Classify(s) {
	case TypeLLM:
		sum.LLMCalls++
		if n, ok := inputTokens(s); ok {
			sum.InputTokens += n
		}
		if n, ok := outputTokens(s); ok {
			sum.OutputTokens += n
		}
	case TypeTool:
		sum.ToolCalls++
	}
	if s.StatusCode == spans.StatusError {
		sum.FailedSpans++
	}
	if sum.First.IsZero() || s.StartTime.Before(sum.First) {
		sum.First = s.StartTime
	}
	if s.EndTime.After(sum.Last) {
		sum.Last = s.EndTime
	}
}

func (m *Mapper) appendSummary(o *obj, sum *Summary, end time.Time, start time.Time) {
	o.key("summary")
	in := m.newObj(o.buf)
	if !end.IsZero() {
		in.time("ended_at", end)
		in.float("duration_ms", float64(end.Sub(start).Nanoseconds())/1e6)
	}
	in.int("input_tokens", sum.InputTokens)
	in.int("output_tokens", sum.OutputTokens)
	in.int("total_tokens", sum.InputTokens+sum.OutputTokens)
	in.int("llm_calls", int64(sum.LLMCalls))
	in.int("tool_calls", int64(sum.ToolCalls))
	in.int("failed_spans", int64(sum.FailedSpans))
	in.int("spans", int64(sum.Spans))
	o.buf = in.close()
}

// Other conventions' run input and output, when GenAI messages are absent.
var (
	rootInputKeys  = []string{"input.value", "ai.prompt", keyTraceloopEntityInput}
	rootOutputKeys = []string{"output.value", "ai.response.text", "ai.response.object", keyPydanticFinalResult, keyTraceloopEntityOut}
	// OpenLLMetry's decorators wrap the arguments ({"args":[…],"kwargs":{…}}).
	rootInputSources  = keys("input.value", "ai.prompt").then(traceloopEntity(keyTraceloopEntityInput, false))
	rootOutputSources = keys("output.value", "ai.response.text", "ai.response.object", keyPydanticFinalResult).
				then(traceloopEntity(keyTraceloopEntityOut, true))
	// rootLateInputSources give input_messages only an ended root has:
	// Pydantic AI's conversation, then the span events.
	rootLateInputSources = append(sources{pydanticPrompt()}, promptEventSources...)
)

// hasRootInput reports whether the root's attributes give its input.
func (m *Mapper) hasRootInput(root *spans.Span) bool {
	_, _, ok := firstAttr(root, append([]string{keyInputMessages}, rootInputKeys...)...)
	return ok
}

// consumedRootKeys are the root attributes the run input and output carry
// in fields of their own, so its attributes object does not repeat them.
func consumedRootKeys(k string) bool {
	switch k {
	case keyInputMessages, keySystemInstructions, keyOutputMessages,
		"input.value", "output.value", "ai.prompt", "ai.response.text",
		keyPydanticFinalResult, keyPydanticAllMessages, keyTraceloopEntityInput, keyTraceloopEntityOut,
		keyAgentID, keyTriggerType, keyExternalRunID, keyRunInput, keyRunOutput:
		return true
	}
	return false
}

// StartRequest is run/start for a run root. AgentID may be empty: the caller
// decides what a run without an agent means.
func (m *Mapper) StartRequest(root *spans.Span) agentosapi.StartRunRequest {
	req := agentosapi.StartRunRequest{
		AgentID:       m.AgentID(root),
		TriggerType:   m.opts.DefaultTrigger,
		ExternalRunID: root.TraceID.String(),
	}
	if t := firstString(root, keyTriggerType); agentosapi.ValidTrigger(t) {
		req.TriggerType = t
	}
	if id := firstString(root, keyExternalRunID); id != "" {
		req.ExternalRunID = truncate(id, m.maxStringLen)
	}
	if in, ok := m.objectAttr(root, keyRunInput); ok {
		req.Input = in
		return req
	}
	// The obj lives in a pooled scratch: extractors take its address,
	// which would move a local one to the heap (2 allocations a run in
	// BenchmarkTrackerMapping).
	sc := getScratch()
	defer putScratch(sc)
	sc.o = m.newObj(make([]byte, 0, 512))
	o := &sc.o
	o.str("name", root.Name)
	if !o.field(root, "input_messages", []string{keyInputMessages}) && !o.from(root, "input", rootInputSources) {
		o.from(root, "input_messages", rootLateInputSources)
	}
	o.from(root, "system_instructions", systemInstructionSources)
	o.time("started_at", root.StartTime)
	o.id("trace_id", root.TraceID[:])
	o.id("span_id", root.SpanID[:])
	if root.ParentRemote && root.HasParent() {
		o.id("remote_parent_span_id", root.ParentSpanID[:])
	}
	o.attrs("attributes", root.Attrs, consumedRootKeys)
	req.Input = exact(o.close())
	sc.o = obj{}
	return req
}

// exact returns b in memory of its size when the buffer it was written in
// is more than twice as large: a long value grows it before being cut, and
// the memory bound counts what is sent.
func exact(b []byte) []byte {
	if cap(b) > 2*len(b) {
		return bytes.Clone(b)
	}
	return b
}

// OrphanStartRequest is run/start for a run whose root has not arrived:
// first is the earliest span known of it.
func (m *Mapper) OrphanStartRequest(first *spans.Span, reason string) agentosapi.StartRunRequest {
	req := agentosapi.StartRunRequest{
		AgentID:       m.AgentID(first),
		TriggerType:   m.opts.DefaultTrigger,
		ExternalRunID: first.TraceID.String(),
	}
	o := m.newObj(make([]byte, 0, 256))
	o.str("name", first.Name)
	o.bool("root_missing", true)
	o.str("reason", reason)
	o.time("started_at", first.StartTime)
	o.id("trace_id", first.TraceID[:])
	req.Input = o.close()
	return req
}

// objectAttr returns a string attribute holding a JSON object, redaction
// permitting.
func (m *Mapper) objectAttr(s *spans.Span, key string) (json.RawMessage, bool) {
	if m.redact(key) != redactNone {
		return nil, false
	}
	str := firstString(s, key)
	if str == "" || len(str) > m.maxStringLen || !looksLikeJSON(str) {
		return nil, false
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal([]byte(str), &probe); err != nil {
		return nil, false
	}
	out, err := json.Marshal(probe) // re-encoded: valid UTF-8, no duplicate keys
	if err != nil {
		return nil, false
	}
	if m.redacting() {
		out = m.appendRedactedJSON(nil, out)
	}
	return out, true
}

// Close is how a run ends: Fail set means run/fail.
type Close struct {
	Fail         bool
	Output       json.RawMessage
	ErrorMessage string
	ErrorDetail  json.RawMessage
}

// CloseRequest closes a run from its root span and the summary of its spans.
func (m *Mapper) CloseRequest(root *spans.Span, sum *Summary) Close {
	return m.closeRequest(root, sum, false)
}

// LiveCloseRequest is CloseRequest for a run whose run/start was sent when
// its root started, before the root had span events: the prompt those
// events carry goes into the output, as the input could not hold it.
func (m *Mapper) LiveCloseRequest(root *spans.Span, sum *Summary) Close {
	return m.closeRequest(root, sum, true)
}

func (m *Mapper) closeRequest(root *spans.Span, sum *Summary, live bool) Close {
	if root.StatusCode == spans.StatusError {
		exc := lastException(root)
		o := m.newObj(make([]byte, 0, 512))
		if t := stringAttr(exc, keyExceptionType); t != "" {
			o.str("exception.type", t)
		}
		if st := stringAttr(exc, keyExceptionStacktrace); st != "" && m.redact(keyExceptionStacktrace) == redactNone {
			o.str("exception.stacktrace", st)
		}
		if et := firstString(root, keyErrorType); et != "" {
			o.str("error.type", et)
		}
		o.id("trace_id", root.TraceID[:])
		o.id("span_id", root.SpanID[:])
		m.appendSummary(&o, sum, root.EndTime, root.StartTime)
		return Close{Fail: true, ErrorMessage: truncate(errorText(root), m.maxStringLen), ErrorDetail: o.close()}
	}
	if out, ok := m.objectAttr(root, keyRunOutput); ok {
		return Close{Output: m.withSummary(out, sum, root)}
	}
	sc := getScratch() // as in StartRequest
	defer putScratch(sc)
	sc.o = m.newObj(make([]byte, 0, 512))
	o := &sc.o
	if !o.field(root, "output_messages", []string{"gen_ai.output.messages"}) && !o.from(root, "output", rootOutputSources) {
		o.from(root, "output_messages", responseEventSources)
	}
	if live && hasContentEvents(root) || live && firstString(root, keyPydanticAllMessages) != "" {
		if !m.hasRootInput(root) {
			o.from(root, "input_messages", rootLateInputSources)
		}
		m.fromEventsOnly(o, root, "system_instructions", systemInstructionSources, systemInstructionEventSources)
	}
	m.appendSummary(o, sum, root.EndTime, root.StartTime)
	out := exact(o.close())
	sc.o = obj{}
	return Close{Output: out}
}

// withSummary adds the summary to a user-given output object unless it
// already has one.
func (m *Mapper) withSummary(out json.RawMessage, sum *Summary, root *spans.Span) json.RawMessage {
	var probe map[string]json.RawMessage
	if json.Unmarshal(out, &probe) != nil {
		return out
	}
	if _, taken := probe["summary"]; taken {
		return out
	}
	o := m.newObj(nil)
	m.appendSummary(&o, sum, root.EndTime, root.StartTime)
	extra := o.close() // {"summary":{...}}
	if len(probe) == 0 {
		return extra
	}
	merged := append(out[:len(out)-1:len(out)-1], ',')
	return append(merged, extra[1:]...)
}

// FailRequest closes a run for a reason of the bridge's own (root never
// arrived, shutdown, eviction).
func (m *Mapper) FailRequest(traceID spans.TraceID, reason string, sum *Summary) Close {
	o := m.newObj(make([]byte, 0, 256))
	o.str("reason", reason)
	o.id("trace_id", traceID[:])
	o.bool("closed_by_bridge", true)
	m.appendSummary(&o, sum, sum.Last, sum.First)
	return Close{Fail: true, ErrorMessage: reason, ErrorDetail: o.close()}
}

// Task maps a tool, agent or step span to a task with the given status; LLM
// calls are not tasks.
func (m *Mapper) Task(s *spans.Span, status string) (agentosapi.Task, bool) {
	var name string
	switch Classify(s) {
	case TypeLLM:
		return agentosapi.Task{}, false
	case TypeTool:
		name = toolName(s)
	case TypeAgent:
		name = agentName(s)
	default:
		name = s.Name
	}
	if name == "" {
		name = "span " + s.SpanID.String()
	}
	return agentosapi.Task{ID: TaskID(s.TraceID, s.SpanID), Name: truncate(name, m.maxStringLen), Status: status}, true
}

// TaskID is a UUID (version 5 layout) derived from trace and span id, so the
// same span always updates the same task.
func TaskID(t spans.TraceID, s spans.SpanID) string {
	h := sha1.New()
	h.Write([]byte("agentos-task:"))
	h.Write(t[:])
	h.Write(s[:])
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// truncate cuts s for fields that are plain strings, not JSON.
func truncate(s string, limit int) string {
	if limit <= 0 || len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && cut < len(s) && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + truncationMarker
}
