// LangChain.js agent on ChatOpenAI (against the local mock of the OpenAI
// API), traced by OpenLLMetry's Node SDK (@traceloop/node-server-sdk, which
// brings its LangChain instrumentation): each request is a withWorkflow,
// the agent call a withAgent inside it, as OpenLLMetry's docs show. The
// SDK builds its own tracer provider; ids are renumbered when written.
import { writeSpans } from "../otlp.mjs";
import { startMock, text, toolCalls } from "../mock_openai.mjs";
import * as traceloop from "@traceloop/node-server-sdk";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import * as CallbackManagerModule from "@langchain/core/callbacks/manager";
import { ChatOpenAI } from "@langchain/openai";
import { tool } from "@langchain/core/tools";
import { createAgent } from "langchain";
import { z } from "zod";

// The SDK's resource detectors add the host and process (pid, paths):
// none, so that a capture repeats on any machine.
process.env.OTEL_NODE_RESOURCE_DETECTORS = "none";
const exporter = new InMemorySpanExporter();
traceloop.initialize({
  appName: "lc-traceloop-travel",
  exporter,
  disableBatch: true,
  silenceInitializationMessage: true,
  traceContent: true,
  traceloopSyncEnabled: false, // no prompt registry fetch: no network here
  instrumentModules: { langchain: { callbackManagerModule: CallbackManagerModule } },
});

const mock = await startMock([
  toolCalls([{ id: "call_1", name: "get_weather", args: { city: "Paris" } }], { input: 42, output: 17 }),
  text("It is 18 °C and clear in Paris.", { input: 71, output: 12 }),
  toolCalls([{ id: "call_2", name: "book_flight", args: { to: "Lisbon", date: "2026-02-01" } }], { input: 40, output: 15 }),
  text("Sorry, there are no seats left to Lisbon.", { input: 66, output: 11 }),
]);

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

for (const [name, question] of [["weather_agent", "What's the weather in Paris?"], ["booking_agent", "Book me a flight to Lisbon."]]) {
  const answer = await traceloop.withWorkflow({ name: "travel_request" }, async (q) =>
    traceloop.withAgent({ name }, async (q2) => {
      const model = new ChatOpenAI({ model: "gpt-4o-mini", apiKey: "sk-mock", configuration: { baseURL: mock.url }, maxRetries: 0 });
      const agent = createAgent({ model, tools: [getWeather, bookFlight], name });
      const out = await agent.invoke({ messages: [{ role: "user", content: q2 }] });
      return out.messages.at(-1).content;
    }, q), question);
  console.error(`${name}: ${answer}`);
}
await mock.close();
if (mock.left() !== 0) throw new Error(`mock: ${mock.left()} replies not asked for`);
await traceloop.forceFlush();
writeSpans(exporter.getFinishedSpans(),
  "Captured: LangChain.js (langchain 1.5.14, @langchain/openai 1.5.8 ChatOpenAI on a local mock of the OpenAI API) traced by OpenLLMetry's @traceloop/node-server-sdk 0.27.0 (withWorkflow, withAgent, its LangChain instrumentation): a tool call then the answer; a failing tool. Re-capture and normalisation: testdata/capture/README.md.",
  { renumber: true });
