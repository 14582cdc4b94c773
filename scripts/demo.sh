#!/usr/bin/env bash
# The main job on the embedded default model: describe the largest reference checkpoint, then
# continue its prompt greedily with the exact CPU forward (prompt once, one token per step).
set -euo pipefail
BUILD=${1:-build}
MODEL=tests/fixtures/m3_hf_saved_bf16
"$BUILD/m3" info --model "$MODEL"
echo
echo "prompt ids:    $(cat "$MODEL/greedy_prompt.txt")"
echo "greedy ids:    $("$BUILD/m3" generate --model "$MODEL" --ids "$MODEL/greedy_prompt.txt" \
  --max-tokens 16 --temperature 0)"
echo "transformers:  $(tr -s " \n" "  " < "$MODEL/greedy_ids.txt" | cut -d" " -f1-16)"
