package agentosapi

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// AppendCompactJSON must agree with encoding/json on what is JSON (with valid
// UTF-8, which encoding/json does not check) and on its compact form.
func FuzzCompactJSON(f *testing.F) {
	for _, seed := range []string{
		`{}`, `[]`, ` { "a" : [ 1 , -2.5e+3 , true , false , null ] } `,
		`{"s":"a\"b\\c\/d\u00e9\n","n":0,"e":1E-2}`, `[{"k":"ü日本"}]`,
		`{"a":}`, `[1,]`, `{"a" 1}`, `01`, `1.`, `-`, `"\x"`, "\"a\x01\"",
		"\"\xff\"", `[1] x`, `tru`, `{"a":"\ud800"}`, "\t[\n1\r]",
		strings.Repeat("[", 1200) + strings.Repeat("]", 1200),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := AppendCompactJSON([]byte("prefix"), s)
		want := json.Valid([]byte(s)) && utf8.ValidString(s)
		if ok != want {
			if want && nesting(s) > MaxJSONDepth {
				return // too deep to embed: kept as a string
			}
			t.Fatalf("AppendCompactJSON(%q) ok = %v, encoding/json says %v", s, ok, want)
		}
		if !ok {
			if string(got) != "prefix" {
				t.Fatalf("a refused text left %q", got)
			}
			return
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, []byte(s)); err != nil {
			t.Fatal(err)
		}
		if string(got) != "prefix"+compact.String() {
			t.Fatalf("AppendCompactJSON(%q) = %q, want %q", s, got[6:], compact.String())
		}
	})
}

// nesting is the deepest bracket nesting of s outside strings.
func nesting(s string) int {
	depth, deepest, inStr, esc := 0, 0, false, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inStr && esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case inStr:
			inStr = c != '"'
		case c == '"':
			inStr = true
		case c == '[' || c == '{':
			depth++
			deepest = max(deepest, depth)
		case c == ']' || c == '}':
			depth--
		}
	}
	return deepest
}
