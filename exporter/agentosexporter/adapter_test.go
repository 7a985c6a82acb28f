package agentosexporter

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/agentos-ai/agentos-otel/exporter/agentosexporter/internal/pdataspans"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

var (
	t0      = time.Date(2026, 11, 28, 12, 0, 0, 123456789, time.UTC)
	traceID = pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
)

func ts(d time.Duration) pcommon.Timestamp { return pcommon.NewTimestampFromTime(t0.Add(d)) }

// twoResources builds what a receiver hands the exporter: two resources,
// the first with a root and a remote-parent child, the second with a span
// whose parent is local.
func twoResources() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "agent")
	rs.Resource().Attributes().PutStr("agentos.agent_id", "3b241101-e2bb-4255-8caf-4136c566a962")
	ss := rs.ScopeSpans().AppendEmpty().Spans()

	root := ss.AppendEmpty()
	root.SetTraceID(traceID)
	root.SetSpanID(pcommon.SpanID{1})
	root.SetName("invoke_agent demo")
	root.SetStartTimestamp(ts(0))
	root.SetEndTimestamp(ts(time.Second))
	root.Status().SetCode(ptrace.StatusCodeError)
	root.Status().SetMessage("gave up")
	a := root.Attributes()
	a.PutStr("gen_ai.operation.name", "invoke_agent")
	a.PutBool("ok", true)
	a.PutInt("n", 42)
	a.PutDouble("x", 0.5)
	a.PutEmptyBytes("raw").FromRaw([]byte{0xde, 0xad})
	sl := a.PutEmptySlice("tags")
	sl.AppendEmpty().SetStr("a")
	sl.AppendEmpty().SetInt(7)
	m := a.PutEmptyMap("nested")
	m.PutStr("k", "v")
	m.PutEmptyMap("deeper").PutEmptySlice("list").AppendEmpty().SetBool(false)
	a.PutEmpty("nothing")
	ev := root.Events().AppendEmpty()
	ev.SetName("exception")
	ev.SetTimestamp(ts(500 * time.Millisecond))
	ev.Attributes().PutStr("exception.message", "boom")

	remote := ss.AppendEmpty()
	remote.SetTraceID(traceID)
	remote.SetSpanID(pcommon.SpanID{2})
	remote.SetParentSpanID(pcommon.SpanID{9})
	remote.SetFlags(0x100 | 0x200 | 0x01)
	remote.SetName("remote child")
	remote.SetStartTimestamp(ts(time.Millisecond))
	// no end time: treated as ended when it started

	rs2 := td.ResourceSpans().AppendEmpty()
	ss2 := rs2.ScopeSpans().AppendEmpty().Spans()
	local := ss2.AppendEmpty()
	local.SetTraceID(traceID)
	local.SetSpanID(pcommon.SpanID{3})
	local.SetParentSpanID(pcommon.SpanID{1})
	local.SetFlags(0x100) // has-is-remote, not remote
	local.SetName("chat m")
	local.SetStartTimestamp(ts(2 * time.Millisecond))
	local.SetEndTimestamp(ts(3 * time.Millisecond))
	local.Status().SetCode(ptrace.StatusCodeOk)
	local.Status().SetMessage("ignored for ok")

	onlyRemoteBit := ss2.AppendEmpty()
	onlyRemoteBit.SetTraceID(traceID)
	onlyRemoteBit.SetSpanID(pcommon.SpanID{4})
	onlyRemoteBit.SetParentSpanID(pcommon.SpanID{1})
	onlyRemoteBit.SetFlags(0x200) // is-remote without has-is-remote means unknown
	onlyRemoteBit.SetName("unknown remoteness")
	return td
}

func TestAdapterConvertsTraces(t *testing.T) {
	got := pdataspans.Append(nil, twoResources())
	require.Len(t, got, 4)

	root, remote, local, unknown := got[0], got[1], got[2], got[3]
	assert.Equal(t, spans.TraceID(traceID), root.TraceID)
	assert.Equal(t, "0102030405060708090a0b0c0d0e0f10", root.TraceID.String())
	assert.False(t, root.HasParent())
	assert.Equal(t, "invoke_agent demo", root.Name)
	assert.True(t, root.StartTime.Equal(t0), "nanoseconds kept")
	assert.True(t, root.EndTime.Equal(t0.Add(time.Second)))
	assert.Equal(t, spans.StatusError, root.StatusCode)
	assert.Equal(t, "gave up", root.StatusMessage)

	v, ok := root.Attr("gen_ai.operation.name")
	require.True(t, ok)
	assert.Equal(t, "invoke_agent", v.Str())
	v, _ = root.Attr("ok")
	assert.Equal(t, spans.KindBool, v.Kind())
	assert.True(t, v.Bool())
	v, _ = root.Attr("n")
	assert.Equal(t, int64(42), v.Int())
	v, _ = root.Attr("x")
	assert.Equal(t, 0.5, v.Double())
	v, _ = root.Attr("raw")
	assert.Equal(t, spans.KindBytes, v.Kind())
	assert.Equal(t, []byte{0xde, 0xad}, v.Bytes())
	v, _ = root.Attr("tags")
	require.Equal(t, spans.KindSlice, v.Kind())
	require.Len(t, v.Slice(), 2)
	assert.Equal(t, "a", v.Slice()[0].Str())
	assert.Equal(t, int64(7), v.Slice()[1].Int())
	v, _ = root.Attr("nested")
	require.Equal(t, spans.KindMap, v.Kind())
	k, _ := spans.Lookup(v.Map(), "k")
	assert.Equal(t, "v", k.Str())
	deeper, _ := spans.Lookup(v.Map(), "deeper")
	list, _ := spans.Lookup(deeper.Map(), "list")
	require.Len(t, list.Slice(), 1)
	assert.Equal(t, spans.KindBool, list.Slice()[0].Kind())
	v, ok = root.Attr("nothing")
	assert.True(t, ok)
	assert.Equal(t, spans.KindEmpty, v.Kind())

	require.Len(t, root.Events, 1)
	assert.Equal(t, "exception", root.Events[0].Name)
	assert.True(t, root.Events[0].Time.Equal(t0.Add(500*time.Millisecond)))
	msg, _ := spans.Lookup(root.Events[0].Attrs, "exception.message")
	assert.Equal(t, "boom", msg.Str())

	assert.True(t, remote.ParentRemote, "flags 0x100|0x200: the parent is remote")
	assert.Equal(t, spans.SpanID{9}, remote.ParentSpanID)
	assert.True(t, remote.Ended(), "a span without an end time still counts as ended")
	assert.True(t, remote.EndTime.Equal(remote.StartTime))
	assert.Nil(t, remote.Attrs)
	assert.Nil(t, remote.Events)

	assert.False(t, local.ParentRemote, "flags 0x100 alone: the parent is local")
	assert.Equal(t, spans.StatusOK, local.StatusCode)
	assert.False(t, unknown.ParentRemote, "0x200 without 0x100 says nothing")

	// One resource per ResourceSpans, shared by its spans.
	assert.Same(t, root.Resource, remote.Resource)
	assert.Same(t, local.Resource, unknown.Resource)
	assert.NotSame(t, root.Resource, local.Resource)
	id, ok := root.Resource.Attr("agentos.agent_id")
	require.True(t, ok)
	assert.Equal(t, "3b241101-e2bb-4255-8caf-4136c566a962", id.Str())
	_, ok = local.Resource.Attr("service.name")
	assert.False(t, ok)
}

// The converted spans own their data: pdata may be reused once consume
// returns.
func TestAdapterDoesNotAliasPdata(t *testing.T) {
	td := twoResources()
	got := pdataspans.Append(nil, td)
	raw := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes()
	b, _ := raw.Get("raw")
	b.Bytes().FromRaw([]byte{0, 0})
	v, _ := got[0].Attr("raw")
	assert.Equal(t, []byte{0xde, 0xad}, v.Bytes())
}

// A span's attributes and its events' share one array: each slice is
// capped, so that appending to one (as redaction or a later step may)
// copies instead of writing over the next.
func TestAdapterSharedAttributesDoNotOverlap(t *testing.T) {
	td := ptrace.NewTraces()
	s := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.Attributes().PutStr("span", "1")
	for i := range 2 {
		e := s.Events().AppendEmpty()
		e.SetName(fmt.Sprintf("e%d", i))
		e.Attributes().PutStr("event", fmt.Sprint(i))
	}
	got := pdataspans.Append(nil, td)[0]
	require.Len(t, got.Attrs, 1)
	require.Len(t, got.Events, 2)
	_ = append(got.Attrs, spans.Attr{Key: "extra", Value: spans.StringValue("x")})
	_ = append(got.Events[0].Attrs, spans.Attr{Key: "extra", Value: spans.StringValue("x")})
	assert.Equal(t, "event", got.Events[0].Attrs[0].Key)
	assert.Equal(t, "1", got.Events[1].Attrs[0].Value.Str(), "the second event's attribute, after appends to the others")
	assert.Len(t, got.Events[0].Attrs, 1)
}

func TestAdapterAppends(t *testing.T) {
	dst := make([]spans.Span, 1, 2)
	got := pdataspans.Append(dst, twoResources())
	assert.Len(t, got, 5)
	assert.Empty(t, pdataspans.Append(nil, ptrace.NewTraces()))
}

// genAITraces builds n spans shaped like an agent run: 12 attributes each,
// one event on every fourth.
func genAITraces(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "agent")
	ss := rs.ScopeSpans().AppendEmpty().Spans()
	for i := range n {
		s := ss.AppendEmpty()
		s.SetTraceID(traceID)
		s.SetSpanID(pcommon.SpanID{byte(i), byte(i >> 8), 1})
		s.SetParentSpanID(pcommon.SpanID{1})
		s.SetName("chat m")
		s.SetStartTimestamp(ts(time.Duration(i) * time.Millisecond))
		s.SetEndTimestamp(ts(time.Duration(i+1) * time.Millisecond))
		a := s.Attributes()
		a.PutStr("gen_ai.operation.name", "chat")
		a.PutStr("gen_ai.request.model", "m")
		a.PutInt("gen_ai.usage.input_tokens", 100)
		a.PutInt("gen_ai.usage.output_tokens", 20)
		a.PutStr("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"hello"}]}]`)
		a.PutStr("gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"text","content":"hi"}]}]`)
		a.PutEmptySlice("gen_ai.response.finish_reasons").AppendEmpty().SetStr("stop")
		for j := range 5 {
			a.PutStr(fmt.Sprintf("extra.%d", j), "value")
		}
		if i%4 == 0 {
			e := s.Events().AppendEmpty()
			e.SetName("cache.miss")
			e.SetTimestamp(ts(time.Duration(i) * time.Millisecond))
			e.Attributes().PutStr("key", "k")
		}
	}
	return td
}

// BenchmarkAdapter measures the per-span cost of the conversion. Expect
// about one allocation per span (its attribute slice) plus one per slice
// or map value, per resource and per event list.
func BenchmarkAdapter(b *testing.B) {
	td := genAITraces(512)
	dst := make([]spans.Span, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		dst = pdataspans.Append(dst[:0], td)
	}
	b.ReportMetric(float64(testing.AllocsPerRun(10, func() { dst = pdataspans.Append(dst[:0], td) }))/512, "allocs/span")
}
