package sdkbridge

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// keepLast keeps the last span that ended.
type keepLast struct {
	sdktrace.SpanProcessor
	last sdktrace.ReadOnlySpan
}

func (k *keepLast) OnEnd(s sdktrace.ReadOnlySpan) { k.last = s }

// The estimate of an ended span counts what it keeps alive: each string,
// wherever it is (attribute, list, map, span event, link), at least once.
func TestEndSizeCountsContent(t *testing.T) {
	keep := &keepLast{SpanProcessor: sdktrace.NewSimpleSpanProcessor(nil)}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(keep))
	defer tp.Shutdown(context.Background())
	tr := tp.Tracer("test")
	_, s := tr.Start(context.Background(), "s")
	s.End()
	base := endSize(keep.last)
	big := strings.Repeat("x", 10_000)
	for _, tc := range []struct {
		name string
		make func() sdktrace.ReadOnlySpan
	}{
		{"string attribute", func() sdktrace.ReadOnlySpan {
			_, s := tr.Start(context.Background(), "s", trace.WithAttributes(attribute.String("k", big)))
			s.End()
			return keep.last
		}},
		{"string list", func() sdktrace.ReadOnlySpan {
			_, s := tr.Start(context.Background(), "s", trace.WithAttributes(attribute.StringSlice("k", []string{"a", big})))
			s.End()
			return keep.last
		}},
		{"nested list and map", func() sdktrace.ReadOnlySpan {
			_, s := tr.Start(context.Background(), "s", trace.WithAttributes(attribute.Slice("k",
				attribute.MapValue(attribute.String("inner", big)))))
			s.End()
			return keep.last
		}},
		{"bytes", func() sdktrace.ReadOnlySpan {
			_, s := tr.Start(context.Background(), "s", trace.WithAttributes(attribute.ByteSlice("k", []byte(big))))
			s.End()
			return keep.last
		}},
		{"span event", func() sdktrace.ReadOnlySpan {
			_, s := tr.Start(context.Background(), "s")
			s.AddEvent("exception", trace.WithAttributes(attribute.String("exception.stacktrace", big)))
			s.End()
			return keep.last
		}},
		{"link", func() sdktrace.ReadOnlySpan {
			_, other := tr.Start(context.Background(), "other")
			_, s := tr.Start(context.Background(), "s", trace.WithLinks(trace.Link{
				SpanContext: other.SpanContext(), Attributes: []attribute.KeyValue{attribute.String("why", big)}}))
			s.End()
			return keep.last
		}},
	} {
		if got := endSize(tc.make()); got < base+int64(len(big)) {
			t.Errorf("%s: estimated %d bytes, want at least %d (%d without it)", tc.name, got, base+int64(len(big)), base)
		}
	}
	it := liveItem{name: "s", attrs: []attribute.KeyValue{attribute.String("k", big)}}
	if got := startSize(&it); got < itemSize+int64(len(big)) {
		t.Errorf("start estimated %d bytes, want at least %d", got, itemSize+int64(len(big)))
	}
}

// An end shares its start's slot only when that start was queued last:
// the queue keeps its order, and counts items and bytes as if each had
// its own.
func TestEndLastSharesOnlyTheLastStart(t *testing.T) {
	keep := &keepLast{SpanProcessor: sdktrace.NewSimpleSpanProcessor(nil)}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(keep))
	defer tp.Shutdown(context.Background())
	tr := tp.Tracer("test")
	ended := func(s trace.Span) sdktrace.ReadOnlySpan { s.End(); return keep.last }
	_, a := tr.Start(context.Background(), "a")
	_, b := tr.Start(context.Background(), "b")
	start := func(s trace.Span) *liveItem {
		sc := s.SpanContext()
		return &liveItem{kind: itemStart, traceID: spans.TraceID(sc.TraceID()), spanID: spans.SpanID(sc.SpanID()), size: 100}
	}
	end := func(ro sdktrace.ReadOnlySpan) *liveItem {
		sc := ro.SpanContext()
		return &liveItem{kind: itemEnd, traceID: spans.TraceID(sc.TraceID()), spanID: spans.SpanID(sc.SpanID()), ended: ro, size: 700}
	}
	var q liveQueue
	q.push(start(a))
	q.push(start(b))
	aEnd, bEnd := end(ended(a)), end(ended(b))
	if q.endLast(aEnd) {
		t.Fatal("a's end joined its start behind b's")
	}
	q.push(aEnd)
	if q.endLast(bEnd) {
		t.Fatal("b's end joined a start behind a's end")
	}
	_, c := tr.Start(context.Background(), "c")
	q.push(start(c))
	cEnd := end(ended(c))
	if !q.endLast(cEnd) || q.endLast(cEnd) {
		t.Fatal("c's end did not join its start, or joined it twice")
	}
	head, items := q.take()
	if items != 5 || q.bytes != 3*100+700+700 {
		t.Fatalf("%d items of %d bytes, want 5 of %d", items, q.bytes, 3*100+700+700)
	}
	got := head.items[:head.n]
	if len(got) != 4 || got[3].ended != cEnd.ended || got[3].size != 800 || got[2].kind != itemEnd || got[0].ended != nil {
		t.Fatalf("queued %d slots: %+v", len(got), got)
	}
}
