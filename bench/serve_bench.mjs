// Serving benchmark: CONCURRENCY clients each send streaming chat requests back to back until
// REQUESTS in total are done. Reports requests/s, output tokens/s and time to first token.
// Usage: node bench/serve_bench.mjs BASE_URL MODEL CONCURRENCY REQUESTS [MAX_TOKENS]
const [baseURL, model, concurrency, total, maxTokens = '32'] = process.argv.slice(2);
let next = 0;
const ttfts = [], latencies = [];
let outputTokens = 0;

async function one(i) {
  const start = performance.now();
  const response = await fetch(`${baseURL}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model, stream: true, stream_options: { include_usage: true }, max_tokens: Number(maxTokens),
      ignore_eos: true, temperature: 0.8, seed: i,
      messages: [{ role: 'user', content: `Request ${i}: tell the story of the ark, part ${i % 17}.` }],
    }),
  });
  if (response.status !== 200) throw new Error(await response.text());
  const decoder = new TextDecoder();
  let buffer = '', first = null;
  for await (const bytes of response.body) {
    buffer += decoder.decode(bytes, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const data = buffer.slice(6, end);
      buffer = buffer.slice(end + 2);
      if (!data.startsWith('{')) continue;
      const event = JSON.parse(data);
      if (first === null && event.choices[0]?.delta?.content) first = performance.now();
      if (event.usage) outputTokens += event.usage.completion_tokens;
    }
  }
  ttfts.push((first ?? performance.now()) - start);
  latencies.push(performance.now() - start);
}

async function client() {
  while (next < Number(total)) await one(next++);
}

const started = performance.now();
await Promise.all(Array.from({ length: Number(concurrency) }, client));
const seconds = (performance.now() - started) / 1000;
const pct = (xs, p) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
console.log(JSON.stringify({
  concurrency: Number(concurrency), requests: ttfts.length, seconds: +seconds.toFixed(2),
  requests_per_s: +(ttfts.length / seconds).toFixed(2), output_tokens_per_s: +(outputTokens / seconds).toFixed(1),
  ttft_ms_p50: +pct(ttfts, 0.5).toFixed(1), ttft_ms_p90: +pct(ttfts, 0.9).toFixed(1),
  latency_ms_p50: +pct(latencies, 0.5).toFixed(1),
}));
