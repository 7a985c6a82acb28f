package journal

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/spans"
)

var tid = spans.TraceID{1, 2, 3}

func sampleSpans() []spans.Span {
	res := &spans.Resource{Attrs: []spans.Attr{{Key: "service.name", Value: spans.StringValue("agent")}}}
	other := &spans.Resource{Attrs: []spans.Attr{{Key: "service.name", Value: spans.StringValue("tools")}}}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	return []spans.Span{
		{
			TraceID: spans.TraceID{1, 2, 3}, SpanID: spans.SpanID{9}, Name: "invoke_agent travel",
			StartTime: t0, EndTime: t0.Add(time.Second), StatusCode: spans.StatusError, StatusMessage: "boom",
			Attrs: []spans.Attr{
				{Key: "s", Value: spans.StringValue("héllo")},
				{Key: "b", Value: spans.BoolValue(true)},
				{Key: "i", Value: spans.IntValue(-42)},
				{Key: "d", Value: spans.DoubleValue(math.Inf(-1))},
				{Key: "raw", Value: spans.BytesValue([]byte{0, 1, 255})},
				{Key: "list", Value: spans.SliceValue([]spans.Value{spans.IntValue(1), spans.StringValue("x"), {}})},
				{Key: "map", Value: spans.MapValue([]spans.Attr{{Key: "k", Value: spans.SliceValue(nil)}})},
				{Key: "empty"},
			},
			Events:   []spans.Event{{Name: "cache.miss", Time: t0.Add(time.Millisecond)}, {Name: "no time"}},
			Resource: res,
		},
		{TraceID: spans.TraceID{1, 2, 3}, SpanID: spans.SpanID{10}, ParentSpanID: spans.SpanID{9}, ParentRemote: true,
			Name: "started only", StartTime: t0, Resource: res},
		{TraceID: spans.TraceID{1, 2, 3}, SpanID: spans.SpanID{11}, Name: "", Resource: other},
		{TraceID: spans.TraceID{1, 2, 3}, SpanID: spans.SpanID{12}, Name: "no resource"},
		withLogs(spans.Span{TraceID: spans.TraceID{1, 2, 3}, SpanID: spans.SpanID{13}, Name: "chat m",
			Events: []spans.Event{{Name: "gen_ai.choice", Time: t0}}},
			spans.Event{Name: "gen_ai.user.message", Time: t0, Attrs: []spans.Attr{{Key: "content", Value: spans.StringValue("hi")}}}),
		withLogs(spans.Span{TraceID: spans.TraceID{1, 2, 3}, SpanID: spans.SpanID{14}, Name: "logs only"},
			spans.Event{Name: "gen_ai.choice", Time: t0}),
	}
}

// withLogs is s with log records attached: they stay log records, not
// span events, through the journal.
func withLogs(s spans.Span, logs ...spans.Event) spans.Span {
	s.AppendLogs(logs...)
	return s
}

func TestSpansRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []spans.Span
	}{
		{"none", nil},
		{"sample", sampleSpans()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := decodeSpans(encodeSpans(nil, tc.in, nil), tid)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != len(tc.in) {
				t.Fatalf("%d spans, want %d", len(out), len(tc.in))
			}
			for i := range out {
				if !spanEqual(&out[i], &tc.in[i]) {
					t.Errorf("span %d:\n got %+v\nwant %+v", i, out[i], tc.in[i])
				}
			}
			if len(out) >= 2 && out[0].Resource != out[1].Resource {
				t.Error("spans of one resource no longer share it")
			}
		})
	}
}

func TestDecodeCorrupt(t *testing.T) {
	good := encodeSpans(nil, sampleSpans(), nil)
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"version", append([]byte{99}, good[1:]...)},
		{"truncated", good[:len(good)/2]},
		{"trailing", append(append([]byte{}, good...), 0)},
		{"huge count", []byte{codecVersion, 0xff, 0xff, 0xff, 0xff, 0x0f}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodeSpans(tc.b, tid); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v, want ErrCorrupt", err)
			}
		})
	}
}

// FuzzDecodeSpans: decoding never panics, and what decodes encodes back to
// spans that decode the same.
func FuzzDecodeSpans(f *testing.F) {
	f.Add(encodeSpans(nil, sampleSpans(), nil))
	f.Add(encodeSpans(nil, nil, nil))
	f.Add([]byte{codecVersion, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		ss, err := decodeSpans(b, tid)
		if err != nil {
			return
		}
		again, err := decodeSpans(encodeSpans(nil, ss, nil), tid)
		if err != nil {
			t.Fatalf("re-encoded spans do not decode: %v", err)
		}
		if len(again) != len(ss) {
			t.Fatalf("%d spans, want %d", len(again), len(ss))
		}
		for i := range ss {
			if !spanEqual(&again[i], &ss[i]) {
				t.Fatalf("span %d changed:\n got %+v\nwant %+v", i, again[i], ss[i])
			}
		}
	})
}

func spanEqual(a, b *spans.Span) bool {
	if a.TraceID != b.TraceID || a.SpanID != b.SpanID || a.ParentSpanID != b.ParentSpanID ||
		a.ParentRemote != b.ParentRemote || a.Name != b.Name || !a.StartTime.Equal(b.StartTime) ||
		!a.EndTime.Equal(b.EndTime) || a.StatusCode != b.StatusCode || a.StatusMessage != b.StatusMessage ||
		!attrsEqual(a.Attrs, b.Attrs) || len(a.Events) != len(b.Events) || len(a.Logs()) != len(b.Logs()) ||
		(a.Resource == nil) != (b.Resource == nil) {
		return false
	}
	if a.Resource != nil && !attrsEqual(a.Resource.Attrs, b.Resource.Attrs) {
		return false
	}
	for i := range a.Events {
		if a.Events[i].Name != b.Events[i].Name || !a.Events[i].Time.Equal(b.Events[i].Time) ||
			!attrsEqual(a.Events[i].Attrs, b.Events[i].Attrs) {
			return false
		}
	}
	return true
}

func attrsEqual(a, b []spans.Attr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || !valueEqual(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}

func valueEqual(a, b spans.Value) bool {
	if a.Kind() != b.Kind() {
		return false
	}
	switch a.Kind() {
	case spans.KindString, spans.KindBytes:
		return a.Str() == b.Str()
	case spans.KindBool:
		return a.Bool() == b.Bool()
	case spans.KindInt:
		return a.Int() == b.Int()
	case spans.KindDouble:
		return math.Float64bits(a.Double()) == math.Float64bits(b.Double())
	case spans.KindSlice:
		as, bs := a.Slice(), b.Slice()
		if len(as) != len(bs) {
			return false
		}
		for i := range as {
			if !valueEqual(as[i], bs[i]) {
				return false
			}
		}
		return true
	case spans.KindMap:
		return attrsEqual(a.Map(), b.Map())
	}
	return true
}
