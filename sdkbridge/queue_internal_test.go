package sdkbridge

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
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
