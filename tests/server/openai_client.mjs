// Drives a running `m3 serve` with the official OpenAI Node client (npm openai, pinned by
// scripts/assets/openai_client.sh). Usage: node openai_client.mjs BASE_URL MODEL
// Exits non-zero with a message on the first failed check.
import assert from 'node:assert/strict';

const { default: OpenAI } = await import(process.env.M3_OPENAI_MODULE);
const [baseURL, model] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: process.env.M3_API_KEY ?? 'unused', maxRetries: 0 });
const markers = ['<mm:think>', '</mm:think>', ']<]minimax[>[', '[e~['];

function noMarkers(text, where) {
  for (const m of markers) assert.ok(!(text ?? '').includes(m), `${where} leaks marker ${m}`);
}

function checkUsage(usage, maxCompletion) {
  assert.ok(usage.prompt_tokens > 0, 'prompt_tokens');
  assert.ok(usage.completion_tokens > 0 && usage.completion_tokens <= maxCompletion, 'completion_tokens');
  assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
}

// A small independent JSON-schema check: types, required, enum, nested objects and arrays.
function validate(value, schema, path = 'arguments') {
  if (schema.enum) assert.ok(schema.enum.includes(value), `${path}: ${value} not in enum`);
  switch (schema.type) {
    case 'string': assert.equal(typeof value, 'string', path); break;
    case 'integer': assert.ok(Number.isInteger(value), `${path}: ${value} is not an integer`); break;
    case 'number': assert.equal(typeof value, 'number', path); break;
    case 'boolean': assert.equal(typeof value, 'boolean', path); break;
    case 'array':
      assert.ok(Array.isArray(value), `${path} is not an array`);
      value.forEach((v, i) => validate(v, schema.items ?? {}, `${path}[${i}]`));
      break;
    case 'object':
      assert.equal(typeof value, 'object', path);
      for (const key of schema.required ?? []) assert.ok(key in value, `${path}.${key} missing`);
      for (const [key, v] of Object.entries(value)) {
        assert.ok(schema.properties && key in schema.properties, `${path}.${key} not in schema`);
        validate(v, schema.properties[key], `${path}.${key}`);
      }
      break;
  }
}

const weather = {
  type: 'function',
  function: {
    name: 'get_weather', description: 'Weather forecast for a city',
    parameters: {
      type: 'object',
      properties: {
        city: { type: 'string' },
        days: { type: 'integer' },
        units: { type: 'string', enum: ['C', 'F'] },
        hourly: { type: 'boolean' },
      },
      required: ['city', 'days'],
    },
  },
};
const timeTool = {
  type: 'function',
  function: {
    name: 'get_time',
    parameters: {
      type: 'object',
      properties: {
        zones: { type: 'array', items: { type: 'string', enum: ['UTC', 'CET', 'PST'] }, minItems: 1 },
        offset: { type: 'number' },
        options: { type: 'object', properties: { verbose: { type: 'boolean' } }, required: ['verbose'] },
      },
      required: ['zones', 'options'],
    },
  },
};
const schemas = { get_weather: weather.function.parameters, get_time: timeTool.function.parameters };
const user = (text) => [{ role: 'user', content: text }];

// --- models
const models = await client.models.list();
assert.deepEqual(models.data.map((m) => m.id), [model]);

// --- plain chat, then the same request streamed with usage: identical greedy text
const plain = await client.chat.completions.create({
  model, messages: user('Who made the heaven and the earth?'), max_tokens: 12, temperature: 0,
  chat_template_kwargs: { thinking_mode: 'disabled' },
});
assert.equal(plain.object, 'chat.completion');
assert.equal(plain.choices.length, 1);
const message = plain.choices[0].message;
assert.equal(message.role, 'assistant');
assert.equal(typeof message.content, 'string');
noMarkers(message.content, 'content');
assert.ok(['stop', 'length'].includes(plain.choices[0].finish_reason));
checkUsage(plain.usage, 12);

const stream = await client.chat.completions.create({
  model, messages: user('Who made the heaven and the earth?'), max_tokens: 12, temperature: 0,
  chat_template_kwargs: { thinking_mode: 'disabled' }, stream: true,
  stream_options: { include_usage: true },
});
let streamed = '', finish = null, usage = null, first = true;
for await (const chunk of stream) {
  assert.equal(chunk.object, 'chat.completion.chunk');
  if (chunk.usage) usage = chunk.usage;
  if (chunk.choices.length === 0) continue;
  const choice = chunk.choices[0];
  if (first) assert.equal(choice.delta.role, 'assistant');
  first = false;
  streamed += choice.delta.content ?? '';
  if (choice.finish_reason) finish = choice.finish_reason;
}
assert.equal(streamed, message.content, 'stream and non-stream greedy text differ');
assert.equal(finish, plain.choices[0].finish_reason);
for (const key of ['prompt_tokens', 'completion_tokens', 'total_tokens']) assert.equal(usage[key], plain.usage[key]);
// The repeated prompt is served from the prefix cache the first request filled.
assert.ok(usage.prompt_tokens_details.cached_tokens > 0, 'second identical prompt hits the prefix cache');

// --- stop strings cut the text where they first appear (matched on detokenized text)
if (message.content.length >= 8) {
  const stop = message.content.slice(4, 7);
  const cut = await client.chat.completions.create({
    model, messages: user('Who made the heaven and the earth?'), max_tokens: 12, temperature: 0,
    chat_template_kwargs: { thinking_mode: 'disabled' }, stop: ['@@never@@', stop],
  });
  assert.equal(cut.choices[0].message.content, message.content.slice(0, message.content.indexOf(stop)));
  assert.equal(cut.choices[0].finish_reason, 'stop');
}

// --- a seed makes sampling reproducible; penalties and truncations are accepted
const sampled = async () => (await client.chat.completions.create({
  model, messages: user('Sing a psalm'), max_tokens: 10, temperature: 1.2, top_p: 0.9, top_k: 50,
  min_p: 0.01, presence_penalty: 0.5, frequency_penalty: 0.3, repetition_penalty: 1.1, seed: 1234,
})).choices[0].message.content;
assert.equal(await sampled(), await sampled());

// --- logprobs
const withLogprobs = await client.chat.completions.create({
  model, messages: user('In the beginning'), max_tokens: 4, temperature: 0, logprobs: true, top_logprobs: 3,
});
const entries = withLogprobs.choices[0].logprobs.content;
assert.equal(entries.length, withLogprobs.usage.completion_tokens);
for (const e of entries) {
  assert.ok(e.logprob <= 0 && e.top_logprobs.length === 3);
  assert.ok(e.top_logprobs[0].logprob >= e.logprob - 1e-6, 'greedy token is the top alternative');
}

// --- tool_choice required: a well-formed call whose arguments satisfy the schema
async function toolCall(tool_choice, tools, streamIt) {
  const request = { model, messages: user('Weather in Paris for 3 days? And the time?'), tools, tool_choice,
                    max_tokens: 400, temperature: 0.8, seed: Math.floor(Math.random() * 1e9) };
  if (!streamIt) {
    const r = await client.chat.completions.create(request);
    assert.equal(r.choices[0].finish_reason, 'tool_calls', JSON.stringify(r.choices[0]));
    return r.choices[0].message.tool_calls;
  }
  const calls = [];
  let reason = null;
  for await (const chunk of await client.chat.completions.create({ ...request, stream: true })) {
    const choice = chunk.choices[0];
    if (!choice) continue;
    for (const d of choice.delta.tool_calls ?? []) {
      calls[d.index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } };
      if (d.id) calls[d.index].id = d.id;
      if (d.function?.name) calls[d.index].function.name = d.function.name;
      calls[d.index].function.arguments += d.function?.arguments ?? '';
    }
    if (choice.finish_reason) reason = choice.finish_reason;
  }
  assert.equal(reason, 'tool_calls');
  return calls;
}
for (const streamIt of [false, true]) {
  const required = await toolCall('required', [weather, timeTool], streamIt);
  assert.ok(required.length >= 1);
  for (const call of required) {
    assert.ok(call.id.startsWith('call_'));
    assert.ok(call.function.name in schemas, call.function.name);
    validate(JSON.parse(call.function.arguments), schemas[call.function.name]);
  }
  const named = await toolCall({ type: 'function', function: { name: 'get_time' } }, [weather, timeTool], streamIt);
  assert.equal(named.length, 1);
  assert.equal(named[0].function.name, 'get_time');
  validate(JSON.parse(named[0].function.arguments), schemas.get_time);
}

// --- tool round trip: the call and its result go back into the conversation
const calls = await toolCall({ type: 'function', function: { name: 'get_weather' } }, [weather], false);
const followUp = await client.chat.completions.create({
  model, tools: [weather], max_tokens: 8, temperature: 0,
  messages: [
    ...user('Weather in Paris for 3 days?'),
    { role: 'assistant', content: null, tool_calls: calls },
    { role: 'tool', tool_call_id: calls[0].id, content: '{"forecast": "sunny"}' },
  ],
});
assert.ok(['stop', 'length', 'tool_calls'].includes(followUp.choices[0].finish_reason));

// --- reasoning separation: thinking enabled starts inside <mm:think>
const thinking = await client.chat.completions.create({
  model, messages: user('Think about the flood.'), max_tokens: 16, temperature: 0,
  chat_template_kwargs: { thinking_mode: 'enabled' },
});
const thought = thinking.choices[0].message;
assert.ok((thought.reasoning_content ?? '').length > 0, 'enabled thinking gives reasoning_content');
noMarkers(thought.reasoning_content, 'reasoning_content');
noMarkers(thought.content, 'content');
let streamedReasoning = '', streamedContent = '';
for await (const chunk of await client.chat.completions.create({
  model, messages: user('Think about the flood.'), max_tokens: 16, temperature: 0,
  chat_template_kwargs: { thinking_mode: 'enabled' }, stream: true,
})) {
  const delta = chunk.choices[0]?.delta ?? {};
  streamedReasoning += delta.reasoning_content ?? '';
  streamedContent += delta.content ?? '';
}
assert.equal(streamedReasoning, thought.reasoning_content);
assert.equal(streamedContent, thought.content ?? '');

// --- completions, plain and streamed
const completion = await client.completions.create({ model, prompt: 'And God said', max_tokens: 6, temperature: 0 });
assert.equal(completion.object, 'text_completion');
checkUsage(completion.usage, 6);
let completionText = '';
for await (const chunk of await client.completions.create({ model, prompt: 'And God said', max_tokens: 6, temperature: 0, stream: true }))
  completionText += chunk.choices[0]?.text ?? '';
assert.equal(completionText, completion.choices[0].text);

// --- client-side view of an error
await assert.rejects(client.chat.completions.create({ model: 'no-such-model', messages: user('hi') }),
                     (e) => e.status === 404 && /does not exist/.test(e.message));
console.log('openai client checks passed');
