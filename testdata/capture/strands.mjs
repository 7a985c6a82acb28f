// Strands Agents for TypeScript with its own OpenTelemetry tracing, on its
// OpenAI model (Chat Completions) against a local mock of the API: a tool
// call then the answer, and a failing tool. OTEL_SEMCONV_STABILITY_OPT_IN
// picks the conventions: unset, messages are span events of their own
// (gen_ai.user.message, gen_ai.choice, …); gen_ai_latest_experimental, one
// gen_ai.client.inference.operation.details event per side.
import { newProvider, writeScenario } from "./otlp.mjs";
import { startMock, text, toolCalls } from "./mock_openai.mjs";

const latest = (process.env.OTEL_SEMCONV_STABILITY_OPT_IN ?? "").includes("gen_ai_latest_experimental");
// Strands reads the tracer provider registered globally.
const { provider, exporter } = newProvider("strands-travel");
const { Agent, tool } = await import("@strands-agents/sdk");
const { OpenAIModel } = await import("@strands-agents/sdk/models/openai");
const { z } = await import("zod");

const mock = await startMock([
  toolCalls([{ id: "call_1", name: "get_weather", args: { city: "Paris" } }]),
  text("It is 18 °C and clear in Paris."),
  toolCalls([{ id: "call_2", name: "book_flight", args: { to: "Oslo", date: "2026-02-01" } }]),
  text("Sorry, there are no seats left to Oslo on that date."),
]);

const getWeather = tool({
  name: "get_weather",
  description: "Current weather in a city",
  inputSchema: z.object({ city: z.string() }),
  callback: ({ city }) => ({ city, temp_c: 18, sky: "clear" }),
});
const bookFlight = tool({
  name: "book_flight",
  description: "Book a flight",
  inputSchema: z.object({ to: z.string(), date: z.string() }),
  callback: ({ to, date }) => {
    throw new Error(`no seats left to ${to} on ${date}`);
  },
});

function agent() {
  return new Agent({
    name: "travel",
    model: new OpenAIModel({ api: "chat", modelId: "gpt-4o-mini", apiKey: "sk-mock", clientConfig: { baseURL: mock.url } }),
    tools: [getWeather, bookFlight],
    systemPrompt: "You are a travel assistant.",
    printer: false,
  });
}

for (const question of ["What is the weather in Paris?", "Book me a flight to Oslo on 2026-02-01."]) {
  const result = await agent().invoke(question);
  console.error(`${question} → ${result}`);
}
await mock.close();
if (mock.left() !== 0) throw new Error(`mock: ${mock.left()} replies not asked for`);
await writeScenario(provider, exporter,
  `Strands Agents TypeScript (@strands-agents/sdk 1.19.0, OpenAI chat model on a local mock), ${latest ? "latest GenAI conventions (gen_ai.client.inference.operation.details events)" : "default GenAI conventions (one span event per message)"}: a tool call then the answer; a failing tool.`);
