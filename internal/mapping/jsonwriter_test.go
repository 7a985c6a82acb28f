package mapping

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/agentos-ai/agentos-otel/internal/spans"
)

func TestAttributeValuesToJSON(t *testing.T) {
	deep := spans.StringValue("leaf")
	for range 40 {
		deep = spans.SliceValue([]spans.Value{deep})
	}
	for _, tc := range []struct {
		name string
		v    spans.Value
		want string
	}{
		{"string", spans.StringValue(`a "q" \ <b>`), `"a \"q\" \\ <b>"`},
		{"control characters", spans.StringValue("a\x00b\nc\t"), `"a\u0000b\nc\t"`},
		{"invalid utf-8 repaired", spans.StringValue("ok\xffok"), `"ok\ufffdok"`},
		{"line separators escaped", spans.StringValue("a\u2028b"), `"a\u2028b"`},
		{"bool", spans.BoolValue(true), `true`},
		{"int", spans.IntValue(math.MinInt64), `-9223372036854775808`},
		{"double", spans.DoubleValue(0.1), `0.1`},
		{"NaN", spans.DoubleValue(math.NaN()), `"NaN"`},
		{"+Inf", spans.DoubleValue(math.Inf(1)), `"Infinity"`},
		{"-Inf", spans.DoubleValue(math.Inf(-1)), `"-Infinity"`},
		{"bytes as base64", spans.BytesValue([]byte{0, 1, 0xff}), `"AAH/"`},
		{"slice", spans.SliceValue([]spans.Value{spans.IntValue(1), spans.StringValue("x")}), `[1,"x"]`},
		{"map", spans.MapValue([]spans.Attr{{Key: "k", Value: spans.MapValue([]spans.Attr{{Key: "n", Value: spans.DoubleValue(math.NaN())}})}}), `{"k":{"n":"NaN"}}`},
		{"empty", spans.Value{}, `null`},
		{"JSON object string embedded", spans.StringValue(` {"a": [1, "b c"]} `), `{"a":[1,"b c"]}`},
		{"broken JSON stays a string", spans.StringValue(`{"a":`), `"{\"a\":"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := New(Options{})
			got := string(m.appendValue(nil, tc.v, 0, true))
			if got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
			if !json.Valid([]byte(got)) {
				t.Fatalf("not valid JSON: %s", got)
			}
		})
	}
	t.Run("nesting is bounded", func(t *testing.T) {
		m, _ := New(Options{})
		got := m.appendValue(nil, deep, 0, true)
		if !json.Valid(got) || !strings.Contains(string(got), "[too deep]") {
			t.Fatalf("got %s", got)
		}
	})
}

func TestTruncation(t *testing.T) {
	m, _ := New(Options{MaxStringLen: 5})
	got := string(m.appendValue(nil, spans.StringValue("héllo world"), 0, true))
	// "héllo" is 6 bytes; the cut backs off to a rune boundary.
	if got != `"héll`+truncationMarker+`"` {
		t.Fatalf("got %s", got)
	}
	if got := truncate("ab€cd", 3); got != "ab"+truncationMarker {
		t.Fatalf("truncate: %q", got)
	}
}

func TestRedaction(t *testing.T) {
	attrs := []spans.Attr{
		{Key: "gen_ai.input.messages", Value: spans.StringValue("secret prompt")},
		{Key: "user.email", Value: spans.StringValue("a@b.c")},
		{Key: "kept", Value: spans.MapValue([]spans.Attr{{Key: "password", Value: spans.StringValue("hunter2")}})},
	}
	for _, tc := range []struct {
		name string
		r    Redaction
		want string
	}{
		{"mask by name and pattern", Redaction{Names: []string{"gen_ai.input.messages"}, Patterns: []*regexp.Regexp{regexp.MustCompile(`email|password`)}},
			`{"attributes":{"gen_ai.input.messages":"[REDACTED]","user.email":"[REDACTED]","kept":{"password":"[REDACTED]"}}}`},
		{"drop", Redaction{Names: []string{"gen_ai.input.messages", "password"}, Drop: true},
			`{"attributes":{"user.email":"a@b.c","kept":{}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(Options{Redaction: tc.r})
			if err != nil {
				t.Fatal(err)
			}
			o := m.newObj(nil)
			o.attrs("attributes", attrs, nil)
			if got := string(o.close()); got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
	t.Run("redacted prompt stays out of llm.request", func(t *testing.T) {
		m, _ := New(Options{Redaction: Redaction{Names: []string{"gen_ai.input.messages"}}})
		s := &spans.Span{Name: "chat", Attrs: append([]spans.Attr{{Key: "gen_ai.operation.name", Value: spans.StringValue("chat")}}, attrs...)}
		e, _ := m.StartEvent(s, 1, Classify(s))
		if strings.Contains(string(e.Wire.Payload), "secret") {
			t.Fatalf("payload leaks the prompt: %s", e.Wire.Payload)
		}
	})
}

func TestClassify(t *testing.T) {
	str := func(k, v string) spans.Attr { return spans.Attr{Key: k, Value: spans.StringValue(v)} }
	for _, tc := range []struct {
		name string
		span spans.Span
		want SpanType
	}{
		{"genai chat", spans.Span{Attrs: []spans.Attr{str("gen_ai.operation.name", "chat")}}, TypeLLM},
		{"genai generate_content", spans.Span{Attrs: []spans.Attr{str("gen_ai.operation.name", "generate_content")}}, TypeLLM},
		{"genai tool", spans.Span{Attrs: []spans.Attr{str("gen_ai.operation.name", "execute_tool")}}, TypeTool},
		{"genai agent", spans.Span{Attrs: []spans.Attr{str("gen_ai.operation.name", "invoke_agent")}}, TypeAgent},
		{"genai embeddings is a step", spans.Span{Attrs: []spans.Attr{str("gen_ai.operation.name", "embeddings")}}, TypeStep},
		{"openinference llm", spans.Span{Attrs: []spans.Attr{str("openinference.span.kind", "LLM")}}, TypeLLM},
		{"openinference tool", spans.Span{Attrs: []spans.Attr{str("openinference.span.kind", "TOOL")}}, TypeTool},
		{"openinference agent", spans.Span{Attrs: []spans.Attr{str("openinference.span.kind", "AGENT")}}, TypeAgent},
		{"openinference chain", spans.Span{Attrs: []spans.Attr{str("openinference.span.kind", "CHAIN")}}, TypeStep},
		{"vercel doGenerate", spans.Span{Name: "ai.generateText.doGenerate"}, TypeLLM},
		{"vercel doStream by operationId", spans.Span{Name: "x", Attrs: []spans.Attr{str("ai.operationId", "ai.streamText.doStream")}}, TypeLLM},
		{"vercel tool", spans.Span{Name: "ai.toolCall"}, TypeTool},
		{"vercel outer call is a step", spans.Span{Name: "ai.generateText"}, TypeStep},
		{"plain span", spans.Span{Name: "db.query"}, TypeStep},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Classify(&tc.span); got != tc.want {
				t.Fatalf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestRedactionInsideJSONStrings(t *testing.T) {
	tests := []struct {
		name string
		drop bool
		in   string
		want string
	}{
		{"masked at any depth", false, `{"user":"bob","a":[{"password":"x","n":1.50}]}`, `{"user":"bob","a":[{"password":"[REDACTED]","n":1.50}]}`},
		{"dropped", true, `{"user":"bob","Password":{"deep":true},"k":null}`, `{"user":"bob","k":null}`},
		{"json inside a json string", false, `["{\"password\":\"x\",\"v\":2}"]`, `["{\"password\":\"[REDACTED]\",\"v\":2}"]`},
		{"key order kept", false, `{"z":1,"a":2}`, `{"z":1,"a":2}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(Options{Redaction: Redaction{Patterns: []*regexp.Regexp{regexp.MustCompile(`(?i)password`)}, Drop: tt.drop}})
			if err != nil {
				t.Fatal(err)
			}
			got := string(m.appendValue(nil, spans.StringValue(tt.in), 0, true))
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// appendMillis must print what formatting the float prints, at the bounds
// of its shortcut and across the magnitudes in between.
func TestAppendMillisMatchesFloat(t *testing.T) {
	check := func(ns int64) {
		t.Helper()
		got, want := string(appendMillis(nil, ns)), string(appendFloat(nil, float64(ns)/1e6))
		if got != want {
			t.Fatalf("appendMillis(%d) = %s, want %s", ns, got, want)
		}
	}
	for _, ns := range []int64{-1e9, -150, -1, 0, 1, 99, 100, 101, 999, 1000, 1e6 - 1, 1e6, 1e6 + 1, 1_234_567,
		1e9, 1e12 - 1, 1e12, 1e12 + 1, 1e15, math.MaxInt64, math.MinInt64} {
		check(ns)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		// Spread over magnitudes: 1 ns to about 3 hours.
		check(rng.Int64N(int64(1) << rng.IntN(44)))
	}
}
