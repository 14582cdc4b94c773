#!/usr/bin/env bash
# Chat-template test assets, pinned by version and sha256, into .deps/templates/:
#   MiniMax-M3.jinja   the official M3 chat template, from the llama.cpp source bundle shipped in
#                      npm node-llama-cpp@3.22.1 (models/templates/MiniMax-M3.jinja)
#   <model>.jinja      other popular models' templates from the same pinned bundle (engine tests)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=.deps/templates
mkdir -p "$root/dl"

source scripts/lib/check_sha256.sh

template=$root/MiniMax-M3.jinja
template_sha=11421244f67553498e5c8112dae02802025bcc4305ec45ad380af95c96f9fe64
others=(MiniMax-M2 Qwen-Qwen3-0.6B Qwen3-Coder Qwen-Qwen2.5-7B-Instruct meta-llama-Llama-3.1-8B-Instruct
        meta-llama-Llama-3.2-3B-Instruct meta-llama-Llama-3.3-70B-Instruct deepseek-ai-DeepSeek-R1-Distill-Qwen-32B
        deepseek-ai-DeepSeek-V3.1 openai-gpt-oss-120b mistralai-Mistral-Nemo-Instruct-2407
        Mistral-Small-3.2-24B-Instruct-2506 google-gemma-2-2b-it HuggingFaceTB-SmolLM3-3B moonshotai-Kimi-K2 GLM-4.6
        microsoft-Phi-3.5-mini-instruct NousResearch-Hermes-3-Llama-3.1-8B-tool_use ibm-granite-granite-3.3-2B-Instruct
        meetkai-functionary-medium-v3.1 meetkai-functionary-medium-v3.2)
complete=1
for name in "${others[@]}"; do [ -s "$root/$name.jinja" ] || complete=0; done
if [ -f "$template" ] && [ "$complete" = 1 ]; then
  check_sha256 "$template" "$template_sha"
  exit 0
fi

tgz=node-llama-cpp-3.22.1.tgz
if [ ! -f "$root/dl/$tgz" ]; then
  (cd "$root/dl" && npm pack --silent node-llama-cpp@3.22.1 >/dev/null)
fi
check_sha256 "$root/dl/$tgz" a0d9dd80eacd2ab1cfe71aee57ac8a806487fd70b3d2a38fbec637752d9e5c5f
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar -xzf "$root/dl/$tgz" -C "$tmp" package/llama/gitRelease.bundle
git clone -q --bare "$tmp/package/llama/gitRelease.bundle" "$tmp/llama.git"
git --git-dir="$tmp/llama.git" show HEAD:models/templates/MiniMax-M3.jinja >"$template.part"
mv "$template.part" "$template"
check_sha256 "$template" "$template_sha"
for name in "${others[@]}"; do
  git --git-dir="$tmp/llama.git" show "HEAD:models/templates/$name.jinja" >"$root/$name.jinja.part"
  mv "$root/$name.jinja.part" "$root/$name.jinja"
done
