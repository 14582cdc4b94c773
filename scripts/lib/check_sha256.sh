# Sourced by the asset scripts: check_sha256 FILE EXPECTED removes FILE and exits on a mismatch.
check_sha256() {
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  if [ "$got" != "$2" ]; then
    echo "$(basename "$0"): sha256 mismatch for $1: got $got, want $2" >&2
    rm -f "$1"
    exit 1
  fi
}
