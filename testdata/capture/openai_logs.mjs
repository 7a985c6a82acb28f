// A hand-written agent loop on the OpenAI Node client (against the local
// mock of the API), traced by the official @opentelemetry/instrumentation-openai
// with message content captured: its chat spans carry no content, which it
// logs as GenAI log records (gen_ai.system.message, gen_ai.user.message,
// gen_ai.tool.message, gen_ai.choice) correlated to them. The agent's own
// invoke_agent and execute_tool spans are the application's.
import { createRequire } from "node:module";
import { newLoggerProvider, newProvider, writeScenario } from "./otlp.mjs";
import { startMock, text, toolCalls } from "./mock_openai.mjs";
import { OpenAIInstrumentation } from "@opentelemetry/instrumentation-openai";

const { provider, exporter } = newProvider("openai-travel");
const logs = newLoggerProvider("openai-travel");
const instrumentation = new OpenAIInstrumentation({ captureMessageContent: true });
instrumentation.setTracerProvider(provider);
instrumentation.setLoggerProvider(logs.provider);
instrumentation.enable();
// Loaded after the instrumentation, which patches it as it is required.
const OpenAI = createRequire(import.meta.url)("openai");

const mock = await startMock([
  toolCalls([{ id: "call_1", name: "get_weather", args: { city: "Paris" } }], { input: 42, output: 17 }),
  text("It is 18 °C and clear in Paris.", { input: 71, output: 12 }),
]);
const client = new OpenAI({ apiKey: "sk-mock", baseURL: mock.url, maxRetries: 0 });
const tracer = provider.getTracer("travel-agent");
const tools = [{ type: "function", function: { name: "get_weather", description: "Current weather in a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } }];

await tracer.startActiveSpan("invoke_agent weather", { attributes: { "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "weather" } }, async (root) => {
  const messages = [
    { role: "system", content: "You are a travel assistant." },
    { role: "user", content: "What is the weather in Paris?" },
  ];
  for (;;) {
    const res = await client.chat.completions.create({ model: "gpt-4o-mini", messages, tools });
    const msg = res.choices[0].message;
    messages.push(msg);
    if (!msg.tool_calls?.length) break;
    for (const call of msg.tool_calls) {
      await tracer.startActiveSpan(`execute_tool ${call.function.name}`, { attributes: {
        "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": call.function.name, "gen_ai.tool.call.id": call.id,
        "gen_ai.tool.call.arguments": call.function.arguments } }, async (span) => {
        const result = JSON.stringify({ city: JSON.parse(call.function.arguments).city, temp_c: 18, sky: "clear" });
        span.setAttribute("gen_ai.tool.call.result", result);
        messages.push({ role: "tool", tool_call_id: call.id, content: result });
        span.end();
      });
    }
  }
  console.error(messages.at(-1).content);
  root.end();
});
await mock.close();
if (mock.left() !== 0) throw new Error(`mock: ${mock.left()} replies not asked for`);
await writeScenario(provider, exporter,
  "Captured: an agent loop on the OpenAI Node client (openai 6.45.0, on a local mock of the API) traced by @opentelemetry/instrumentation-openai 0.21.0 with captureMessageContent: chat content only in GenAI log records (event.name attribute), delivered before the spans. Re-capture and normalisation: testdata/capture/README.md.",
  logs);
