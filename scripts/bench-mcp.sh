#!/usr/bin/env bash
# MCP benchmark: messages/s through `haechi mcp-stdio`, beside the JavaScript Haechi when a
# checkout of it is given, and the latency `haechi mcp-wrap` adds per round trip.
#
#   1. throughput: MESSAGES tools/call lines with ~1 KB arguments (an email and a phone
#      number each, so every message is rewritten and audited) piped through mcp-stdio; best
#      of RUNS; the same with clean arguments;
#   2. latency: ROUND_TRIPS messages sent one at a time to `cat` (which answers each line with
#      itself), run directly and behind `haechi mcp-wrap`; the difference is what haechi adds
#      for two filter passes and two audit events.
# Both use enforce mode with the llm-redact preset and the default audit.fsync.
# It prints numbers and never asserts a time; it exits non-zero only when setup fails.
#
# Environment:
#   MESSAGES=20000 RUNS=3 ROUND_TRIPS=2000
#   REFERENCE_DIR=path   a checkout of github.com/raeseoklee/haechi (the JavaScript Haechi 1.7,
#                        zero-dependency; needs node): measured beside ours when set
#   SKIP_BUILD=1         use the release binaries already built
#   KEEP_TMP=1           keep the temp dir
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
MESSAGES=${MESSAGES:-20000}
RUNS=${RUNS:-3}
ROUND_TRIPS=${ROUND_TRIPS:-2000}
REFERENCE_DIR=${REFERENCE_DIR:-}

log() { printf '[bench-mcp] %s\n' "$*" >&2; }
die() {
  log "setup failed: $*"
  exit 1
}

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  log "building release binaries"
  (cd "$ROOT" && cargo build --release -q -p haechi-cli &&
    cargo build --release -q -p haechi-mcp --example mcp_round_trip) || die "cargo build failed"
fi
HAECHI=$CARGO_TARGET_DIR/release/haechi
ROUND_TRIP=$CARGO_TARGET_DIR/release/examples/mcp_round_trip
[[ -x $HAECHI && -x $ROUND_TRIP ]] || die "release binaries missing (run without SKIP_BUILD=1)"
command -v python3 >/dev/null || die "python3 is needed to write the inputs"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/haechi-bench-mcp.XXXXXX")
[[ ${KEEP_TMP:-0} == 1 ]] || trap 'rm -rf "$TMP"' EXIT

# setup_dir DIR : a config (enforce, llm-redact) with its own key file and audit log.
setup_dir() {
  mkdir -p "$1"
  (cd "$1" && "$HAECHI" init --config haechi.config.json >/dev/null) || die "haechi init failed"
  python3 - "$1" <<'PY' || die "could not edit the config"
import json, os, sys
d = sys.argv[1]
path = os.path.join(d, "haechi.config.json")
c = json.load(open(path))
c["mode"] = "enforce"
c["policy"]["mode"] = "enforce"
c["policy"]["presets"] = ["llm-redact"]
c["keys"]["keyFile"] = os.path.join(d, ".haechi", "dev.keys.json")
c["audit"]["path"] = os.path.join(d, "audit.jsonl")
c["tokenVault"]["path"] = os.path.join(d, "token-vault.json")
json.dump(c, open(path, "w"), indent=2)
PY
}

python3 - "$TMP" "$MESSAGES" <<'PY' || die "could not write the inputs"
import json, sys
tmp, count = sys.argv[1], int(sys.argv[2])
filler = ("The customer asked about the delivery of three paperbacks ordered last week; the tracking "
          "page has not changed since Monday and they would like an update and a new estimate. ")
def message(i, pii):
    note = filler * 5
    if pii:
        note += f"Reach them at jane.doe{i % 97}@example.com or 010-1234-{i % 10000:04d}."
    args = {"ticket": f"T-{i}", "note": note[:1000]}
    return json.dumps({"jsonrpc": "2.0", "id": i + 1, "method": "tools/call",
                       "params": {"name": "update_ticket", "arguments": args}})
for name, pii in (("pii", True), ("clean", False)):
    with open(f"{tmp}/{name}.jsonl", "w") as out:
        for i in range(count):
            out.write(message(i, pii) + "\n")
open(f"{tmp}/one.json", "w").write(message(0, True) + "\n")
PY
log "input: $MESSAGES messages of $(head -n 1 "$TMP/pii.jsonl" | wc -c) bytes"

# best_rate NAME INPUT COMMAND... : best messages/s of RUNS runs (fresh audit log each run)
best_rate() {
  local name=$1 input=$2 best=0 run start end rate lines
  shift 2
  for run in $(seq "$RUNS"); do
    rm -f "$DIR/audit.jsonl"
    start=$(date +%s.%N)
    "$@" <"$input" >"$TMP/$name.out" 2>"$TMP/$name.err" || die "$name failed: $(tail -n 3 "$TMP/$name.err")"
    end=$(date +%s.%N)
    lines=$(wc -l <"$TMP/$name.out")
    [[ $lines == "$MESSAGES" ]] || die "$name wrote $lines lines for $MESSAGES messages"
    rate=$(python3 -c "print(round($MESSAGES / ($end - $start)))")
    ((rate > best)) && best=$rate
  done
  echo "$best"
}

echo "== mcp-stdio throughput ($MESSAGES tools/call messages, ~1 KB arguments, best of $RUNS)"
DIR=$TMP/rust
setup_dir "$DIR"
rust_pii=$(best_rate rust-pii "$TMP/pii.jsonl" "$HAECHI" mcp-stdio --config "$DIR/haechi.config.json")
rust_clean=$(best_rate rust-clean "$TMP/clean.jsonl" "$HAECHI" mcp-stdio --config "$DIR/haechi.config.json")
grep -q '\[REDACTED:email\]' "$TMP/rust-pii.out" || die "the email was not redacted"
"$HAECHI" audit-verify --config "$DIR/haechi.config.json" >/dev/null || die "the audit chain does not verify"
printf '  %-34s %10s msg/s\n' "haechi (Rust), email+phone" "$rust_pii" "haechi (Rust), clean" "$rust_clean"

if [[ -n $REFERENCE_DIR ]]; then
  command -v node >/dev/null || die "REFERENCE_DIR is set but node is not installed"
  REF=$REFERENCE_DIR/packages/cli/bin/haechi.mjs
  [[ -f $REF ]] || die "no $REF: REFERENCE_DIR must be a checkout of raeseoklee/haechi"
  DIR=$TMP/reference
  setup_dir "$DIR"
  ref_pii=$(best_rate ref-pii "$TMP/pii.jsonl" node "$REF" mcp-stdio --config "$DIR/haechi.config.json")
  ref_clean=$(best_rate ref-clean "$TMP/clean.jsonl" node "$REF" mcp-stdio --config "$DIR/haechi.config.json")
  printf '  %-34s %10s msg/s\n' "reference (JS 1.7), email+phone" "$ref_pii" "reference (JS 1.7), clean" "$ref_clean"
  python3 -c "print(f'  ratio: {$rust_pii / $ref_pii:.1f}x with PII, {$rust_clean / $ref_clean:.1f}x clean')"
else
  echo "  (set REFERENCE_DIR to a checkout of raeseoklee/haechi to measure the reference beside it)"
fi

echo "== mcp-wrap added latency ($ROUND_TRIPS round trips, one message at a time, to cat)"
DIR=$TMP/wrap
setup_dir "$DIR"
direct=$("$ROUND_TRIP" "$ROUND_TRIPS" "$TMP/one.json" -- cat) || die "the direct run failed"
wrapped=$("$ROUND_TRIP" "$ROUND_TRIPS" "$TMP/one.json" -- "$HAECHI" mcp-wrap --config "$DIR/haechi.config.json" -- cat) ||
  die "the mcp-wrap run failed"
python3 - "$direct" "$wrapped" <<'PY'
import json, sys
direct, wrapped = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for key in ("p50_us", "p90_us", "p99_us"):
    print(f"  {key[:-3]:>4}: direct {direct[key]:8.1f} us   wrapped {wrapped[key]:8.1f} us   added {wrapped[key] - direct[key]:8.1f} us")
PY
