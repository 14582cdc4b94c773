// Load: many concurrent streaming clients, several requests each; every fourth client hangs up
// mid-stream. Every stream that is read to the end must be well formed. Uses plain fetch + SSE
// parsing (what the OpenAI client does underneath) so a disconnect is a real socket close.
// Usage: node load.mjs BASE_URL MODEL CLIENTS REQUESTS_PER_CLIENT
const [baseURL, model, clients, perClient] = process.argv.slice(2);
const failures = [];
let finished = 0, aborted = 0;

async function streamOnce(client, round) {
  const hangUp = client % 4 === 0;
  const controller = new AbortController();
  const response = await fetch(`${baseURL}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, signal: controller.signal,
    body: JSON.stringify({
      model, stream: true, stream_options: { include_usage: true }, max_tokens: 24,
      temperature: 0.9, seed: client * 1000 + round,
      messages: [{ role: 'user', content: `Client ${client} asks question ${round} about the flood.` }],
    }),
  });
  if (response.status !== 200) throw new Error(`status ${response.status}: ${await response.text()}`);
  const decoder = new TextDecoder();
  let buffer = '', events = [], done = false;
  for await (const bytes of response.body) {
    buffer += decoder.decode(bytes, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (!block.startsWith('data: ')) continue;  // keep-alive comments
      const data = block.slice(6);
      if (data === '[DONE]') { done = true; continue; }
      events.push(JSON.parse(data));
    }
    if (hangUp && events.length >= 3) {
      controller.abort();
      aborted++;
      return;
    }
  }
  // Well formed: role first, content deltas, one finish_reason, usage last, [DONE].
  const problems = [];
  if (!done) problems.push('no [DONE]');
  if (events[0]?.choices[0]?.delta?.role !== 'assistant') problems.push('first chunk has no role');
  const finishes = events.filter((e) => e.choices[0]?.finish_reason);
  if (finishes.length !== 1) problems.push(`${finishes.length} finish_reason chunks`);
  const usage = events.at(-1)?.usage;
  if (!usage || usage.completion_tokens < 1 || usage.completion_tokens > 24) problems.push('bad usage');
  if (new Set(events.map((e) => e.id)).size !== 1) problems.push('mixed ids');
  if (problems.length) failures.push(`client ${client} round ${round}: ${problems.join(', ')}`);
  finished++;
}

async function runClient(client) {
  for (let round = 0; round < perClient; ++round) {
    try {
      await streamOnce(client, round);
    } catch (error) {
      if (error.name !== 'AbortError') failures.push(`client ${client} round ${round}: ${error.message}`);
    }
  }
}

const started = Date.now();
await Promise.all(Array.from({ length: Number(clients) }, (_, i) => runClient(i)));
console.log(JSON.stringify({ finished, aborted, failures, seconds: (Date.now() - started) / 1000 }));
process.exit(failures.length ? 1 : 0);
