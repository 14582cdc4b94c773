#!/usr/bin/env bash
# `make demo`: start `m3 serve` on the embedded default model (models/default, trained by
# scripts/demo_model/), send a chat request and a tool request, print both answers, stop the server.
set -euo pipefail
BUILD=${1:-build}
log=$(mktemp)
"$BUILD/m3" serve --port 0 2>"$log" &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -f "$log"' EXIT
port=""
for _ in $(seq 1 600); do
  port=$(sed -n "s/.*serving '.*' .* on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p" "$log")
  [ -n "$port" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "m3 serve did not start"; cat "$log"; exit 1; }
tr '\r' '\n' <"$log" | tail -n 1
request() {
  echo
  echo "POST http://127.0.0.1:$port/v1/chat/completions $1"
  curl -sS "http://127.0.0.1:$port/v1/chat/completions" -H 'Content-Type: application/json' -d "$2"
  echo
}
request "(chat)" '{
  "model": "m3-default",
  "messages": [{"role": "user", "content": "Who are you?"}],
  "max_tokens": 60, "temperature": 0
}'
request "(tool)" '{
  "model": "m3-default",
  "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
  "tools": [{"type": "function", "function": {"name": "get_weather",
    "description": "Get the current weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}],
  "max_tokens": 80, "temperature": 0
}'
echo
echo "(a 31M-parameter model trained for 8 minutes: the format is right, the facts often are not;"
echo " see models/default/README.md)"
kill -TERM "$server"
wait "$server" || true
tail -n 2 "$log"
