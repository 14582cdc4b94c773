#!/usr/bin/env bash
# `make demo`: start `m3 serve` on the embedded default model, send one chat request, print the
# response, stop the server.
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
cat "$log"
echo
echo "POST http://127.0.0.1:$port/v1/chat/completions"
curl -sS "http://127.0.0.1:$port/v1/chat/completions" -H 'Content-Type: application/json' -d '{
  "model": "m3-default",
  "messages": [{"role": "user", "content": "In the beginning, what did God create?"}],
  "max_tokens": 24, "temperature": 0.7
}'
echo
echo "(the embedded model has random weights: the text is noise, the pipeline is real)"
kill -TERM "$server"
wait "$server" || true
tail -n 2 "$log"
