// Hand-made golden scenarios for frameworks that exist only in Python, so
// cannot be captured here: their span shapes written from each framework's
// instrumentation source (named per scenario) and the conventions it
// follows. `node handmade.mjs` rewrites them all; then regenerate the
// expected requests as the README says.
import { writeFileSync } from "node:fs";

const BASE_MS = 1767268800000; // 2026-01-01T12:00:00Z, the golden test's clock

function anyValue(v) {
  if (typeof v === "string") return { stringValue: v };
  if (typeof v === "boolean") return { boolValue: v };
  if (Number.isInteger(v)) return { intValue: String(v) };
  if (typeof v === "number") return { doubleValue: v };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValue) } };
  if (v === null) return {};
  throw new Error(`no OTLP value for ${JSON.stringify(v)}`);
}

const attrs = (o) => Object.entries(o).map(([key, v]) => ({ key, value: anyValue(v) }));
const ns = (ms) => (BigInt(BASE_MS) * 1000000n + BigInt(Math.round(ms * 1e6))).toString();

// span: times in ms from the base; events as [name, ms, attrs].
function span(trace, id, parent, name, start, end, a, { events = [], error = "", kind = 1 } = {}) {
  const sp = {
    traceId: trace, spanId: id, name, kind,
    startTimeUnixNano: ns(start), endTimeUnixNano: ns(end),
    attributes: attrs(a),
    events: events.map(([n, t, ea]) => ({ name: n, timeUnixNano: ns(t), attributes: attrs(ea ?? {}) })),
    status: error ? { code: 2, message: error } : {},
  };
  if (parent) sp.parentSpanId = parent;
  return sp;
}

function scenario(file, description, service, scope, spans) {
  const doc = {
    description,
    options: {},
    steps: [
      { otlp: { resourceSpans: [{ resource: { attributes: attrs({ "service.name": service }) }, scopeSpans: [{ scope: { name: scope }, spans }] }] } },
      { advance: "3s" },
    ],
  };
  writeFileSync(new URL(`../golden/${file}.otlp.json`, import.meta.url), JSON.stringify(doc, null, 2) + "\n");
}

const j = (v) => JSON.stringify(v);

// Pydantic AI (pydantic_ai_slim/pydantic_ai/capabilities/instrumentation.py,
// _instrumentation.py; instrumentation version 3 and later): the agent run
// span keeps the answer in final_result and the conversation in
// pydantic_ai.all_messages; chat spans carry gen_ai.input/output.messages.
{
  const T = "a1000000000000000000000000000001";
  const history = [
    { role: "user", parts: [{ type: "text", content: "Earlier question" }] },
    { role: "assistant", parts: [{ type: "text", content: "Earlier answer" }], finish_reason: "stop" },
  ];
  const ask = { role: "user", parts: [{ type: "text", content: "What is the weather in Paris?" }] };
  const call = { role: "assistant", parts: [{ type: "tool_call", id: "call_1", name: "get_weather", arguments: { city: "Paris" } }], finish_reason: "tool_call" };
  const result = { role: "user", parts: [{ type: "tool_call_response", id: "call_1", name: "get_weather", result: { temp_c: 18 } }] };
  const answer = { role: "assistant", parts: [{ type: "text", content: "18 °C and clear." }], finish_reason: "stop" };
  const sys = [{ type: "text", content: "You are a travel assistant." }];
  const chat = (id, start, end, input, output, inTok, outTok) =>
    span(T, id, "a000000000000001", "chat gpt-4o", start, end, {
      "gen_ai.operation.name": "chat", "gen_ai.system": "openai", "gen_ai.provider.name": "openai",
      "gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-08-06",
      "server.address": "api.openai.com", "model_request_parameters": j({ function_tools: [{ name: "get_weather" }] }),
      "gen_ai.input.messages": j(input), "gen_ai.output.messages": j([output]), "gen_ai.system_instructions": j(sys),
      "gen_ai.response.finish_reasons": [output.finish_reason],
      "gen_ai.usage.input_tokens": inTok, "gen_ai.usage.output_tokens": outTok,
      "logfire.json_schema": j({ type: "object", properties: {} }),
    }, { kind: 3 });
  scenario("pydantic_ai", "Pydantic AI (hand-made from its instrumentation source, version 3): an agent run with history, a tool call and the answer; final_result is the run output, this run's request in pydantic_ai.all_messages the run input.",
    "pydantic-travel", "pydantic-ai", [
      chat("a000000000000002", 1, 10, [...history, ask], call, 40, 12),
      span(T, "a000000000000003", "a000000000000001", "execute_tool get_weather", 11, 15, {
        "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_weather", "gen_ai.tool.call.id": "call_1",
        "gen_ai.tool.call.arguments": j({ city: "Paris" }), "gen_ai.tool.call.result": j({ temp_c: 18 }),
        "logfire.msg": "running tool: get_weather",
      }),
      chat("a000000000000004", 16, 25, [...history, ask, call, result], answer, 60, 9),
      span(T, "a000000000000001", "", "invoke_agent travel", 0, 26, {
        model_name: "gpt-4o", agent_name: "travel", "gen_ai.agent.name": "travel",
        "gen_ai.agent.call.id": "run-1", "gen_ai.operation.name": "invoke_agent", "logfire.msg": "travel run",
        final_result: "18 °C and clear.",
        "pydantic_ai.all_messages": j([...history, ask, call, result, answer]),
        "pydantic_ai.new_message_index": 2,
        "gen_ai.system_instructions": j(sys),
        "gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 21,
        "logfire.json_schema": j({ type: "object", properties: { "pydantic_ai.all_messages": { type: "array" }, final_result: { type: "object" } } }),
      }),
    ]);
}

// OpenAI Agents SDK with OpenInference
// (openinference-instrumentation-openai-agents, _processor.py): the trace
// root ("Agent workflow", AGENT) carries no content; response spans (LLM)
// carry input.value / output.value and the flattened llm.*_messages;
// function spans (TOOL) tool.name, input.value, output.value.
{
  const T = "a2000000000000000000000000000002";
  const P = (k, v) => [k, v];
  const resp = (id, start, end, inputs, outMsgs, out, inTok, outTok) => {
    const a = { "openinference.span.kind": "LLM", "llm.system": "openai", "llm.provider": "openai", "llm.model_name": "gpt-4o-2024-08-06",
      "input.mime_type": "application/json", "input.value": j(inputs), "output.mime_type": "application/json", "output.value": j(out),
      "llm.token_count.prompt": inTok, "llm.token_count.completion": outTok, "llm.token_count.total": inTok + outTok };
    a["llm.input_messages.0.message.role"] = "system";
    a["llm.input_messages.0.message.content"] = "You are a travel assistant.";
    inputs.forEach((m, i) => {
      if (m.role) {
        a[`llm.input_messages.${i + 1}.message.role`] = m.role;
        a[`llm.input_messages.${i + 1}.message.content`] = m.content;
      } else if (m.type === "function_call") {
        a[`llm.input_messages.${i + 1}.message.role`] = "assistant";
        a[`llm.input_messages.${i + 1}.message.tool_calls.0.tool_call.id`] = m.call_id;
        a[`llm.input_messages.${i + 1}.message.tool_calls.0.tool_call.function.name`] = m.name;
        a[`llm.input_messages.${i + 1}.message.tool_calls.0.tool_call.function.arguments`] = m.arguments;
      } else if (m.type === "function_call_output") {
        a[`llm.input_messages.${i + 1}.message.role`] = "tool";
        a[`llm.input_messages.${i + 1}.message.tool_call_id`] = m.call_id;
        a[`llm.input_messages.${i + 1}.message.content`] = m.output;
      }
    });
    Object.assign(a, outMsgs);
    return span(T, id, "b000000000000002", "response", start, end, a);
  };
  const ask = { role: "user", content: "What is the weather in Paris?" };
  const call = { type: "function_call", call_id: "call_1", name: "get_weather", arguments: j({ city: "Paris" }) };
  const result = { type: "function_call_output", call_id: "call_1", output: j({ temp_c: 18 }) };
  scenario("openai_agents_openinference", "OpenAI Agents SDK traced by OpenInference (hand-made from openinference-instrumentation-openai-agents' _processor.py): the trace root carries no content, so the run input and output hold none; prompts, responses, tool arguments and results come from the response and function spans.",
    "oai-agents-travel", "openinference.instrumentation.openai_agents", [
      resp("b000000000000003", 2, 9, [ask], {
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.tool_calls.0.tool_call.id": "call_1",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "get_weather",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": j({ city: "Paris" }),
      }, { id: "resp_1", model: "gpt-4o-2024-08-06", output: [call], status: "completed" }, 50, 14),
      span(T, "b000000000000004", "b000000000000002", "get_weather", 10, 13, {
        "openinference.span.kind": "TOOL", "tool.name": "get_weather", "input.value": j({ city: "Paris" }),
        "input.mime_type": "application/json", "output.value": j({ temp_c: 18 }), "output.mime_type": "application/json",
      }),
      resp("b000000000000005", 14, 21, [ask, call, result], {
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.contents.0.message_content.type": "text",
        "llm.output_messages.0.message.contents.0.message_content.text": "18 °C and clear.",
      }, { id: "resp_2", model: "gpt-4o-2024-08-06", output: [{ type: "message", role: "assistant", content: [{ type: "output_text", text: "18 °C and clear." }] }], status: "completed" }, 80, 9),
      span(T, "b000000000000002", "b000000000000001", "Travel assistant", 1, 22, {
        "openinference.span.kind": "AGENT", "graph.node.id": "Travel assistant", "agent.name": "Travel assistant",
      }),
      span(T, "b000000000000001", "", "Agent workflow", 0, 23, { "openinference.span.kind": "AGENT" }),
    ]);
}

// OpenAI Agents SDK with OpenLLMetry
// (opentelemetry-instrumentation-openai-agents, _hooks.py): an "Agent
// Workflow" root (traceloop.span.kind workflow, no content), "<agent>.agent"
// (invoke_agent), "<tool>.tool" (execute_tool, gen_ai.tool.call.*) and
// "openai.response" (chat, gen_ai.input/output.messages).
{
  const T = "a3000000000000000000000000000003";
  const chat = (id, start, end, input, output, inTok, outTok) =>
    span(T, id, "c000000000000002", "openai.response", start, end, {
      "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
      "gen_ai.response.model": "gpt-4o-2024-08-06", "gen_ai.input.messages": j(input), "gen_ai.output.messages": j([output]),
      "gen_ai.response.finish_reasons": [output.finish_reason],
      "gen_ai.usage.input_tokens": inTok, "gen_ai.usage.output_tokens": outTok, "gen_ai.usage.total_tokens": inTok + outTok,
    }, { kind: 3 });
  const ask = { role: "user", parts: [{ type: "text", content: "What is the weather in Paris?" }] };
  const call = { role: "assistant", parts: [{ type: "tool_call", id: "call_1", name: "get_weather", arguments: { city: "Paris" } }], finish_reason: "tool_call" };
  const result = { role: "tool", parts: [{ type: "tool_call_response", id: "call_1", response: { temp_c: 18 } }] };
  const answer = { role: "assistant", parts: [{ type: "text", content: "18 °C and clear." }], finish_reason: "stop" };
  scenario("openai_agents_traceloop", "OpenAI Agents SDK traced by OpenLLMetry (hand-made from opentelemetry-instrumentation-openai-agents' _hooks.py): an Agent Workflow root without content, an agent span, a tool span and two response spans in GenAI attributes.",
    "oai-agents-travel", "opentelemetry.instrumentation.openai_agents", [
      chat("c000000000000003", 2, 9, [ask], call, 50, 14),
      span(T, "c000000000000004", "c000000000000002", "get_weather.tool", 10, 13, {
        "traceloop.span.kind": "tool", "gen_ai.tool.name": "get_weather", "gen_ai.tool.type": "function",
        "gen_ai.provider.name": "openai", "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.call.arguments": j({ city: "Paris" }), "gen_ai.tool.call.result": j({ temp_c: 18 }),
      }),
      chat("c000000000000005", 14, 21, [ask, call, result], answer, 80, 9),
      span(T, "c000000000000002", "c000000000000001", "Travel assistant.agent", 1, 22, {
        "traceloop.span.kind": "agent", "gen_ai.agent.name": "Travel assistant", "gen_ai.provider.name": "openai",
        "gen_ai.operation.name": "invoke_agent",
      }),
      span(T, "c000000000000001", "", "Agent Workflow", 0, 23, {
        "traceloop.span.kind": "workflow", "gen_ai.provider.name": "openai", "traceloop.workflow.name": "Agent Workflow",
      }),
    ]);
}

// smolagents with OpenInference (openinference-instrumentation-smolagents,
// _wrappers.py): "<Agent>.run" (AGENT, input.value the bound arguments,
// output.value the answer), "Step N" (CHAIN), "<Model>.generate" (LLM,
// flattened llm.*_messages), tools by class name (TOOL).
{
  const T = "a4000000000000000000000000000004";
  const gen = (id, parent, start, end, msgs, out, inTok, outTok) => {
    const a = { "openinference.span.kind": "LLM", "llm.model_name": "gpt-4o", "llm.token_count.prompt": inTok,
      "llm.token_count.completion": outTok, "llm.token_count.total": inTok + outTok,
      "input.value": j({ messages: msgs }), "input.mime_type": "application/json" };
    msgs.forEach((m, i) => {
      a[`llm.input_messages.${i}.message.role`] = m.role;
      a[`llm.input_messages.${i}.message.contents.0.message_content.type`] = "text";
      a[`llm.input_messages.${i}.message.contents.0.message_content.text`] = m.content;
    });
    a["llm.output_messages.0.message.role"] = "assistant";
    a["llm.output_messages.0.message.content"] = out;
    a["output.value"] = out;
    return span(T, id, parent, "OpenAIServerModel.generate", start, end, a);
  };
  const sys = { role: "system", content: "You are an expert assistant who can solve any task using code blobs." };
  const task = { role: "user", content: "New task:\nWhat is the weather in Paris?" };
  const code = "Thought: I will call the tool.\n<code>\nprint(get_weather(city=\"Paris\"))\n</code>";
  const code2 = "Thought: I have it.\n<code>\nfinal_answer(\"18 °C and clear.\")\n</code>";
  scenario("smolagents_openinference", "smolagents CodeAgent traced by OpenInference (hand-made from openinference-instrumentation-smolagents' _wrappers.py): a run whose input.value and output.value are the task and the answer, two steps, a tool and the final answer tool.",
    "smolagents-travel", "openinference.instrumentation.smolagents", [
      gen("d000000000000003", "d000000000000002", 2, 8, [sys, task], code, 900, 40),
      span(T, "d000000000000004", "d000000000000002", "WeatherTool", 9, 11, {
        "openinference.span.kind": "TOOL", "tool.name": "get_weather", "tool.description": "Current weather in a city",
        "tool.parameters": j({ city: { type: "string", description: "the city" } }),
        "input.value": j({ args: [], sanitize_inputs_outputs: true, kwargs: { city: "Paris" } }),
        "output.value": "18 °C and clear", "output.mime_type": "text/plain",
      }),
      span(T, "d000000000000002", "d000000000000001", "Step 1", 1, 12, {
        "openinference.span.kind": "CHAIN", "input.value": j({ memory_step: {} }), "output.value": "Execution logs:\n18 °C and clear\nLast output from code snippet:\nNone",
      }),
      gen("d000000000000006", "d000000000000005", 14, 19, [sys, task, { role: "assistant", content: code }, { role: "user", content: "Observation:\nExecution logs:\n18 °C and clear" }], code2, 1000, 30),
      span(T, "d000000000000007", "d000000000000005", "FinalAnswerTool", 20, 21, {
        "openinference.span.kind": "TOOL", "tool.name": "final_answer", "tool.description": "Provides a final answer to the given problem.",
        "input.value": j({ args: ["18 °C and clear."], sanitize_inputs_outputs: false, kwargs: {} }),
        "output.value": "18 °C and clear.", "output.mime_type": "text/plain",
      }),
      span(T, "d000000000000005", "d000000000000001", "Step 2", 13, 22, {
        "openinference.span.kind": "CHAIN", "input.value": j({ memory_step: {} }), "output.value": "18 °C and clear.",
      }),
      span(T, "d000000000000001", "", "CodeAgent.run", 0, 23, {
        "openinference.span.kind": "AGENT", "smolagents.max_steps": 20, "smolagents.tools_names": ["get_weather", "final_answer"],
        "input.value": j({ task: "What is the weather in Paris?", stream: false, reset: true, images: null, additional_args: null, max_steps: null }),
        "output.value": "18 °C and clear.", "llm.token_count.prompt": 1900, "llm.token_count.completion": 70,
      }),
    ]);
}
