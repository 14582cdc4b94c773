#!/usr/bin/env bash
# The official OpenAI Node client that the server tests drive, pinned by version and sha256:
#   .deps/npm/openai/package/index.mjs   npm openai@5.23.2 (no dependencies; Node >= 18)
set -euo pipefail
cd "$(dirname "$0")/../.."
version=5.23.2
sha=a2aa74ff8be1a80a215af201a3d2228e999464d166c1eaec2c9ca313395fbef1
root=.deps/npm/openai
[ -f "$root/$version.ok" ] && exit 0
mkdir -p "$root"
tgz=openai-$version.tgz
(cd "$root" && rm -f "$tgz" && npm pack --silent "openai@$version" >/dev/null)
got=$(sha256sum "$root/$tgz" | cut -d' ' -f1)
if [ "$got" != "$sha" ]; then
  echo "openai_client.sh: sha256 mismatch for $tgz: got $got, want $sha" >&2
  exit 1
fi
rm -rf "$root/package"
tar -xzf "$root/$tgz" -C "$root"
touch "$root/$version.ok"
