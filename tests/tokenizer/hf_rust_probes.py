# Writes tests/tokenizer/hf_rust_probes.json: ids from HF tokenizers (Rust, the library
# transformers uses) for edge-case strings: Unicode 15 characters, single_word / lstrip / rstrip
# added tokens next to words, underscores, Unicode whitespace, BOM, curly and long-s apostrophes.
# Runs where the Python `tokenizers` package is installed (the GPU machine: tokenizers 0.23.2):
#   python3 hf_rust_probes.py DIR_WITH_<model>.json.gz > hf_rust_probes.json
# where DIR holds gzip'ed tokenizer.json files of .deps/tokenizer/models (gpt4o-m3 included).
import gzip, json, os, sys

import tokenizers

PROBES = [" \U0001FAE8", "# \U0001FAE8 E15.0 shaking face", "\U00031350\U0001D2C0 \U00011F00x",
          "x<code_interpreter>y", " <code_interpreter> ", ".id_t<code_interpreter>\u3000able",
          "<code_interpreter>_a", "\u00e9<code_interpreter>", "1<code_interpreter>2",
          "a \u3000]<]vision pad[>[\u00a0\u2028 b", "a\t]<]frame[>[\n", "]<]speech[>[ \u3000x",
          "<think> x </think>", "]~!b[]~b]user\n]<]minimax[>[<tool_call>[e~[",
          "\u00a0\u00a0hello\u3000\u3000world\u2029", "\ufeffBOM text",
          "don\u2019t DON'T don'T \u017f's \u212a", "1234567 \u0661\u0662\u0663 \u2460\u2461"]

def load(directory, model, single_word=None):
    spec = json.loads(gzip.open(os.path.join(directory, model + ".json.gz")).read())
    for token in spec["added_tokens"]:
        if token["content"] == single_word:
            token["single_word"] = True
    return tokenizers.Tokenizer.from_str(json.dumps(spec))

directory = sys.argv[1]
cases = {"gpt4o": load(directory, "gpt4o"), "deepseek_v3": load(directory, "deepseek_v3"),
         "qwen3": load(directory, "qwen3"), "gpt4o-m3": load(directory, "gpt4o-m3"),
         "gpt4o-m3+single_word:<code_interpreter>":
             load(directory, "gpt4o-m3", single_word="<code_interpreter>")}
result = {"generator": f"tokenizers {tokenizers.__version__}, encode(text, add_special_tokens=False)",
          "ids": {name: {text: tok.encode(text, add_special_tokens=False).ids for text in PROBES}
                  for name, tok in cases.items()}}
json.dump(result, sys.stdout, ensure_ascii=False, indent=1)
