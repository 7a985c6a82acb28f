package agentosapi

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// AppendEvent writes what encoding/json writes (HTML escaping off) for any
// type, level and occurred_at, given a compact JSON payload.
func FuzzAppendEvent(f *testing.F) {
	for _, seed := range []struct{ typ, level, at, payload string }{
		{"llm.request", "info", "2026-01-02T03:04:05.123456789Z", `{"model":"m"}`},
		{"a \"q\" \\ <b> & é", "", "", ""},
		{"\x00\x1f\t\n\r\b\f", "warn", "x", `{}`},
		{"bad \xff utf-8 \xe2\x80", "error", "\u2028\u2029", `{"a":[1,2]}`},
	} {
		f.Add(seed.typ, seed.level, seed.at, seed.payload)
	}
	f.Fuzz(func(t *testing.T, typ, level, at, payload string) {
		var compact bytes.Buffer
		if payload != "" && json.Compact(&compact, []byte(payload)) != nil {
			return // the payload is the mapping's compact JSON, never anything else
		}
		e := Event{Type: typ, Level: level, OccurredAt: at, Payload: json.RawMessage(compact.Bytes())}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(&e); err != nil {
			t.Fatal(err)
		}
		got := AppendEvent([]byte("x"), &e)
		if string(got[1:]) != string(bytes.TrimSuffix(want.Bytes(), []byte("\n"))) {
			t.Fatalf("AppendEvent = %s\nencoding/json = %s", got[1:], want.Bytes())
		}
	})
}

// SkipPlain stops at every byte a JSON string cannot hold as it is, at
// every offset of its sixteen- and eight-byte blocks and in the tail after
// them, and at no other.
func TestSkipPlainStopsAtEverySpecialByte(t *testing.T) {
	for b := range 256 {
		special := b < 0x20 || b == '"' || b == '\\' || b >= 0x80
		for pos := range 35 { // a 16-byte block, an 8-byte word and a tail
			s := []byte(strings.Repeat("a", 35))
			s[pos] = byte(b)
			for from := 0; from <= pos; from++ {
				want := len(s)
				if special {
					want = pos
				}
				if got := SkipPlain(string(s), from); got != want {
					t.Fatalf("byte %#x at %d, from %d: got %d, want %d", b, pos, from, got, want)
				}
			}
		}
	}
	// Borrows between bytes: neighbours of every value around a special one.
	for lo := range 256 {
		for _, hi := range []byte{0x1f, 0x20, 0x21, 0x22, 0x23, 0x5b, 0x5c, 0x5d, 0x7f, 0x80} {
			s := string([]byte{'a', 'a', 'a', byte(lo), hi, 'a', 'a', 'a'})
			want := 8
			for i := range len(s) {
				if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
					want = i
					break
				}
			}
			if got := SkipPlain(s, 0); got != want {
				t.Fatalf("%q: got %d, want %d", s, got, want)
			}
		}
	}
}

// The request appenders write what encoding/json writes (HTML escaping
// off) for any strings, given compact JSON objects.
func FuzzAppendRequests(f *testing.F) {
	f.Add("3b241101-e2bb-4255-8caf-4136c566a962", "sdk", "0123abcd", `{"name":"a <b> & \"c\""}`)
	f.Add("", "", "", "")
	f.Add("\x00\u2028 \xff", "\t", "é", `{"a":[1,{"b":null}]}`)
	f.Fuzz(func(t *testing.T, a, b, c, raw string) {
		var compact bytes.Buffer
		if raw != "" && json.Compact(&compact, []byte(raw)) != nil {
			return // raw fields are the mapping's compact JSON, never anything else
		}
		obj := json.RawMessage(compact.Bytes())
		for _, req := range []interface{ AppendJSON([]byte) []byte }{
			&StartRunRequest{AgentID: a, TriggerType: b, ExternalRunID: c, Input: obj},
			&CompleteRunRequest{RunID: a, Output: obj},
			&FailRunRequest{RunID: a, ErrorMessage: b, ErrorDetail: obj},
		} {
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(req); err != nil {
				t.Fatal(err)
			}
			got := req.AppendJSON([]byte("x"))
			if string(got[1:]) != strings.TrimSuffix(want.String(), "\n") {
				t.Fatalf("%T.AppendJSON = %s\nencoding/json = %s", req, got[1:], want.Bytes())
			}
		}
	})
}
