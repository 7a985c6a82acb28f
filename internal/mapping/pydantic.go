package mapping

import (
	"encoding/json"

	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// Pydantic AI's agent run span keeps the answer in final_result and the
// whole conversation, history included, in pydantic_ai.all_messages (GenAI
// message objects), this run's first message at pydantic_ai.new_message_index.
const (
	keyPydanticFinalResult     = "final_result"
	keyPydanticAllMessages     = "pydantic_ai.all_messages"
	keyPydanticNewMessageIndex = "pydantic_ai.new_message_index"
)

// pydanticPrompt is this run's request in pydantic_ai.all_messages: its
// messages from new_message_index up to the first reply (role assistant).
// The rest of the conversation is on the timeline, one model call at a time.
func pydanticPrompt() source {
	return source{key: keyPydanticAllMessages, extract: func(o *obj, name string, s *spans.Span) bool {
		str := firstString(s, keyPydanticAllMessages)
		if !looksLikeJSON(str) {
			return false
		}
		var msgs []json.RawMessage
		if json.Unmarshal([]byte(str), &msgs) != nil {
			return false
		}
		from := 0
		if n, ok := firstInt(s, keyPydanticNewMessageIndex); ok && n > 0 && n < int64(len(msgs)) {
			from = int(n)
		}
		end := from
		for end < len(msgs) {
			var m struct {
				Role string `json:"role"`
			}
			if json.Unmarshal(msgs[end], &m) == nil && m.Role == "assistant" {
				break
			}
			end++
		}
		if end == from {
			return false
		}
		if o.redacted(name, keyPydanticAllMessages) {
			return true
		}
		list := make([]byte, 0, len(str))
		list = append(list, '[')
		for i, m := range msgs[from:end] {
			if i > 0 {
				list = append(list, ',')
			}
			list = append(list, m...)
		}
		list = append(list, ']')
		o.key(name)
		o.buf = o.m.appendJSON(o.buf, list, true)
		return true
	}}
}
