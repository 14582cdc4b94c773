// Writes reference token ids for every tokenizer x corpus file under <root>/oracle/ids/:
//   <model>/<corpus>.hf.i32        @huggingface/tokenizers, encode(text, add_special_tokens=false)
//   <model>/<corpus>.tiktoken.i32  tiktoken o200k_base (gpt4o only), all special tokens allowed
// Ids are little-endian int32. Each output has a .key file holding the sha256 of its inputs, so a
// rerun only recomputes what changed (the JS oracle is slow).
// Usage: node tests/tokenizer/oracle.mjs .deps/tokenizer
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";

const root = resolve(process.argv[2] ?? ".deps/tokenizer");
const require = createRequire(join(root, "oracle", "package.json"));
const { Tokenizer } = require("@huggingface/tokenizers");
const { get_encoding } = require("tiktoken");

const oracleSource = readFileSync(new URL(import.meta.url));
const sha256 = (...parts) => {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest("hex");
};

function writeIds(path, key, ids) {
  writeFileSync(path, Buffer.from(Int32Array.from(ids).buffer));
  writeFileSync(`${path}.key`, key);
}

const upToDate = (path, key) =>
  existsSync(path) && existsSync(`${path}.key`) && readFileSync(`${path}.key`, "utf8") === key;

const corpusDir = join(root, "corpus");
const corpora = readdirSync(corpusDir).filter((name) => name.endsWith(".txt")).sort();
const models = readdirSync(join(root, "models")).sort();

for (const model of models) {
  const modelDir = join(root, "models", model);
  const tokenizerBytes = readFileSync(join(modelDir, "tokenizer.json"));
  const configBytes = readFileSync(join(modelDir, "tokenizer_config.json"));
  const outDir = join(root, "oracle", "ids", model);
  mkdirSync(outDir, { recursive: true });
  let hf = null;
  let tiktoken = null;
  for (const corpus of corpora) {
    const textBytes = readFileSync(join(corpusDir, corpus));
    const text = textBytes.toString("utf8");
    const hfPath = join(outDir, `${corpus}.hf.i32`);
    const hfKey = sha256(oracleSource, tokenizerBytes, configBytes, textBytes);
    if (!upToDate(hfPath, hfKey)) {
      hf ??= new Tokenizer(JSON.parse(tokenizerBytes), JSON.parse(configBytes));
      const started = Date.now();
      writeIds(hfPath, hfKey, hf.encode(text, { add_special_tokens: false }).ids);
      console.log(`oracle: ${model}/${corpus} (hf) ${(Date.now() - started) / 1000}s`);
    }
    if (model !== "gpt4o") continue;
    const tkPath = join(outDir, `${corpus}.tiktoken.i32`);
    const tkKey = sha256(oracleSource, "o200k_base", textBytes);
    if (!upToDate(tkPath, tkKey)) {
      tiktoken ??= get_encoding("o200k_base");
      writeIds(tkPath, tkKey, tiktoken.encode(text, "all"));
      console.log(`oracle: ${model}/${corpus} (tiktoken)`);
    }
  }
  tiktoken?.free();
}
