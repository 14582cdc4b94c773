#!/usr/bin/env bash
# Installs the Debian packages the build and tests need (only the missing ones).
set -euo pipefail
packages=(cmake ninja-build g++ pkg-config libgtest-dev libgmock-dev libbenchmark-dev
          nlohmann-json3-dev libpcre2-dev libutf8proc-dev libcpp-httplib-dev libxxhash-dev
          libpng-dev libjpeg62-turbo-dev libwebp-dev libgif-dev
          libavformat-dev libavcodec-dev libavutil-dev libswscale-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
