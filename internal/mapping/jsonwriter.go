package mapping

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// maxDepth bounds nesting of attribute maps and slices: input is untrusted
// and the encoder must not recurse without limit.
const maxDepth = 32

const truncationMarker = "…[truncated]"

// obj appends one JSON object to a byte slice. Building payloads by hand
// keeps key order stable (golden files) and avoids reflection per span.
type obj struct {
	buf   []byte
	first bool
	m     *Mapper
}

func (m *Mapper) newObj(buf []byte) obj {
	return obj{buf: append(buf, '{'), first: true, m: m}
}

func (o *obj) key(k string) {
	if o.first {
		o.first = false
	} else {
		o.buf = append(o.buf, ',')
	}
	if plain(k) {
		// Most keys are the mapping's own names: nothing to escape.
		o.buf = append(o.buf, '"')
		o.buf = append(o.buf, k...)
		o.buf = append(o.buf, '"', ':')
		return
	}
	o.buf = appendString(o.buf, k, 0)
	o.buf = append(o.buf, ':')
}

// plain reports whether a short s needs no escaping in a JSON string.
func plain(s string) bool {
	if len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func (o *obj) str(k, v string) {
	o.key(k)
	o.buf = appendString(o.buf, v, o.m.maxStringLen)
}

func (o *obj) int(k string, v int64) {
	o.key(k)
	o.buf = strconv.AppendInt(o.buf, v, 10)
}

func (o *obj) float(k string, v float64) {
	o.key(k)
	o.buf = appendFloat(o.buf, v)
}

func (o *obj) bool(k string, v bool) {
	o.key(k)
	o.buf = strconv.AppendBool(o.buf, v)
}

// id appends a trace or span id as str would its hex text, without
// making that string.
func (o *obj) id(k string, id []byte) {
	if 2*len(id) > o.m.maxStringLen {
		o.str(k, hex.EncodeToString(id))
		return
	}
	o.key(k)
	o.buf = append(o.buf, '"')
	o.buf = hex.AppendEncode(o.buf, id)
	o.buf = append(o.buf, '"')
}

// time appends t as str would FormatTime(t), without making that string.
func (o *obj) time(k string, t time.Time) {
	o.key(k)
	start := len(o.buf)
	o.buf = appendTime(append(o.buf, '"'), t)
	if len(o.buf)-start-1 > o.m.maxStringLen {
		text := string(o.buf[start+1:])
		o.buf = appendString(o.buf[:start], text, o.m.maxStringLen)
		return
	}
	o.buf = append(o.buf, '"')
}

// raw appends an already valid JSON value.
func (o *obj) raw(k string, v []byte) {
	o.key(k)
	o.buf = append(o.buf, v...)
}

// attr appends an attribute value under k, honouring redaction of attrKey.
func (o *obj) attr(k, attrKey string, v spans.Value) {
	switch o.m.redact(attrKey) {
	case redactDrop:
		return
	case redactMask:
		o.str(k, redactedValue)
		return
	}
	o.key(k)
	o.buf = o.m.appendValue(o.buf, v, 0, true)
}

// attrs appends attributes as a nested object, skipping those in skip.
func (o *obj) attrs(k string, attrs []spans.Attr, skip func(string) bool) {
	o.key(k)
	inner := o.m.newObj(o.buf)
	for i := range attrs {
		if skip != nil && skip(attrs[i].Key) {
			continue
		}
		inner.attr(attrs[i].Key, attrs[i].Key, attrs[i].Value)
	}
	o.buf = inner.close()
}

func (o *obj) close() []byte { return append(o.buf, '}') }

// appendValue writes v as JSON. Strings that hold a JSON object or array
// (as GenAI message attributes do) are embedded as JSON when parseJSON is
// set and they fit the string limit, so the AgentOS UI can render them.
func (m *Mapper) appendValue(buf []byte, v spans.Value, depth int, parseJSON bool) []byte {
	switch v.Kind() {
	case spans.KindString:
		s := v.Str()
		switch {
		case !looksLikeJSON(s):
		case m.redacting():
			// Every JSON string is parsed, embedded or not, so that no
			// redacted key survives inside it.
			if utf8.ValidString(s) && json.Valid([]byte(s)) {
				return m.appendJSON(buf, []byte(s), parseJSON)
			}
		case parseJSON:
			if out, ok := agentosapi.AppendCompactJSON(buf, s); ok {
				return m.fitJSON(out, len(buf))
			}
		}
		return appendString(buf, s, m.maxStringLen)
	case spans.KindBool:
		return strconv.AppendBool(buf, v.Bool())
	case spans.KindInt:
		return strconv.AppendInt(buf, v.Int(), 10)
	case spans.KindDouble:
		return appendFloat(buf, v.Double())
	case spans.KindBytes:
		enc := base64.StdEncoding.EncodeToString(v.Bytes())
		return appendString(buf, enc, m.maxStringLen)
	case spans.KindSlice:
		if depth >= maxDepth {
			return appendString(buf, "[too deep]", 0)
		}
		buf = append(buf, '[')
		for i, e := range v.Slice() {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = m.appendValue(buf, e, depth+1, false)
		}
		return append(buf, ']')
	case spans.KindMap:
		if depth >= maxDepth {
			return appendString(buf, "[too deep]", 0)
		}
		o := m.newObj(buf)
		for _, kv := range v.Map() {
			if m.redact(kv.Key) == redactDrop {
				continue
			}
			if m.redact(kv.Key) == redactMask {
				o.str(kv.Key, redactedValue)
				continue
			}
			o.key(kv.Key)
			o.buf = m.appendValue(o.buf, kv.Value, depth+1, false)
		}
		return o.close()
	}
	return append(buf, "null"...)
}

func looksLikeJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			continue
		case '{', '[':
			return true
		}
		return false
	}
	return false
}

// appendJSON writes valid JSON text, compacted and with the keys redaction
// names masked or dropped at any depth: embedded when embed is set and it
// fits the string limit, else as a (cut) string.
func (m *Mapper) appendJSON(buf, text []byte, embed bool) []byte {
	start := len(buf)
	if m.redacting() {
		buf = m.appendRedactedJSON(buf, text)
	} else {
		buf = appendCompact(buf, text)
	}
	if !embed {
		return asString(buf, start, m.maxStringLen)
	}
	return m.fitJSON(buf, start)
}

// fitJSON keeps the JSON text written at buf[start:] embedded if it fits
// the string limit, else makes it a (cut) string.
func (m *Mapper) fitJSON(buf []byte, start int) []byte {
	if len(buf)-start <= m.maxStringLen {
		return buf
	}
	return asString(buf, start, m.maxStringLen)
}

// asString turns the text written at buf[start:] into a JSON string.
func asString(buf []byte, start, limit int) []byte {
	enc := string(buf[start:])
	return appendString(buf[:start], enc, limit)
}

// appendRedactedJSON re-encodes valid JSON text in its own key order,
// masking or dropping members whose key redaction names. Should the text
// not parse after all, it writes the mask: redaction fails closed.
func (m *Mapper) appendRedactedJSON(buf, text []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	out, err := m.appendRedactedValue(buf, dec, 0)
	if err != nil {
		return appendString(buf, redactedValue, 0)
	}
	return out
}

func (m *Mapper) appendRedactedValue(buf []byte, dec *json.Decoder, depth int) ([]byte, error) {
	tok, err := dec.Token()
	if err != nil {
		return buf, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if depth >= maxDepth {
			return appendString(buf, "[too deep]", 0), skipRest(dec)
		}
		if t == '[' {
			buf = append(buf, '[')
			for i := 0; dec.More(); i++ {
				if i > 0 {
					buf = append(buf, ',')
				}
				if buf, err = m.appendRedactedValue(buf, dec, depth+1); err != nil {
					return buf, err
				}
			}
			_, err = dec.Token()
			return append(buf, ']'), err
		}
		o := m.newObj(buf)
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return o.buf, err
			}
			k, _ := kt.(string)
			switch m.redact(k) {
			case redactDrop:
				if err := skipValue(dec); err != nil {
					return o.buf, err
				}
				continue
			case redactMask:
				o.str(k, redactedValue)
				if err := skipValue(dec); err != nil {
					return o.buf, err
				}
				continue
			}
			o.key(k)
			if o.buf, err = m.appendRedactedValue(o.buf, dec, depth+1); err != nil {
				return o.buf, err
			}
		}
		_, err = dec.Token()
		return o.close(), err
	case string:
		// JSON encoded again inside a string hides keys too.
		if depth < maxDepth && looksLikeJSON(t) && json.Valid([]byte(t)) {
			dec := json.NewDecoder(strings.NewReader(t))
			dec.UseNumber()
			inner, err := m.appendRedactedValue(nil, dec, depth+1)
			if err == nil {
				return appendString(buf, string(inner), 0), nil
			}
			return appendString(buf, redactedValue, 0), nil
		}
		return appendString(buf, t, 0), nil
	case json.Number:
		return append(buf, t...), nil
	case bool:
		return strconv.AppendBool(buf, t), nil
	}
	return append(buf, "null"...), nil
}

// skipValue reads one whole value.
func skipValue(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); ok && (d == '{' || d == '[') {
		return skipRest(dec)
	}
	return nil
}

// skipRest reads to the end of the array or object just opened.
func skipRest(dec *json.Decoder) error {
	for open := 1; open > 0; {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				open++
			default:
				open--
			}
		}
	}
	return nil
}

// appendCompact appends valid JSON text without insignificant whitespace.
func appendCompact(buf []byte, text []byte) []byte {
	s := text
	start := len(buf)
	buf = append(buf, s...)
	// The text is valid JSON, so stripping whitespace outside strings in
	// place is enough; json.Compact would need a bytes.Buffer.
	inStr, esc := false, false
	dst := buf[:start]
	for i := start; i < len(buf); i++ {
		c := buf[i]
		if inStr {
			dst = append(dst, c)
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			inStr = true
		}
		dst = append(dst, c)
	}
	return dst
}

// appendMillis appends ns/1e6 as appendFloat(buf, float64(ns)/1e6) does,
// every span's end event has one. From 100 ns to under 1000 s the 'g'
// format prints no exponent, and the exact decimal ns/1e6, at most 12
// significant digits, is the shortest text that parses back to that float,
// which is what strconv prints: so it is written from the integer, without
// the float formatting.
func appendMillis(buf []byte, ns int64) []byte {
	if ns < 100 || ns >= 1e12 {
		return appendFloat(buf, float64(ns)/1e6)
	}
	buf = strconv.AppendInt(buf, ns/1e6, 10)
	frac := ns % 1e6
	if frac == 0 {
		return buf
	}
	d := [7]byte{'.'}
	for i := 6; i > 0; i-- {
		d[i] = byte('0' + frac%10)
		frac /= 10
	}
	n := len(d)
	for d[n-1] == '0' {
		n--
	}
	return append(buf, d[:n]...)
}

func appendFloat(buf []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(buf, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(buf, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(buf, `"-Infinity"`...)
	}
	return strconv.AppendFloat(buf, f, 'g', -1, 64)
}

// appendString writes s as a JSON string, repairing invalid UTF-8 and, when
// limit > 0, cutting it at a rune boundary with a marker.
func appendString(buf []byte, s string, limit int) []byte {
	truncated := false
	if limit > 0 && len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
		truncated = true
	}
	buf = append(buf, '"')
	buf = agentosapi.AppendEscaped(buf, s)
	if truncated {
		buf = append(buf, truncationMarker...)
	}
	return append(buf, '"')
}
