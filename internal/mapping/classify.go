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

// Google ADK names and values that type its spans.
const (
	adkMergedToolName = "(merged tools)"        // gen_ai.tool.name of the merged span
	adkMergedSpanName = "execute_tool (merged)" // named at start, typed only at end
	adkCallLLMSpan    = "call_llm"              // ADK before semconv: no operation name
)

// Classify types a span by the GenAI semantic conventions, then
// OpenInference's span kind, then OpenLLMetry's, then the Vercel AI SDK's
// span names, then ADK's call_llm span name.
//
// ADK's merged parallel-tool span is a step: its children are the tool
// calls, and counting it as one too would count one call more. Its end
// event still says what it was (see EndEvent).
func Classify(s *spans.Span) SpanType {
	if isADKMerged(s) {
		return TypeStep
	}
	return classify(s)
}

func isADKMerged(s *spans.Span) bool {
	return s.Name == adkMergedSpanName || firstString(s, "gen_ai.tool.name") == adkMergedToolName
}

func classify(s *spans.Span) SpanType {
	if v, ok := s.Attr(keyOperationName); ok {
		op, _ := v.AsString()
		if t, ok := genAIOperationType(op); ok {
			return t
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
	if t, ok := traceloopType(s); ok {
		return t
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
		return TypeStep
	}
	// ADK before the GenAI conventions named its LLM span only.
	if s.Name == adkCallLLMSpan {
		return TypeLLM
	}
	return TypeStep
}

func genAIOperationType(op string) (SpanType, bool) {
	switch op {
	case "chat", "text_completion", "generate_content":
		return TypeLLM, true
	case "execute_tool":
		return TypeTool, true
	case opInvokeAgent, "create_agent":
		return TypeAgent, true
	}
	return TypeStep, false
}

// Attribute keys of the vocabularies, by the payload field they feed.
const (
	keyADKLLMRequest   = "gcp.vertex.agent.llm_request"
	keyADKLLMResponse  = "gcp.vertex.agent.llm_response"
	keyADKToolArgs     = "gcp.vertex.agent.tool_call_args"
	keyADKToolResponse = "gcp.vertex.agent.tool_response"

	keyOIInputMessages  = "llm.input_messages"
	keyOIOutputMessages = "llm.output_messages"
	keyOIOutputValue    = "output.value"
)

// Sources, in order of preference across the conventions, for each field
// the AgentOS timeline shows. docs/mapping.md lists every key here
// (TestMappingDocListsEveryKey).
var (
	modelSources = keys("gen_ai.request.model", "gen_ai.response.model",
		"llm.request.model_name", "llm.model_name", "ai.model.id").
		then(jsonField(keyADKLLMRequest, "model"))
	responseModelSources = keys("gen_ai.response.model", "gen_ai.request.model",
		"llm.response.model_name", "llm.model_name", "ai.response.model", "ai.model.id").
		then(jsonField(keyADKLLMRequest, "model"), langChainModel(keyOIOutputValue))
	providerSources = keys("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system", "ai.model.provider")
	promptSources   = keys("gen_ai.input.messages").
			then(flattenedMessages(keyOIInputMessages), flattenedMessages(keyTraceloopPrompts), adkContents(keyADKLLMRequest, "contents", "content")).
			then(keys("input.value", "ai.prompt.messages", "ai.prompt")...).
			then(promptEventSources...)
	systemInstructionSources = keys(keySystemInstructions).then(systemInstructionEventSources...)
	responseSources          = keys("gen_ai.output.messages").
					then(langChainToolCallReply(keyOIOutputValue), flattenedMessages(keyOIOutputMessages), flattenedMessages(keyTraceloopCompletions), adkContents(keyADKLLMResponse, "content")).
					then(keys(keyOIOutputValue, "ai.response.text", "ai.response.object", "ai.response.toolCalls")...).
					then(responseEventSources...)
	finishSources = sources{
		finishReasons("gen_ai.response.finish_reasons"),
		finishReasons("llm.finish_reason"),
		traceloopFinishReasons(),
		finishReasons("ai.response.finishReason"),
		adkFinishReason(keyADKLLMResponse),
		langChainFinishReason(keyOIOutputValue),
	}.then(tiered(detailsFinishReasons, choiceFinishReasons)...)
	inputTokenKeys   = []string{"gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt", "ai.usage.inputTokens", "ai.usage.promptTokens"}
	outputTokenKeys  = []string{"gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion", "ai.usage.outputTokens", "ai.usage.completionTokens"}
	toolNameKeys     = []string{"gen_ai.tool.name", "tool.name", "ai.toolCall.name", keyTraceloopEntityName}
	toolInputSources = sources{traceloopEntity("gen_ai.tool.call.arguments", false)}.
				then(keys("gen_ai.tool.call.arguments", keyADKToolArgs)...).
				then(smolagentsToolArgs("input.value")).
				then(keys("input.value", "ai.toolCall.args")...).
				then(traceloopEntity(keyTraceloopEntityInput, false)).
				then(toolInputEventSources...)
	toolOutputSources = sources{traceloopEntity("gen_ai.tool.call.result", true)}.
				then(keys("gen_ai.tool.call.result", keyADKToolResponse)...).
				then(langChainToolMessage(keyOIOutputValue, "content")).
				then(keys(keyOIOutputValue, "ai.toolCall.result")...).
				then(traceloopEntity(keyTraceloopEntityOut, true)).
				then(toolOutputEventSources...)
	toolCallIDSources = keys("gen_ai.tool.call.id", "tool.id", "ai.toolCall.id").
				then(langChainToolMessage(keyOIOutputValue, "tool_call_id")).
				then(toolCallIDEventSources...)
	agentNameKeys = []string{"gen_ai.agent.name", "agent.name", keyTraceloopEntityName}

	// Content from span events, then from correlated log records, read
	// after every attribute source.
	promptEventSources            = tiered(detailsAttr(keyInputMessages), messageEvents)
	systemInstructionEventSources = tiered(detailsAttr(keySystemInstructions))
	responseEventSources          = tiered(detailsAttr(keyOutputMessages), choiceEvents)
	toolInputEventSources         = tiered(detailsToolPart(keyInputMessages, "tool_call", "arguments"), eventAttrSource(eventToolMessage, "content"))
	toolOutputEventSources        = tiered(detailsToolPart(keyOutputMessages, "tool_call_response", "response"), eventAttrSource(eventChoice, "message"))
	toolCallIDEventSources        = tiered(detailsToolPart(keyInputMessages, "tool_call", "id"), eventAttrSource(eventToolMessage, "id"))
)

// recognisedKeys lists every attribute key (or flattened family prefix)
// the mapping reads, for the documentation test.
func recognisedKeys() []string {
	out := []string{keyOperationName, keyOpenInferenceKind, keyVercelOperationID, keyTraceloopKind, keyTraceloopRequestType,
		keyAgentID, keyTriggerType, keyExternalRunID, keyRunInput, keyRunOutput, keyLevel,
		keyExceptionMessage, keyExceptionType, keyExceptionStacktrace, keyErrorType,
		"gen_ai.tool.name", "gen_ai.input.messages", "gen_ai.output.messages"}
	for _, srcs := range []sources{modelSources, responseModelSources, providerSources, promptSources,
		systemInstructionSources, responseSources, finishSources, toolInputSources, toolOutputSources, toolCallIDSources,
		rootLateInputSources} {
		for _, s := range srcs {
			out = append(out, s.key)
		}
	}
	out = append(out, contentEventNames...)
	out = append(out, keyPydanticNewMessageIndex, keyEventName)
	for _, ks := range [][]string{inputTokenKeys, outputTokenKeys, toolNameKeys, agentNameKeys, rootInputKeys, rootOutputKeys} {
		out = append(out, ks...)
	}
	return out
}
