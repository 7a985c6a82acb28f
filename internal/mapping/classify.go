package mapping

import (
	"strings"

	"github.com/agentos-ai/agentos-otel/internal/spans"
)

const (
	keyOperationName = "gen_ai.operation.name"
	opInvokeAgent    = "invoke_agent"
)

// SpanType is what a span is on the timeline.
type SpanType uint8

// Span types; Step is everything that is not an LLM call, tool or agent.
const (
	TypeStep SpanType = iota
	TypeLLM
	TypeTool
	TypeAgent
)

func (t SpanType) String() string {
	switch t {
	case TypeLLM:
		return "llm"
	case TypeTool:
		return "tool"
	case TypeAgent:
		return "agent"
	}
	return "step"
}

// Classify types a span by the GenAI semantic conventions, then
// OpenInference's span kind, then the Vercel AI SDK's span names.
func Classify(s *spans.Span) SpanType {
	if v, ok := s.Attr(keyOperationName); ok {
		op, _ := v.AsString()
		switch op {
		case "chat", "text_completion", "generate_content":
			return TypeLLM
		case "execute_tool":
			return TypeTool
		case opInvokeAgent, "create_agent":
			return TypeAgent
		}
		if op != "" && !isVercel(s) {
			return TypeStep
		}
	}
	if v, ok := s.Attr(keyOpenInferenceKind); ok {
		kind, _ := v.AsString()
		switch strings.ToUpper(kind) {
		case "LLM":
			return TypeLLM
		case "TOOL":
			return TypeTool
		case "AGENT":
			return TypeAgent
		}
		return TypeStep
	}
	if isVercel(s) {
		op := firstString(s, keyVercelOperationID)
		if op == "" {
			op = s.Name
		}
		switch {
		case strings.HasSuffix(op, ".doGenerate"), strings.HasSuffix(op, ".doStream"):
			return TypeLLM
		case op == "ai.toolCall":
			return TypeTool
		}
	}
	return TypeStep
}

// Keys, in order of preference across the conventions, for each field the
// AgentOS timeline shows.
var (
	modelKeys        = []string{"gen_ai.request.model", "gen_ai.response.model", "llm.model_name", "ai.model.id"}
	responseModelKey = []string{"gen_ai.response.model", "gen_ai.request.model", "llm.model_name", "ai.response.model", "ai.model.id"}
	promptKeys       = []string{"gen_ai.input.messages", "input.value", "ai.prompt.messages", "ai.prompt"}
	responseKeys     = []string{"gen_ai.output.messages", "output.value", "ai.response.text", "ai.response.object", "ai.response.toolCalls"}
	inputTokenKeys   = []string{"gen_ai.usage.input_tokens", "llm.token_count.prompt", "ai.usage.inputTokens", "ai.usage.promptTokens"}
	outputTokenKeys  = []string{"gen_ai.usage.output_tokens", "llm.token_count.completion", "ai.usage.outputTokens", "ai.usage.completionTokens"}
	finishKeys       = []string{"gen_ai.response.finish_reasons", "ai.response.finishReason"}
	toolNameKeys     = []string{"gen_ai.tool.name", "tool.name", "ai.toolCall.name"}
	toolInputKeys    = []string{"gen_ai.tool.call.arguments", "input.value", "ai.toolCall.args"}
	toolOutputKeys   = []string{"gen_ai.tool.call.result", "output.value", "ai.toolCall.result"}
	toolCallIDKeys   = []string{"gen_ai.tool.call.id", "ai.toolCall.id"}
	agentNameKeys    = []string{"gen_ai.agent.name", "agent.name"}
	providerKeys     = []string{"gen_ai.provider.name", "gen_ai.system", "llm.provider", "ai.model.provider"}
)
