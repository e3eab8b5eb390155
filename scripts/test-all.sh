#!/usr/bin/env bash
# The project's full test run: every crate's tests, then the end-to-end checks with the real
# OpenAI and Anthropic SDKs through `haechi proxy` (scripts/e2e.sh).
#
# Needs only a Rust toolchain and python3 on Debian/Ubuntu; anything else (a C compiler for the
# bundled SQLite, curl, python3-venv) is installed with apt-get when missing.
# Extra arguments go to `cargo test`, e.g. scripts/test-all.sh --release
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

log() { printf '[test-all] %s\n' "$*" >&2; }
source "$ROOT/scripts/lib/common.sh"

missing=()
command -v cc >/dev/null || missing+=(build-essential)
command -v curl >/dev/null || missing+=(curl)
command -v python3 >/dev/null || missing+=(python3 python3-venv)
if ((${#missing[@]})); then
  apt_install "${missing[@]}" || {
    log "could not install ${missing[*]}; install them and run again"
    exit 2
  }
fi
command -v cargo >/dev/null || {
  log "cargo not found: install the Rust toolchain (https://rustup.rs) and run again"
  exit 2
}

cd "$ROOT"
log "cargo test --workspace $*"
cargo test --workspace "$@"
log "scripts/e2e.sh"
scripts/e2e.sh
log "all tests passed"
