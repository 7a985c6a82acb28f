package spans

import "testing"

func TestSizeGrowsWithContent(t *testing.T) {
	base := Span{Name: "llm"}
	prompt := Span{Name: "llm", Attrs: []Attr{{Key: "gen_ai.prompt", Value: StringValue(string(make([]byte, 10_000)))}}}
	nested := Span{Name: "llm", Attrs: []Attr{{Key: "m", Value: MapValue([]Attr{
		{Key: "list", Value: SliceValue([]Value{StringValue(string(make([]byte, 5_000)))})},
	})}}}
	withEvent := Span{Name: "llm", Events: []Event{{Name: "exception", Attrs: []Attr{
		{Key: "exception.stacktrace", Value: StringValue(string(make([]byte, 3_000)))},
	}}}}
	for _, tc := range []struct {
		name string
		span Span
		min  int
	}{
		{"bare", base, spanSize},
		{"long attribute", prompt, base.Size() + 10_000},
		{"nested slice in a map", nested, base.Size() + 5_000},
		{"span event", withEvent, base.Size() + 3_000},
	} {
		if got := tc.span.Size(); got < tc.min {
			t.Errorf("%s: Size() = %d, want at least %d", tc.name, got, tc.min)
		}
	}
}
