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
