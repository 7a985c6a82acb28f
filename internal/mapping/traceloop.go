package mapping

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// OpenLLMetry (Traceloop) keys. Its newer instrumentations also set the
// GenAI ones, which come first; these are what the older ones and its
// decorators (@workflow, @task, @agent, @tool) leave.
const (
	keyTraceloopKind        = "traceloop.span.kind"
	keyTraceloopEntityName  = "traceloop.entity.name"
	keyTraceloopEntityInput = "traceloop.entity.input"
	keyTraceloopEntityOut   = "traceloop.entity.output"
	keyTraceloopRequestType = "llm.request.type"
	keyTraceloopPrompts     = "gen_ai.prompt"
	keyTraceloopCompletions = "gen_ai.completion"
)

// traceloopType types a span by traceloop.span.kind (workflow and task are
// steps), or an LLM call by llm.request.type.
func traceloopType(s *spans.Span) (SpanType, bool) {
	if kind := firstString(s, keyTraceloopKind); kind != "" {
		switch kind {
		case "agent":
			return TypeAgent, true
		case "tool":
			return TypeTool, true
		}
		return TypeStep, true
	}
	switch firstString(s, keyTraceloopRequestType) {
	case "chat", "completion":
		return TypeLLM, true
	}
	return TypeStep, false
}

// traceloopEntity reads a tool's arguments or result out of the wrappers
// OpenLLMetry puts them in: its decorators' {"args":[…],"kwargs":{…}}, its
// Python LangChain handler's {"input_str":…,"inputs":…} and
// {"output":…,"kwargs":…}, a serialised LangChain ToolMessage (content). It
// reads key only on spans with traceloop.span.kind, where the GenAI
// gen_ai.tool.call.* keys hold the same wrappers.
func traceloopEntity(key string, output bool) source {
	return source{key: key, extract: func(o *obj, name string, s *spans.Span) bool {
		if _, ok := s.Attr(keyTraceloopKind); !ok {
			return false
		}
		str := firstString(s, key)
		if str == "" {
			return false
		}
		// The decorators JSON-encode whatever they got: a string result
		// arrives as a JSON string literal.
		raw := json.RawMessage(str)
		switch {
		case !json.Valid(raw):
			raw, _ = json.Marshal(str)
		case looksLikeJSON(str):
			raw = unwrapTraceloop(raw, output)
		}
		if !o.redacted(name, key) {
			o.key(name)
			o.buf = o.m.appendEmbedded(o.buf, raw)
		}
		return true
	}}
}

func unwrapTraceloop(raw json.RawMessage, output bool) json.RawMessage {
	var doc map[string]json.RawMessage
	if json.Unmarshal(raw, &doc) != nil {
		return raw
	}
	if output {
		if v, ok := doc["output"]; ok && len(doc) <= 2 {
			return unwrapTraceloop(v, true)
		}
		if content, ok := lcMessageContent(doc); ok {
			return content
		}
		return raw
	}
	var args []json.RawMessage
	if a, ok := doc["args"]; ok && json.Unmarshal(a, &args) == nil {
		kwargs := doc["kwargs"]
		emptyKwargs := len(kwargs) == 0 || string(kwargs) == "{}" || string(kwargs) == "null"
		switch {
		case len(args) == 1 && emptyKwargs:
			return args[0]
		case len(args) == 0 && !emptyKwargs:
			return kwargs
		}
		return raw
	}
	if in, ok := doc["inputs"]; ok && len(in) > 2 && string(in) != "null" {
		return in
	}
	if in, ok := doc["input_str"]; ok {
		return in
	}
	return raw
}

// smolagentsToolArgs reads the arguments out of the bound call OpenInference's
// smolagents instrumentation puts in a TOOL span's input.value
// ({"args":[…],"sanitize_inputs_outputs":…,"kwargs":{…}}), unwrapped as
// OpenLLMetry's decorator arguments are.
func smolagentsToolArgs(key string) source {
	return source{key: key, extract: func(o *obj, name string, s *spans.Span) bool {
		if _, ok := s.Attr(keyOpenInferenceKind); !ok {
			return false
		}
		str := firstString(s, key)
		if !looksLikeJSON(str) {
			return false
		}
		var doc map[string]json.RawMessage
		if json.Unmarshal([]byte(str), &doc) != nil || len(doc) != 3 || doc["sanitize_inputs_outputs"] == nil {
			return false
		}
		raw := unwrapTraceloop(json.RawMessage(str), false)
		if string(raw) == str {
			return false
		}
		if !o.redacted(name, key) {
			o.key(name)
			o.buf = o.m.appendEmbedded(o.buf, raw)
		}
		return true
	}}
}

// lcMessageContent is the content of a serialised LangChain message
// ({"lc":1,"type":"constructor","id":[…],"kwargs":{"content":…}}).
func lcMessageContent(doc map[string]json.RawMessage) (json.RawMessage, bool) {
	if _, ok := doc["lc"]; !ok {
		return nil, false
	}
	var kw map[string]json.RawMessage
	if json.Unmarshal(doc["kwargs"], &kw) != nil {
		return nil, false
	}
	c, ok := kw["content"]
	return c, ok
}

// traceloopFinishReasons gathers gen_ai.completion.N.finish_reason.
func traceloopFinishReasons() source {
	return source{key: keyTraceloopCompletions, extract: func(o *obj, name string, s *spans.Span) bool {
		type indexed struct {
			i int
			r string
		}
		var found []indexed
		for i := range s.Attrs {
			rest, ok := strings.CutPrefix(s.Attrs[i].Key, keyTraceloopCompletions+".")
			if !ok {
				continue
			}
			idx, field, ok := strings.Cut(rest, ".")
			n, err := strconv.Atoi(idx)
			if !ok || err != nil || field != "finish_reason" {
				continue
			}
			if r, ok := s.Attrs[i].Value.AsString(); ok && r != "" {
				found = append(found, indexed{n, r})
			}
		}
		if len(found) == 0 {
			return false
		}
		sort.SliceStable(found, func(a, b int) bool { return found[a].i < found[b].i })
		reasons := make([]string, len(found))
		for i := range found {
			reasons[i] = found[i].r
		}
		if !o.redacted(name, keyTraceloopCompletions) {
			o.strArray(name, reasons...)
		}
		return true
	}}
}
