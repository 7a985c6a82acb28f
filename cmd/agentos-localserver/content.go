package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// What agents send is shown with bounds, so that no page grows past a few
// MB whatever they send: a payload is inlined only when it is small and
// shallow (its indentation grows with depth times lines), and a page
// inlines at most pageInlineBytes in all; the rest is fetched when opened.
const (
	inlineMaxBytes  = 8 << 10
	inlineMaxDepth  = 12
	pageInlineBytes = 512 << 10
	messageMaxRunes = 4000
	maxMessages     = 30
	factMaxRunes    = 120
)

// budget is what a page may still inline.
type budget struct{ left int }

func (b *budget) take(n int) bool {
	if n > b.left {
		b.left = 0 // later, smaller ones would be shown out of order
		return false
	}
	b.left -= n
	return true
}

// jsonView is a JSON value to show: inline, already indented, or to be
// fetched from Src when opened.
type jsonView struct {
	Pretty string
	Src    string
	Size   string // of the raw value, for people
	Empty  bool
}

func viewJSON(raw json.RawMessage, src string, b *budget) jsonView {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return jsonView{Empty: true}
	}
	v := jsonView{Src: src, Size: byteSize(len(raw))}
	if len(raw) <= inlineMaxBytes && depth(raw) <= inlineMaxDepth {
		p := pretty(raw)
		if b.take(len(p)) {
			v.Pretty, v.Src = clean(p), ""
		}
	}
	return v
}

// depth is how deeply raw nests, counted without recursion: raw may nest
// thousands of levels.
func depth(raw []byte) int {
	d, deepest, inString, escaped := 0, 0, false, false
	for _, c := range raw {
		switch {
		case escaped:
			escaped = false
		case inString:
			escaped = c == '\\'
			inString = c != '"'
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			d++
			deepest = max(deepest, d)
		case c == '}' || c == ']':
			d--
		}
	}
	return deepest
}

// pretty indents JSON; what is not JSON is shown as it is.
func pretty(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Indent(&b, raw, "", "  ") != nil {
		return string(raw)
	}
	return b.String()
}

func byteSize(n int) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}

// clean makes text safe to show: bidirectional controls, which would let
// a string reorder what is shown around it (a file name read backwards,
// say), and other invisible controls are replaced by a visible ⟨U+XXXX⟩.
func clean(s string) string {
	if !strings.ContainsFunc(s, hidden) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if hidden(r) {
			fmt.Fprintf(&b, "⟨U+%04X⟩", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func hidden(r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// cut shortens s to n runes, saying how much was left out.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return fmt.Sprintf("%s… (%d more characters)", string(r[:n]), len(r)-n)
}

// text is agent text for a short place (a fact, a cell): cut and cleaned.
func text(s string) string { return clean(cut(s, factMaxRunes)) }

// A message of a conversation, as GenAI, OpenAI and most SDKs shape
// them: a role and parts (text, tool calls, tool results).
type (
	message struct {
		Role  string
		Parts []messagePart
	}
	messagePart struct {
		Kind string // text, tool_call, tool_result or other
		Text string
		Name string // of a tool call
	}
)

// messages reads raw as a conversation: a list of messages, one message,
// or a plain string. ok is false for anything else.
func messages(raw json.RawMessage) (out []message, more int, ok bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []message{{Parts: []messagePart{{Kind: "text", Text: clean(cut(s, messageMaxRunes))}}}}, 0, true
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		list = []json.RawMessage{raw}
	}
	for i, m := range list {
		if i == maxMessages {
			return out, len(list) - i, true
		}
		msg, ok := readMessage(m)
		if !ok {
			return nil, 0, false
		}
		out = append(out, msg)
	}
	return out, 0, len(out) > 0
}

func readMessage(raw json.RawMessage) (message, bool) {
	var m struct {
		Role      *string           `json:"role"`
		Content   json.RawMessage   `json:"content"`
		Parts     []json.RawMessage `json:"parts"`
		ToolCalls []struct {
			Function struct {
				Name      string          `json:"name"`
				Arguments json.RawMessage `json:"arguments"`
			} `json:"function"`
		} `json:"tool_calls"`
	}
	if json.Unmarshal(raw, &m) != nil || m.Role == nil {
		return message{}, false
	}
	msg := message{Role: clean(cut(*m.Role, 40))}
	var s string
	switch {
	case json.Unmarshal(m.Content, &s) == nil:
		if s != "" {
			msg.Parts = append(msg.Parts, messagePart{Kind: "text", Text: clean(cut(s, messageMaxRunes))})
		}
	case len(m.Content) > 0:
		var parts []json.RawMessage
		if json.Unmarshal(m.Content, &parts) == nil {
			m.Parts = append(m.Parts, parts...)
		}
	}
	for _, p := range m.Parts {
		if part := readPart(p); part.Kind != "text" || part.Text != "" {
			msg.Parts = append(msg.Parts, part)
		}
	}
	for _, c := range m.ToolCalls {
		msg.Parts = append(msg.Parts, messagePart{Kind: "tool_call", Name: text(c.Function.Name), Text: argText(c.Function.Arguments)})
	}
	return msg, true
}

func readPart(raw json.RawMessage) messagePart {
	var p struct {
		Type      string          `json:"type"`
		Content   json.RawMessage `json:"content"`
		Text      *string         `json:"text"`
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
		Response  json.RawMessage `json:"response"`
		Result    json.RawMessage `json:"result"`
	}
	if json.Unmarshal(raw, &p) != nil {
		return messagePart{Kind: "other", Text: clean(cut(string(raw), messageMaxRunes))}
	}
	switch {
	case p.Type == "tool_call" || p.Type == "function_call" || p.Type == "tool_use":
		return messagePart{Kind: "tool_call", Name: text(p.Name), Text: argText(p.Arguments)}
	case p.Type == "tool_call_response" || p.Type == "tool_result":
		return messagePart{Kind: "tool_result", Text: argText(cmpRaw(p.Response, p.Result, p.Content))}
	case p.Text != nil:
		return messagePart{Kind: "text", Text: clean(cut(*p.Text, messageMaxRunes))}
	}
	var s string
	if json.Unmarshal(p.Content, &s) == nil {
		return messagePart{Kind: "text", Text: clean(cut(s, messageMaxRunes))}
	}
	return messagePart{Kind: "other", Text: clean(cut(string(raw), messageMaxRunes))}
}

func cmpRaw(raws ...json.RawMessage) json.RawMessage {
	for _, r := range raws {
		if len(r) > 0 {
			return r
		}
	}
	return nil
}

// argText is a tool call's arguments or result on one line: a JSON string
// as its text, anything else compact.
func argText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return clean(cut(s, messageMaxRunes))
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return clean(cut(string(raw), messageMaxRunes))
	}
	return clean(cut(b.String(), messageMaxRunes))
}
