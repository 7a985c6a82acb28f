package sdkbridge

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"go.opentelemetry.io/otel"
)

// otelErrorHandler passes records on to the default logger's handler and
// hands those at error level (a run not delivered) to otel.Handle too,
// where otel-go users look for an exporter's background errors. It is
// used only when WithLogger is not given.
type otelErrorHandler struct {
	next  slog.Handler
	attrs []slog.Attr // from WithAttrs, for the error's text
}

func (h otelErrorHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelError || h.next.Enabled(ctx, l)
}

func (h otelErrorHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		otel.Handle(recordError(r, h.attrs))
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h otelErrorHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return otelErrorHandler{h.next.WithAttrs(attrs), append(h.attrs[:len(h.attrs):len(h.attrs)], attrs...)}
}

func (h otelErrorHandler) WithGroup(name string) slog.Handler {
	return otelErrorHandler{h.next.WithGroup(name), h.attrs}
}

// recordError renders a record as one error: "agentos: message: k=v …".
func recordError(r slog.Record, attrs []slog.Attr) error {
	var b strings.Builder
	b.WriteString("agentos: ")
	b.WriteString(r.Message)
	sep := ": "
	add := func(a slog.Attr) bool {
		b.WriteString(sep)
		sep = " "
		b.WriteString(a.String())
		return true
	}
	for _, a := range attrs {
		add(a)
	}
	r.Attrs(add)
	return errors.New(b.String())
}
