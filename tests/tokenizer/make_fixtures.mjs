// Derived fixtures for the tokenizer tests, written under <root> (.deps/tokenizer):
//   models/gpt4o-m3/  the gpt-4o tokenizer.json plus MiniMax-M3's added tokens (ids and strings
//                     from the M3 tokenizer; the real file is not in any registry), with a mix of
//                     special / non-special / lstrip / rstrip flags (not single_word: the JS
//                     oracle ignores it). Ids stay contiguous (HF's Rust loader renumbers gaps):
//                     placeholders stand in for the legacy tokens the docs do not spell out
//   corpus/special-mix.txt  corpus lines interleaved with every model's added-token strings,
//                     truncated ones and whitespace around them (seeded, so always the same)
//   corpus/long-runs.txt  pieces tens of kilobytes long (spaces, letters, punctuation, digits,
//                     CJK, newlines): the BPE merge loop and the regex on long inputs
// Usage: node tests/tokenizer/make_fixtures.mjs .deps/tokenizer
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(process.argv[2] ?? ".deps/tokenizer");
const modelsDir = join(root, "models");
const corpusDir = join(root, "corpus");

const m3Tokens = [
  [200000, "]!p~["], [200019, "]~b]"], [200020, "[e~["], [200021, "]!d~["],
  [200022, "<function_call>"], [200023, "<code_interpreter>"], [200024, "]<]speech[>["],
  [200025, "]<]image[>["], [200026, "]<]video[>["], [200027, "]<]start of speech[>["],
  [200028, "]<]end of speech[>["], [200029, "]<]start of image[>["], [200030, "]<]end of image[>["],
  [200031, "]<]start of video[>["], [200032, "]<]end of video[>["], [200033, "]<]vision pad[>["],
  [200034, "]~!b["], [200050, "<think>"], [200051, "</think>"], [200052, "<tool_call>"],
  [200053, "</tool_call>"], [200054, "]<]frame[>["], [200055, "]<]start of frame[>["],
  [200056, "]<]end of frame[>["], [200057, "<|content_altered_placeholder|>"],
  [200058, "]<]minimax[>["], [200059, "<mm:think>"], [200060, "</mm:think>"],
];
const flags = {
  "<think>": { special: false }, "</think>": { special: false },
  "<tool_call>": { special: false }, "]<]vision pad[>[": { lstrip: true, rstrip: true },
  "]<]frame[>[": { lstrip: true },
  "]<]speech[>[": { rstrip: true },
};

const named = new Map(m3Tokens);
for (let id = 200000; id <= 200060; ++id)
  if (!named.has(id)) m3Tokens.push([id, `<|m3_legacy_${id}|>`]);
m3Tokens.sort((a, b) => a[0] - b[0]);

const base = JSON.parse(readFileSync(join(modelsDir, "gpt4o", "tokenizer.json"), "utf8"));
// gpt-4o's <|endofprompt|> (200018) collides with M3's ids.
base.added_tokens = base.added_tokens.filter((token) => token.id < 200000);
base.added_tokens.push(...m3Tokens.map(([id, content]) => ({
  id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  ...flags[content],
})));
mkdirSync(join(modelsDir, "gpt4o-m3"), { recursive: true });
writeFileSync(join(modelsDir, "gpt4o-m3", "tokenizer.json"), JSON.stringify(base));
writeFileSync(join(modelsDir, "gpt4o-m3", "tokenizer_config.json"),
              readFileSync(join(modelsDir, "gpt4o", "tokenizer_config.json")));

// mulberry32: a small seeded generator, so the corpus is identical on every machine.
let seed = 0x5eed1234;
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (list) => list[Math.floor(random() * list.length)];

const specials = new Set(m3Tokens.map(([, content]) => content));
for (const model of readdirSync(modelsDir).sort())
  for (const token of JSON.parse(readFileSync(join(modelsDir, model, "tokenizer.json"), "utf8"))
         .added_tokens.slice(0, 40))
    specials.add(token.content);
const tokens = [...specials].sort();
const lines = [];
for (const corpus of ["kjv.txt", "python-docs.txt", "linux-doc-zh_CN.txt", "emoji-test.txt"])
  lines.push(...readFileSync(join(corpusDir, corpus), "utf8").split("\n").slice(0, 3000));
const spacing = ["", " ", "  ", "\n", " \n", "\t", "\u3000"];

let out = "";
for (let i = 0; i < 4000; ++i) {
  const line = pick(lines);
  const cut = Math.floor(random() * (line.length + 1));
  const token = pick(tokens);
  const piece = random() < 0.15 ? token.slice(0, Math.max(1, Math.floor(random() * token.length)))
                                : token;
  // Split inside a line (never inside a surrogate pair) to put tokens next to words.
  const at = cut > 0 && /[\udc00-\udfff]/.test(line[cut]) ? cut - 1 : cut;
  out += line.slice(0, at) + pick(spacing) + piece + pick(spacing) + line.slice(at) +
         (random() < 0.5 ? "\n" : "");
}
writeFileSync(join(corpusDir, "special-mix.txt"), out);

const longRuns = [" ".repeat(20000) + "x", "a".repeat(20001), "!".repeat(20002) + "\t".repeat(777) +
                  "\u00ff".repeat(999), "\u4e2d".repeat(5000), "1".repeat(9999), "\n".repeat(3000),
                  " \n".repeat(2000), "Ab".repeat(5000) + "'S".repeat(300)];
writeFileSync(join(corpusDir, "long-runs.txt"), longRuns.join("\n") + "\n");
