package agentosapi

import (
	"unicode/utf8"
)

// AppendEvent appends e as encoding/json would write it (with HTML
// escaping off), but without reflection and without scanning the payload
// again: the payload is copied as it is, so it must already be compact,
// valid JSON, as the mapping writes it.
func AppendEvent(dst []byte, e *Event) []byte {
	dst = append(dst, `{"type":`...)
	dst = AppendString(dst, e.Type)
	if e.Level != "" {
		dst = append(dst, `,"level":`...)
		dst = AppendString(dst, e.Level)
	}
	if len(e.Payload) > 0 {
		dst = append(dst, `,"payload":`...)
		dst = append(dst, e.Payload...)
	}
	if e.OccurredAt != "" {
		dst = append(dst, `,"occurred_at":`...)
		dst = AppendString(dst, e.OccurredAt)
	}
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string, as encoding/json does with HTML
// escaping off: invalid UTF-8 becomes U+FFFD, and U+2028 and U+2029 are
// escaped so that the text is also valid JavaScript.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = AppendEscaped(dst, s)
	return append(dst, '"')
}

// AppendEscaped appends the inside of AppendString's JSON string, without
// the quotes, for a writer that adds to it before closing it.
func AppendEscaped(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		if i = SkipPlain(s, i); i == len(s) {
			break
		}
		if b := s[i]; b < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += n
			continue
		}
		i += n
		start = i
	}
	return append(dst, s[start:]...)
}

// SkipPlain returns the index of the first byte of s at or after i that a
// JSON string cannot hold as it is (a quote, a backslash, a control
// character) or that starts a multi-byte rune, or len(s). It reads sixteen,
// then eight bytes at a time: prompts are mostly plain ASCII, and this loop
// is where their bytes are spent.
func SkipPlain(s string, i int) int {
	for ; i+16 <= len(s); i += 16 {
		if special(word(s[i:i+8]))|special(word(s[i+8:i+16])) != 0 {
			break
		}
	}
	for ; i+8 <= len(s); i += 8 {
		if special(word(s[i:i+8])) != 0 {
			break
		}
	}
	for i < len(s) && plainByte[s[i]] {
		i++
	}
	return i
}

// word reads eight bytes of w (len 8) as one little-endian word; the loads
// merge into one.
func word(w string) uint64 {
	return uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
}

// special has the high bit of each byte of x set that is 0x80 or above,
// below 0x20, '"' or '\\'. Borrows may flag a later byte of a word that
// has a real match too, never a word that has none.
func special(x uint64) uint64 {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	quote, backslash := x^(ones*'"'), x^(ones*'\\')
	return (x | ((x - ones*0x20) &^ x) | ((quote - ones) &^ quote) | ((backslash - ones) &^ backslash)) & highs
}

// plainByte marks the bytes a JSON string holds as they are: printable
// ASCII other than the quote and the backslash.
var plainByte = func() (t [256]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

// AppendJSON appends r as encoding/json would write it (HTML escaping
// off), without reflection. Input must be compact, valid JSON, as the
// mapping writes it; it is copied as it is.
func (r *StartRunRequest) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"agent_id":`...)
	dst = AppendString(dst, r.AgentID)
	if r.TriggerType != "" {
		dst = append(dst, `,"trigger_type":`...)
		dst = AppendString(dst, r.TriggerType)
	}
	if len(r.Input) > 0 {
		dst = append(dst, `,"input":`...)
		dst = append(dst, r.Input...)
	}
	if r.ExternalRunID != "" {
		dst = append(dst, `,"external_run_id":`...)
		dst = AppendString(dst, r.ExternalRunID)
	}
	return append(dst, '}')
}

// AppendJSON appends r as encoding/json would write it; Output must be
// compact, valid JSON.
func (r *CompleteRunRequest) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"run_id":`...)
	dst = AppendString(dst, r.RunID)
	if len(r.Output) > 0 {
		dst = append(dst, `,"output":`...)
		dst = append(dst, r.Output...)
	}
	return append(dst, '}')
}

// AppendJSON appends r as encoding/json would write it; ErrorDetail must
// be compact, valid JSON.
func (r *FailRunRequest) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"run_id":`...)
	dst = AppendString(dst, r.RunID)
	dst = append(dst, `,"error_message":`...)
	dst = AppendString(dst, r.ErrorMessage)
	if len(r.ErrorDetail) > 0 {
		dst = append(dst, `,"error_detail":`...)
		dst = append(dst, r.ErrorDetail...)
	}
	return append(dst, '}')
}
