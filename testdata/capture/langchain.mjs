// LangChain.js agent with a fake chat model, traced by OpenInference's
// LangChain instrumentation: a tool call, a failing tool, a failing model.
import { newProvider, writeScenario } from "./otlp.mjs";
import { LangChainInstrumentation } from "@arizeai/openinference-instrumentation-langchain";
import * as CallbackManagerModule from "@langchain/core/callbacks/manager";
import { fakeModel } from "@langchain/core/testing";
import { AIMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { createAgent } from "langchain";
import { z } from "zod";

const { provider, exporter } = newProvider("lc-travel");
const instrumentation = new LangChainInstrumentation({ tracerProvider: provider });
instrumentation.manuallyInstrument(CallbackManagerModule);

const getWeather = tool(async ({ city }) => JSON.stringify({ city, temp_c: 18, sky: "clear" }), {
  name: "get_weather",
  description: "Current weather in a city",
  schema: z.object({ city: z.string() }),
});
const bookFlight = tool(
  async ({ to, date }) => {
    throw new Error(`no seats left to ${to} on ${date}`);
  },
  { name: "book_flight", description: "Book a flight", schema: z.object({ to: z.string(), date: z.string() }) },
);

// What a provider's chat model returns: tool calls, finish reason, model
// name and token usage. openaiStyle also keeps the raw tool calls in
// additional_kwargs, as ChatOpenAI does; OpenInference flattens only those
// into llm.output_messages.
function reply(content, { toolCalls = [], finish = "stop", input = 20, output = 8, openaiStyle = false } = {}) {
  const additional_kwargs = {};
  if (openaiStyle && toolCalls.length > 0) {
    additional_kwargs.tool_calls = toolCalls.map((c) => ({
      id: c.id,
      type: "function",
      function: { name: c.name, arguments: JSON.stringify(c.args) },
    }));
  }
  return new AIMessage({
    content,
    additional_kwargs,
    tool_calls: toolCalls,
    response_metadata: { finish_reason: finish, model_name: "gpt-4o-mini-2024-07-18" },
    usage_metadata: { input_tokens: input, output_tokens: output, total_tokens: input + output },
  });
}

async function run(name, model, question) {
  const agent = createAgent({ model, tools: [getWeather, bookFlight], name });
  try {
    const out = await agent.invoke({ messages: [{ role: "user", content: question }] });
    console.error(`${name}: ${out.messages.at(-1).content}`);
  } catch (err) {
    console.error(`${name} failed: ${err.message}`);
  }
}

// 1. One tool call, then the answer.
await run(
  "weather_agent",
  fakeModel()
    .respond(reply("", { toolCalls: [{ id: "call_weather_1", name: "get_weather", args: { city: "Paris" } }], finish: "tool_calls", input: 42, output: 17, openaiStyle: true }))
    .respond(reply("It is 18 °C and clear in Paris.", { input: 71, output: 12 })),
  "What's the weather in Paris?",
);

// 2. A tool that throws (ToolNode turns the error into a tool message and
// the agent goes on); tool calls only in tool_calls, as most providers.
await run(
  "booking_agent",
  fakeModel()
    .respond(reply("", { toolCalls: [{ id: "call_book_1", name: "book_flight", args: { to: "Lisbon", date: "2026-02-01" } }], finish: "tool_calls", input: 40, output: 15 }))
    .respond(reply("Sorry, there are no seats left to Lisbon.", { input: 66, output: 11 })),
  "Book me a flight to Lisbon.",
);

// 3. The model call itself fails: the run fails.
await run("broken_agent", fakeModel().respond(new Error("model overloaded")), "Hello?");

await writeScenario(
  provider,
  exporter,
  "Captured: LangChain.js (langchain 1.5.14, @langchain/core 1.4.0, createAgent with fakeModel) traced by @arizeai/openinference-instrumentation-langchain 4.1.1; a tool call (OpenAI-style message), a failing tool (tool calls only in tool_calls), a failing model. Re-capture and normalisation: testdata/capture/README.md.",
);
