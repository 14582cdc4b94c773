#!/usr/bin/env bash
# The main job on the embedded default model.
set -euo pipefail
BUILD=${1:-build}
"$BUILD/m3" 2>&1 | head -20 || true
