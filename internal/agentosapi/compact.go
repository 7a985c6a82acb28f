package agentosapi

import "unicode/utf8"

// MaxJSONDepth bounds nesting in AppendCompactJSON; deeper text is not
// embedded as JSON (it is kept as a string), so hostile input cannot
// exhaust the stack.
const MaxJSONDepth = 1000

// AppendCompactJSON appends src without insignificant whitespace if src is
// one valid JSON value with valid UTF-8, and reports whether it was: one
// pass that validates and compacts, copying runs of plain string bytes at
// once. A JSON document taken from span input (GenAI messages, tool
// arguments) is embedded in a request only this way: a document cut by an
// attribute length limit would make AgentOS refuse the whole request. On
// false, dst is returned unchanged in length (what was appended is
// garbage past it).
func AppendCompactJSON(dst []byte, src string) ([]byte, bool) {
	c := compactor{src: src, out: dst}
	start := len(dst)
	c.space()
	if !c.value(0) {
		return dst[:start], false
	}
	c.space()
	if c.i != len(src) {
		return dst[:start], false
	}
	return c.out, true
}

type compactor struct {
	src string
	i   int
	out []byte
}

func (c *compactor) space() {
	for c.i < len(c.src) {
		switch c.src[c.i] {
		case ' ', '\t', '\n', '\r':
			c.i++
		default:
			return
		}
	}
}

func (c *compactor) value(depth int) bool {
	if c.i >= len(c.src) || depth > MaxJSONDepth {
		return false
	}
	switch b := c.src[c.i]; {
	case b == '{':
		return c.object(depth)
	case b == '[':
		return c.array(depth)
	case b == '"':
		return c.string()
	case b == '-' || (b >= '0' && b <= '9'):
		return c.number()
	case b == 't':
		return c.literal("true")
	case b == 'f':
		return c.literal("false")
	case b == 'n':
		return c.literal("null")
	}
	return false
}

func (c *compactor) object(depth int) bool {
	if c.open('{', '}') {
		return true
	}
	for {
		c.space()
		if c.i >= len(c.src) || c.src[c.i] != '"' || !c.string() {
			return false
		}
		c.space()
		if c.i >= len(c.src) || c.src[c.i] != ':' {
			return false
		}
		c.out = append(c.out, ':')
		c.i++
		c.space()
		if !c.value(depth + 1) {
			return false
		}
		if more, ok := c.next('}'); !more {
			return ok
		}
	}
}

func (c *compactor) array(depth int) bool {
	if c.open('[', ']') {
		return true
	}
	for {
		c.space()
		if !c.value(depth + 1) {
			return false
		}
		if more, ok := c.next(']'); !more {
			return ok
		}
	}
}

// open copies an object's or array's opening byte, and its closing one
// too when it is empty, which it reports.
func (c *compactor) open(opening, closing byte) (empty bool) {
	c.out = append(c.out, opening)
	c.i++
	c.space()
	if c.i < len(c.src) && c.src[c.i] == closing {
		c.out = append(c.out, closing)
		c.i++
		return true
	}
	return false
}

// next copies what follows a member or element: a comma when more follow,
// or the closing byte (ok, no more); anything else is not JSON.
func (c *compactor) next(closing byte) (more, ok bool) {
	c.space()
	if c.i >= len(c.src) {
		return false, false
	}
	switch c.src[c.i] {
	case ',':
		c.out = append(c.out, ',')
		c.i++
		return true, true
	case closing:
		c.out = append(c.out, closing)
		c.i++
		return false, true
	}
	return false, false
}

// string copies a string literal as it is: escapes are checked, not
// rewritten, so the output means exactly what the input meant.
func (c *compactor) string() bool {
	src := c.src
	start := c.i
	i := c.i + 1
	for i < len(src) {
		if i = SkipPlain(src, i); i >= len(src) {
			break
		}
		b := src[i]
		switch {
		case b == '"':
			c.out = append(c.out, src[start:i+1]...)
			c.i = i + 1
			return true
		case b == '\\':
			if i+1 >= len(src) {
				return false
			}
			switch src[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(src) || !isHex4(src[i+2:i+6]) {
					return false
				}
				i += 6
			default:
				return false
			}
		case b < 0x20:
			return false
		default:
			r, n := utf8.DecodeRuneInString(src[i:])
			if r == utf8.RuneError && n <= 1 {
				return false
			}
			i += n
		}
	}
	return false
}

func isHex4(s string) bool {
	for i := range 4 {
		b := s[i]
		if !(b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F') {
			return false
		}
	}
	return true
}

// number checks the JSON number grammar and copies the number.
func (c *compactor) number() bool {
	src, i := c.src, c.i
	if src[i] == '-' {
		i++
	}
	switch {
	case i < len(src) && src[i] == '0':
		i++
	case i < len(src) && src[i] >= '1' && src[i] <= '9':
		for i < len(src) && src[i] >= '0' && src[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(src) && src[i] == '.' {
		i++
		if i >= len(src) || src[i] < '0' || src[i] > '9' {
			return false
		}
		for i < len(src) && src[i] >= '0' && src[i] <= '9' {
			i++
		}
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		i++
		if i < len(src) && (src[i] == '+' || src[i] == '-') {
			i++
		}
		if i >= len(src) || src[i] < '0' || src[i] > '9' {
			return false
		}
		for i < len(src) && src[i] >= '0' && src[i] <= '9' {
			i++
		}
	}
	c.out = append(c.out, src[c.i:i]...)
	c.i = i
	return true
}

func (c *compactor) literal(word string) bool {
	if len(c.src)-c.i < len(word) || c.src[c.i:c.i+len(word)] != word {
		return false
	}
	c.out = append(c.out, word...)
	c.i += len(word)
	return true
}
