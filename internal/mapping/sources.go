package mapping

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// source is where a payload field may come from: an attribute taken as it
// is, or attributes an extractor reads (flattened families, JSON documents).
type source struct {
	key string
	// extract writes the field under name and reports whether it did; nil
	// means the attribute's value as it is.
	extract func(o *obj, name string, s *spans.Span) bool
	// events: extract reads only the span's events and logs (a tiered
	// source), so a span without any has nothing for it.
	events bool
}

type sources []source

func keys(ks ...string) sources {
	out := make(sources, len(ks))
	for i, k := range ks {
		out[i] = source{key: k}
	}
	return out
}

func (a sources) then(more ...source) sources { return append(a[:len(a):len(a)], more...) }

// from writes the first source present under name.
func (o *obj) from(s *spans.Span, name string, srcs sources) bool {
	for _, src := range srcs {
		if src.extract != nil {
			if src.events && len(s.Events) == 0 {
				continue
			}
			if src.extract(o, name, s) {
				return true
			}
			continue
		}
		if v, ok := s.Attr(src.key); ok && !isPlaceholder(v) {
			o.attr(name, src.key, v)
			return true
		}
	}
	return false
}

// isPlaceholder reports ADK's stand-ins for a value it does not have.
func isPlaceholder(v spans.Value) bool {
	s, ok := v.AsString()
	if !ok {
		return false
	}
	switch s {
	case "<not specified>", "<not serializable>", "N/A":
		return true
	}
	return false
}

// redacted writes the field as redaction of key requires and reports
// whether it did (masked, or dropped by writing nothing).
func (o *obj) redacted(name, key string) bool {
	switch o.m.redact(key) {
	case redactDrop:
		return true
	case redactMask:
		o.str(name, redactedValue)
		return true
	}
	return false
}

// jsonDoc parses a string attribute holding a JSON object.
func jsonDoc(s *spans.Span, key string) (map[string]json.RawMessage, bool) {
	str := firstString(s, key)
	if !looksLikeJSON(str) {
		return nil, false
	}
	var doc map[string]json.RawMessage
	if json.Unmarshal([]byte(str), &doc) != nil {
		return nil, false
	}
	return doc, true
}

// foldKey compares JSON member names across Go (FinishReason), camelCase
// (finishReason) and snake_case (finish_reason) encodings.
func foldKey(k string) string { return strings.ToLower(strings.ReplaceAll(k, "_", "")) }

// member returns the first of names present in doc, not null.
func member(doc map[string]json.RawMessage, names ...string) (json.RawMessage, bool) {
	for _, n := range names {
		for k, v := range doc {
			if foldKey(k) == foldKey(n) && string(v) != "null" {
				return v, true
			}
		}
	}
	return nil, false
}

func memberString(doc map[string]json.RawMessage, names ...string) string {
	raw, ok := member(doc, names...)
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// jsonField is a string member of a JSON document attribute.
func jsonField(key, field string) source {
	return source{key: key, extract: func(o *obj, name string, s *spans.Span) bool {
		doc, ok := jsonDoc(s, key)
		if !ok {
			return false
		}
		v := memberString(doc, field)
		if v == "" {
			return false
		}
		if !o.redacted(name, key) {
			o.str(name, v)
		}
		return true
	}}
}

// adkContents is the conversation in ADK's llm_request (Go: "content",
// Python: "contents") or the reply in its llm_response ("Content").
func adkContents(key string, fields ...string) source {
	return source{key: key, extract: func(o *obj, name string, s *spans.Span) bool {
		doc, ok := jsonDoc(s, key)
		if !ok {
			return false
		}
		raw, ok := member(doc, fields...)
		if !ok {
			return false
		}
		if !o.redacted(name, key) {
			o.key(name)
			o.buf = o.m.appendJSON(o.buf, raw, true)
		}
		return true
	}}
}

// finishReasons writes finish_reasons as an array: GenAI's is one, and
// OpenInference and the Vercel AI SDK give a single string.
func finishReasons(key string) source {
	return source{key: key, extract: func(o *obj, name string, s *spans.Span) bool {
		v, ok := s.Attr(key)
		if !ok {
			return false
		}
		if str, isStr := v.AsString(); isStr && !looksLikeJSON(str) {
			if str == "" {
				return false
			}
			if !o.redacted(name, key) {
				o.strArray(name, str)
			}
			return true
		}
		o.attr(name, key, v)
		return true
	}}
}

func (o *obj) strArray(name string, vals ...string) {
	o.key(name)
	o.buf = append(o.buf, '[')
	for i, v := range vals {
		if i > 0 {
			o.buf = append(o.buf, ',')
		}
		o.buf = appendString(o.buf, v, o.m.maxStringLen)
	}
	o.buf = append(o.buf, ']')
}

// adkFinishReason is the finish reason inside ADK's llm_response.
func adkFinishReason(key string) source {
	return source{key: key, extract: func(o *obj, name string, s *spans.Span) bool {
		doc, ok := jsonDoc(s, key)
		if !ok {
			return false
		}
		r := memberString(doc, "finish_reason")
		if r == "" {
			return false
		}
		if !o.redacted(name, key) {
			o.strArray(name, r)
		}
		return true
	}}
}

// langChainGeneration is the first generation in the output.value of an
// OpenInference LangChain LLM span, and its message's kwargs.
func langChainGeneration(s *spans.Span, key string) (gen, kwargs map[string]json.RawMessage, ok bool) {
	if _, ok := s.Attr(keyOpenInferenceKind); !ok {
		return nil, nil, false
	}
	doc, ok := jsonDoc(s, key)
	if !ok {
		return nil, nil, false
	}
	var gens [][]map[string]json.RawMessage
	raw, ok := member(doc, "generations")
	if !ok || json.Unmarshal(raw, &gens) != nil || len(gens) == 0 || len(gens[0]) == 0 {
		return nil, nil, false
	}
	gen = gens[0][0]
	var msg struct {
		Kwargs map[string]json.RawMessage `json:"kwargs"`
	}
	if raw, ok := member(gen, "message"); ok && json.Unmarshal(raw, &msg) == nil {
		kwargs = msg.Kwargs
	}
	return gen, kwargs, true
}

// langChainMetadata is a string from the first generation's generation
// info, else from its message's response metadata.
func langChainMetadata(s *spans.Span, key string, names ...string) string {
	gen, kwargs, ok := langChainGeneration(s, key)
	if !ok {
		return ""
	}
	var info map[string]json.RawMessage
	if raw, ok := member(gen, "generation_info"); ok && json.Unmarshal(raw, &info) == nil {
		if r := memberString(info, names...); r != "" {
			return r
		}
	}
	var meta map[string]json.RawMessage
	if raw, ok := member(kwargs, "response_metadata"); ok && json.Unmarshal(raw, &meta) == nil {
		return memberString(meta, names...)
	}
	return ""
}

// langChainFinishReason reads the finish reason LangChain's OpenInference
// instrumentation leaves only inside output.value.
func langChainFinishReason(key string) source {
	return source{key: key, extract: func(o *obj, name string, s *spans.Span) bool {
		r := langChainMetadata(s, key, "finish_reason", "stop_reason")
		if r == "" {
			return false
		}
		if !o.redacted(name, key) {
			o.strArray(name, r)
		}
		return true
	}}
}

// langChainModel is the model the provider answered with, which LangChain
// keeps in the reply's response metadata (OpenAI: model_name, Anthropic
// and Ollama: model).
func langChainModel(key string) source {
	return source{key: key, extract: func(o *obj, name string, s *spans.Span) bool {
		model := langChainMetadata(s, key, "model_name", "model")
		if model == "" {
			return false
		}
		if !o.redacted(name, key) {
			o.str(name, model)
		}
		return true
	}}
}

// langChainToolCallReply is the reply of a LangChain LLM span that asked
// for tools, from output.value: OpenInference flattens only OpenAI-style
// additional_kwargs.tool_calls into llm.output_messages, so for other
// providers the flattened reply is an empty message.
func langChainToolCallReply(key string) source {
	return source{key: key, extract: func(o *obj, name string, s *spans.Span) bool {
		_, kwargs, ok := langChainGeneration(s, key)
		if !ok {
			return false
		}
		calls, ok := member(kwargs, "tool_calls")
		if !ok || len(bytes.TrimSpace(calls)) < 3 { // absent or []
			return false
		}
		if o.redacted(name, key) {
			return true
		}
		content, ok := member(kwargs, "content")
		if !ok {
			content = json.RawMessage(`""`)
		}
		msg := make([]byte, 0, len(content)+len(calls)+64)
		msg = append(msg, `[{"role":"assistant","content":`...)
		msg = append(msg, content...)
		msg = append(msg, `,"tool_calls":`...)
		msg = append(msg, calls...)
		msg = append(msg, "}]"...)
		o.key(name)
		o.buf = o.m.appendJSON(o.buf, msg, true)
		return true
	}}
}

// langChainToolMessage reads the tool's own result out of the serialised
// ToolMessage LangChain's OpenInference instrumentation puts in a TOOL
// span's output.value ({"output":{"lc":1,…,"kwargs":{"content":…}}}):
// field "content" gives the result (JSON embedded), "tool_call_id" the
// call id.
func langChainToolMessage(key, field string) source {
	return source{key: key, extract: func(o *obj, name string, s *spans.Span) bool {
		if _, ok := s.Attr(keyOpenInferenceKind); !ok {
			return false
		}
		doc, ok := jsonDoc(s, key)
		if !ok {
			return false
		}
		var out struct {
			ID     []string                   `json:"id"`
			Kwargs map[string]json.RawMessage `json:"kwargs"`
		}
		raw, ok := member(doc, "output")
		if !ok || json.Unmarshal(raw, &out) != nil || len(out.ID) == 0 || out.ID[len(out.ID)-1] != "ToolMessage" {
			return false
		}
		raw, ok = member(out.Kwargs, field)
		if !ok {
			return false
		}
		var str string
		if json.Unmarshal(raw, &str) != nil {
			// Content blocks rather than a string: keep them as they are.
			if !o.redacted(name, key) {
				o.key(name)
				o.buf = o.m.appendJSON(o.buf, raw, true)
			}
			return true
		}
		if str == "" {
			return false
		}
		if !o.redacted(name, key) {
			o.key(name)
			o.buf = o.m.appendValue(o.buf, spans.StringValue(str), 0, true)
		}
		return true
	}}
}

// Token counts: the usage attributes, else ADK's llm_response usage.
func inputTokens(s *spans.Span) (int64, bool) {
	if n, ok := firstInt(s, inputTokenKeys...); ok {
		return n, true
	}
	return adkUsage(s, "prompt_token_count")
}

func outputTokens(s *spans.Span) (int64, bool) {
	if n, ok := firstInt(s, outputTokenKeys...); ok {
		return n, true
	}
	return adkUsage(s, "candidates_token_count")
}

func adkUsage(s *spans.Span, field string) (int64, bool) {
	if _, ok := s.Attr(keyADKLLMResponse); !ok {
		return 0, false
	}
	doc, ok := jsonDoc(s, keyADKLLMResponse)
	if !ok {
		return 0, false
	}
	raw, ok := member(doc, "usage_metadata")
	var usage map[string]json.RawMessage
	if !ok || json.Unmarshal(raw, &usage) != nil {
		return 0, false
	}
	raw, ok = member(usage, field)
	var n int64
	if !ok || json.Unmarshal(raw, &n) != nil {
		return 0, false
	}
	return n, true
}

// flattenedMessages rebuilds OpenInference's flattened message list
// (llm.input_messages.0.message.role, ….contents.0.message_content.text,
// ….tool_calls.0.tool_call.function.arguments) as a JSON array of
// messages, dropping the repeated namespace segments.
func flattenedMessages(prefix string) source {
	return source{key: prefix, extract: func(o *obj, name string, s *spans.Span) bool {
		var root *flatNode
		for i := range s.Attrs {
			// prefix, a dot and more: checked without building prefix+"."
			// for every attribute of every span that reaches this source.
			key := s.Attrs[i].Key
			if len(key) <= len(prefix)+1 || key[len(prefix)] != '.' || !strings.HasPrefix(key, prefix) {
				continue
			}
			rest := key[len(prefix)+1:]
			if root == nil {
				root = newFlatNode()
			}
			root.insert(flatPath(rest), i)
		}
		if root == nil {
			return false
		}
		if !o.redacted(name, prefix) {
			o.key(name)
			o.buf = o.m.appendFlat(o.buf, root, s.Attrs, 0)
		}
		return true
	}}
}

// flatNode is one level of a flattened attribute family.
type flatNode struct {
	names []string // members in first-seen order
	kids  map[string]*flatNode
	attr  int // leaf: index of its attribute; -1 otherwise
}

func newFlatNode() *flatNode { return &flatNode{attr: -1} }

// flatPath splits a flattened key, dropping the namespace segment that
// OpenInference repeats after each index.
func flatPath(rest string) []string {
	segs := strings.Split(rest, ".")
	out := segs[:0]
	for i, seg := range segs {
		if i > 0 && isIndex(segs[i-1]) {
			switch seg {
			case "message", "message_content", "tool_call":
				continue
			}
		}
		out = append(out, seg)
	}
	if len(out) > maxDepth {
		out = out[:maxDepth]
	}
	return out
}

func isIndex(seg string) bool {
	if seg == "" {
		return false
	}
	for i := 0; i < len(seg); i++ {
		if seg[i] < '0' || seg[i] > '9' {
			return false
		}
	}
	return true
}

func (n *flatNode) insert(path []string, attr int) {
	for _, seg := range path {
		if n.kids == nil {
			n.kids = map[string]*flatNode{}
		}
		kid, ok := n.kids[seg]
		if !ok {
			kid = newFlatNode()
			n.kids[seg] = kid
			n.names = append(n.names, seg)
		}
		n = kid
	}
	n.attr = attr
}

func (n *flatNode) isArray() bool {
	for _, name := range n.names {
		if !isIndex(name) {
			return false
		}
	}
	return len(n.names) > 0
}

// appendFlat writes a flattened family; a leaf is masked or dropped when
// redaction names its full attribute key or its own member name.
func (m *Mapper) appendFlat(buf []byte, n *flatNode, attrs []spans.Attr, depth int) []byte {
	if len(n.names) == 0 {
		if n.attr < 0 {
			return append(buf, "null"...)
		}
		return m.appendValue(buf, attrs[n.attr].Value, depth, true)
	}
	if n.isArray() {
		idx := append([]string(nil), n.names...)
		sort.Slice(idx, func(i, j int) bool {
			a, _ := strconv.Atoi(idx[i])
			b, _ := strconv.Atoi(idx[j])
			return a < b
		})
		buf = append(buf, '[')
		for i, name := range idx {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = m.appendFlat(buf, n.kids[name], attrs, depth+1)
		}
		return append(buf, ']')
	}
	o := m.newObj(buf)
	for _, name := range n.names {
		kid := n.kids[name]
		action := m.redact(name)
		if kid.attr >= 0 && len(kid.names) == 0 && action == redactNone {
			action = m.redact(attrs[kid.attr].Key)
		}
		switch action {
		case redactDrop:
			continue
		case redactMask:
			o.str(name, redactedValue)
			continue
		}
		o.key(name)
		o.buf = m.appendFlat(o.buf, kid, attrs, depth+1)
	}
	return o.close()
}
