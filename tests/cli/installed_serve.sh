#!/usr/bin/env bash
# An installed m3 (`cmake --install`) serves the default model installed beside it, not the
# checkout it was built from. Usage: installed_serve.sh BUILD_DIR
set -euo pipefail
build=$1
prefix=$(mktemp -d)
log=$prefix/serve.log
server=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$prefix"
}
trap cleanup EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
"$prefix/bin/m3" serve --port 0 2>"$log" &
server=$!
for _ in $(seq 1 300); do
  grep -q "on http://" "$log" && break
  kill -0 "$server" 2>/dev/null || { cat "$log"; echo "m3 serve exited"; exit 1; }
  sleep 0.1
done
expected="from $prefix/share/m3/models/default ("
grep -qF "$expected" "$log" || { cat "$log"; echo "expected: $expected"; exit 1; }
echo "installed m3 serves $prefix/share/m3/models/default"
