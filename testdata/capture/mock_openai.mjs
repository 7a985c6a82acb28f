// A local stand-in for the OpenAI Chat Completions API: it answers each
// request with the next scripted reply, streamed (SSE) when the request asks
// for a stream, so frameworks run their real HTTP clients with no network.
import http from "node:http";

// A reply: text, or tool calls [{id, name, args}], with its finish reason
// and token usage.
export function text(content, { input = 20, output = 8 } = {}) {
  return { content, toolCalls: [], finish: "stop", input, output };
}

export function toolCalls(calls, { input = 30, output = 12 } = {}) {
  return { content: null, toolCalls: calls, finish: "tool_calls", input, output };
}

// startMock serves replies in order; a request past the script gets a 500,
// so a framework that calls more often than scripted fails visibly.
export async function startMock(replies, model = "gpt-4o-mini-2024-07-18") {
  const queue = [...replies];
  const requests = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const ask = JSON.parse(body || "{}");
      requests.push(ask);
      const r = queue.shift();
      if (!r || !req.url.endsWith("/chat/completions")) {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: `mock: no reply scripted for ${req.url}`, type: "server_error" } }));
        return;
      }
      const id = `chatcmpl-${requests.length}`;
      const created = 1767268800;
      const usage = { prompt_tokens: r.input, completion_tokens: r.output, total_tokens: r.input + r.output };
      const calls = r.toolCalls.map((c, i) => ({
        index: i,
        id: c.id,
        type: "function",
        function: { name: c.name, arguments: JSON.stringify(c.args) },
      }));
      if (!ask.stream) {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({
          id, object: "chat.completion", created, model,
          choices: [{ index: 0, finish_reason: r.finish,
            message: { role: "assistant", content: r.content, ...(calls.length ? { tool_calls: calls.map(({ index, ...c }) => c) } : {}) } }],
          usage,
        }));
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream" });
      const chunk = (delta, finish = null, extra = {}) =>
        res.write(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model,
          choices: delta ? [{ index: 0, delta, finish_reason: finish }] : [], ...extra })}\n\n`);
      chunk({ role: "assistant", content: r.content === null ? null : "" });
      if (r.content) chunk({ content: r.content });
      if (calls.length) chunk({ tool_calls: calls });
      chunk({}, r.finish);
      chunk(null, null, { usage });
      res.end("data: [DONE]\n\n");
    });
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const url = `http://127.0.0.1:${server.address().port}/v1`;
  return { url, requests, close: () => new Promise((ok) => server.close(ok)), left: () => queue.length };
}
