#!/usr/bin/env bash
# CPU prefill and decode throughput of `m3 logits` on one checkpoint (default: the largest
# fixture). Prefill: all ids in one step. Decode: `--prefill 1`, then one token per step.
# Prints the best of RUNS runs of each, as reported by m3 logits itself (load time excluded).
set -euo pipefail
M3=${M3:-build/m3}
MODEL=${1:-tests/fixtures/m3_hf_saved_bf16}
IDS=${2:-$MODEL/ids.txt}
RUNS=${RUNS:-5}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
best() { sort -g | tail -1; }
prefill=$(for _ in $(seq "$RUNS"); do
  "$M3" logits --model "$MODEL" --ids "$IDS" --out "$out" 2>&1 |
    sed -n 's/^prefill [0-9]* tokens [0-9.]* s (\([0-9.]*\) tok\/s).*/\1/p'
done | best)
decode=$(for _ in $(seq "$RUNS"); do
  "$M3" logits --model "$MODEL" --ids "$IDS" --out "$out" --prefill 1 2>&1 |
    sed -n 's/.*decode [0-9]* tokens [0-9.]* s (\([0-9.]*\) tok\/s).*/\1/p'
done | best)
echo "model $MODEL, $(wc -w < "$IDS") ids, best of $RUNS: prefill $prefill tok/s, decode $decode tok/s"
