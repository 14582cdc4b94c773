#!/usr/bin/env bash
# Chat-template test assets, pinned by version and sha256, into .deps/templates/:
#   MiniMax-M3.jinja   the official M3 chat template, from the llama.cpp source bundle shipped in
#                      npm node-llama-cpp@3.22.1 (models/templates/MiniMax-M3.jinja)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=.deps/templates
mkdir -p "$root/dl"

check_sha256() {  # file expected
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  if [ "$got" != "$2" ]; then
    echo "templates.sh: sha256 mismatch for $1: got $got, want $2" >&2
    rm -f "$1"
    exit 1
  fi
}

template=$root/MiniMax-M3.jinja
template_sha=11421244f67553498e5c8112dae02802025bcc4305ec45ad380af95c96f9fe64
if [ -f "$template" ]; then
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
