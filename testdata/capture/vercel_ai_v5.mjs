// OpenTelemetry integration (GenAI semantic conventions): an agent loop
// with a tool call and a failing tool, then a plain text generation.
import { newProvider, writeScenario } from "./otlp.mjs";
import { generateText, stepCountIs, tool } from "ai-v5";
import { MockLanguageModelV2 } from "ai-v5/test";
import { z } from "zod";

const { provider, exporter } = newProvider("vercel-travel");

const usage = (input, output) => ({ inputTokens: input, outputTokens: output, totalTokens: input + output });
const response = (id) => ({ id, modelId: "gpt-4o-mini-2024-07-18", timestamp: new Date(0) });
const toolCall = (id, name, input) => ({ type: "tool-call", toolCallId: id, toolName: name, input: JSON.stringify(input) });

const tools = {
  getWeather: tool({
    description: "Current weather in a city",
    inputSchema: z.object({ city: z.string() }),
    execute: async ({ city }) => ({ city, temp_c: 18, sky: "clear" }),
  }),
  bookFlight: tool({
    description: "Book a flight",
    inputSchema: z.object({ to: z.string(), date: z.string() }),
    execute: async ({ to, date }) => {
      throw new Error(`no seats left to ${to} on ${date}`);
    },
  }),
};

// 1. Tool calls (one succeeds, one throws), then the answer.
const agentModel = new MockLanguageModelV2({
  provider: "openai.chat",
  modelId: "gpt-4o-mini",
  doGenerate: [
    {
      content: [
        toolCall("call_weather_1", "getWeather", { city: "Paris" }),
        toolCall("call_book_1", "bookFlight", { to: "Paris", date: "2026-02-01" }),
      ],
      finishReason: "tool-calls",
      usage: usage(42, 17),
      response: response("resp_1"),
      warnings: [],
    },
    {
      content: [{ type: "text", text: "It is 18 °C and clear in Paris, but there are no seats left." }],
      finishReason: "stop",
      usage: usage(71, 14),
      response: response("resp_2"),
      warnings: [],
    },
  ],
});
const trip = await generateText({
  model: agentModel,
  tools,
  stopWhen: stepCountIs(3),
  system: "You are a travel assistant.",
  prompt: "What's the weather in Paris? Book me a flight there for 2026-02-01.",
  experimental_telemetry: { isEnabled: true, functionId: "travel-agent" },
});
console.error(`travel-agent: ${trip.text}`);

// 2. Plain text generation.
const textModel = new MockLanguageModelV2({
  provider: "openai.chat",
  modelId: "gpt-4o-mini",
  doGenerate: {
    content: [{ type: "text", text: "Paris is the capital of France." }],
    finishReason: "stop",
    usage: usage(12, 8),
    response: response("resp_3"),
    warnings: [],
  },
});
const fact = await generateText({
  model: textModel,
  prompt: "What is the capital of France?",
  experimental_telemetry: { isEnabled: true, functionId: "fact" },
});
console.error(`fact: ${fact.text}`);

await writeScenario(
  provider,
  exporter,
);
