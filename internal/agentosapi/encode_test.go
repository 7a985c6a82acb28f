package agentosapi

import (
	"bytes"
	"encoding/json"
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
