#!/usr/bin/env bash
# Load benchmark for `haechi proxy`: measures, in one run and on this machine,
#   1. the stub upstream alone and a plain nginx reverse proxy in front of it (the ceilings),
#   2. the gateway in front of the same stub in three configs:
#        (a) enforce + llm-redact + responseProtection report-only   (the headline)
#        (b) the same in dry-run
#        (c) (a) with email/phone tokenized (token vault writes)
#   3. the gateway's memory: idle, after the run, under 1,000 connections, and an optional soak;
#   4. memory with a model's latency: 1,000 requests in flight against a stub that answers
#      after SLOW_UPSTREAM_MS, in redact and in tokenize mode.
# It never asserts a time: it prints numbers. It exits non-zero only when setup fails.
#
# Usage: scripts/bench-gateway.sh
# Environment:
#   DURATION=20s          measured run per target (a bare number means seconds)
#   CONNECTIONS=32 THREADS=2 WARMUP=2s
#   HIGH_CONNECTIONS=1000 HIGH_DURATION=15s   the many-connections run
#   SOAK_SECONDS=0        e.g. 300: wrk at HIGH_CONNECTIONS for that long, RSS sampled every 10 s
#   SLOW_UPSTREAM_MS=1000 SLOW_DURATION=15s   phase 4 (SLOW_UPSTREAM_MS=0 skips it)
#   AUDIT_FSYNC=          audit.fsync of every gateway config: unset = the default (interval);
#                         every-batch = a sync per request; never = the reference's durability
#   SKIP_BUILD=1          use the binaries already in $CARGO_TARGET_DIR/release
#   HAECHI_BIN=path STUB_BIN=path             use these binaries instead
#   GATEWAY_STANDIN=nginx run the gateway phases against a second nginx (tests this script)
#   KEEP_TMP=1            keep the temp dir (configs, logs, wrk output)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

seconds() { [[ $1 =~ ^[0-9]+$ ]] && echo "${1}s" || echo "$1"; }
DURATION=$(seconds "${DURATION:-20s}")
WARMUP=$(seconds "${WARMUP:-2s}")
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
HIGH_CONNECTIONS=${HIGH_CONNECTIONS:-1000}
HIGH_DURATION=$(seconds "${HIGH_DURATION:-15s}")
SOAK_SECONDS=${SOAK_SECONDS:-0}
SLOW_UPSTREAM_MS=${SLOW_UPSTREAM_MS:-1000}
SLOW_DURATION=$(seconds "${SLOW_DURATION:-15s}")
GATEWAY_STANDIN=${GATEWAY_STANDIN:-}

log() { printf '[bench] %s\n' "$*" >&2; }
die() {
  log "setup failed: $*"
  exit 1
}

source "$ROOT/scripts/lib/common.sh"

# wait_http URL : wait until URL answers at all (nginx prints nothing when ready).
wait_http() {
  local i
  for i in $(seq 100); do
    curl -s -o /dev/null --max-time 1 "$1" && return 0
    sleep 0.1
  done
  return 1
}

# RSS in KiB of a process plus its direct children (nginx workers; the gateway has none).
rss_kb() {
  local total=0 pid kb
  for pid in "$1" $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    total=$((total + ${kb:-0}))
  done
  echo "$total"
}
mib() { awk -v kb="$1" 'BEGIN { printf "%.1f MiB", kb / 1024 }'; }

# ---------------------------------------------------------------- tools and binaries
install_missing() {
  local missing=()
  command -v wrk >/dev/null || missing+=(wrk)
  command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
  command -v curl >/dev/null || missing+=(curl)
  command -v python3 >/dev/null || missing+=(python3)
  ((${#missing[@]} == 0)) && return 0
  apt_install "${missing[@]}" || die "could not install ${missing[*]}; install them and run again"
}

install_missing
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  build=(-p haechi-gateway --example stub_upstream)
  [[ -n ${HAECHI_BIN:-} ]] || build=(-p haechi-cli "${build[@]}")
  log "building release binaries (cargo build --release ${build[*]})"
  (cd "$ROOT" && cargo build --release -q "${build[@]}") || die "cargo build failed"
fi
HAECHI=${HAECHI_BIN:-$CARGO_TARGET_DIR/release/haechi}
STUB=${STUB_BIN:-$CARGO_TARGET_DIR/release/examples/stub_upstream}
[[ -x $STUB ]] || die "no stub upstream at $STUB (build it: cargo build --release -p haechi-gateway --example stub_upstream)"

GATEWAY_KIND=none
if [[ $GATEWAY_STANDIN == nginx ]]; then
  GATEWAY_KIND=nginx
elif [[ -x $HAECHI ]] && "$HAECHI" help 2>&1 | grep -qE '^[[:space:]]+proxy[[:space:]]'; then
  GATEWAY_KIND=haechi
else
  log "$HAECHI has no 'proxy' command yet: measuring the stub and nginx only (GATEWAY_STANDIN=nginx exercises the gateway phases)"
fi

# Many connections need many descriptors (the gateway holds two per proxied connection).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

TMP=$(mktemp -d "${TMPDIR:-/tmp}/haechi-bench.XXXXXX")
chmod 755 "$TMP" # nginx workers drop privileges and must reach their temp paths

# ---------------------------------------------------------------- the request
# ~1 KB chat body with an email, a KR mobile number, a Stripe-style key in assignment form
# and a password assignment: four detections (email, phone, api_key, secret).
EMAIL=jane.doe@example.com
PHONE=010-1234-5678
SECRET_VALUE=Kq7vR2mXw9LpT4zN
cat >"$TMP/body.json" <<EOF
{"model":"gpt-4o-mini","temperature":0.2,"max_tokens":256,"messages":[{"role":"system","content":"You are a careful support assistant for an online bookshop. Answer briefly and politely, never invent order details, and ask for clarification when a request is ambiguous. Summaries should use plain language and short sentences."},{"role":"user","content":"Hello! I ordered three paperbacks last week and the parcel still has not arrived. My tracking page says it left the warehouse on Monday but nothing has changed since then. Could you check what is going on? You can reach me at $EMAIL or on $PHONE during office hours. Also, our integration keeps failing with the config line api_key=sk_live_4eC39HqLyjWDarjtT1zdp7dc and the staging box still has password=$SECRET_VALUE, so please tell me whether I should rotate both. I would also like to know whether I can change the delivery address to my office, and whether the bookshop offers gift wrapping for the second order I am planning to place next month. Thank you very much for your help, and sorry!"}]}
EOF
{
  echo 'wrk.method = "POST"'
  echo 'wrk.path = "/v1/chat/completions"'
  echo 'wrk.headers["Content-Type"] = "application/json"'
  printf 'wrk.body = [==[%s]==]\n' "$(cat "$TMP/body.json")"
} >"$TMP/chat.lua"
log "request body: $(wc -c <"$TMP/body.json") bytes"

# ---------------------------------------------------------------- targets
start_stub() { # NAME [--record] ; sets STUB_PID, STUB_PORT
  start_bg "$1" "$TMP" "$STUB" --port 0 "${@:2}"
  STUB_PID=$LAST_PID
  STUB_PORT=$(wait_port "$1" "$STUB_PID" '^stub upstream listening on ') || die "the stub upstream did not start"
}

start_nginx() { # NAME UPSTREAM_PORT ; sets NGINX_PID, NGINX_PORT
  local name=$1 dir="$TMP/$1"
  NGINX_PORT=$(free_port)
  mkdir -p "$dir/logs"
  cat >"$dir/nginx.conf" <<EOF
worker_processes auto;
worker_rlimit_nofile 65536;
daemon off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $dir/client_body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  client_body_buffer_size 1m;
  upstream stub {
    server 127.0.0.1:$2;
    keepalive 64;
  }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      proxy_pass http://stub;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
  start_bg "$name" "$dir" "$NGINX" -p "$dir" -e "$dir/logs/error.log" -c "$dir/nginx.conf"
  NGINX_PID=$LAST_PID
  wait_http "http://127.0.0.1:$NGINX_PORT/" || {
    tail -n 20 "$TMP/$name.err" "$dir/logs/error.log" >&2 || true
    die "nginx did not start"
  }
}

# write_config DIR UPSTREAM_PORT VARIANT : a fresh `haechi init` config edited for VARIANT.
write_config() {
  local dir=$1
  mkdir -p "$dir"
  (cd "$dir" && "$HAECHI" init --config haechi.config.json >/dev/null) || die "haechi init failed in $dir"
  python3 - "$dir" "$2" "$3" <<'EOF' || die "could not edit $dir/haechi.config.json"
import json, os, sys
directory, port, variant = sys.argv[1], sys.argv[2], sys.argv[3]
path = os.path.join(directory, "haechi.config.json")
config = json.load(open(path))
mode = "dry-run" if variant == "dry-run" else "enforce"
config["mode"] = mode
config["target"]["upstream"] = f"http://127.0.0.1:{port}"
config["proxy"]["port"] = 0
config["policy"]["mode"] = mode
config["policy"]["presets"] = ["llm-redact"]
config["responseProtection"]["enabled"] = True
config["responseProtection"]["mode"] = "report-only"
if variant == "tokenize":
    config["policy"].setdefault("actions", {}).update({"email": "tokenize", "phone": "tokenize"})
config["keys"]["keyFile"] = os.path.join(directory, ".haechi", "dev.keys.json")
config["audit"]["path"] = os.path.join(directory, "audit.jsonl")
config["tokenVault"]["path"] = os.path.join(directory, "token-vault.json")
if os.environ.get("AUDIT_FSYNC"):
    config["audit"]["fsync"] = os.environ["AUDIT_FSYNC"]
json.dump(config, open(path, "w"), indent=2)
EOF
}

# start_gateway NAME UPSTREAM_PORT VARIANT ; sets GW_PID, GW_PORT, GW_DIR
start_gateway() {
  local name=$1
  GW_DIR="$TMP/$name"
  if [[ $GATEWAY_KIND == nginx ]]; then
    start_nginx "$name" "$2"
    GW_PID=$NGINX_PID GW_PORT=$NGINX_PORT
    return 0
  fi
  write_config "$GW_DIR" "$2" "$3"
  start_bg "$name" "$GW_DIR" "$HAECHI" proxy --config "$GW_DIR/haechi.config.json" --port 0 --host 127.0.0.1
  GW_PID=$LAST_PID
  GW_PORT=$(wait_port "$name" "$GW_PID" '^Haechi proxy listening on http://') || die "haechi proxy did not start ($3)"
  log "$name: $(grep -m1 '^Mode:' "$TMP/$name.out" || echo 'Mode: ?')"
}

stop_gateway() {
  local rc=0
  stop_pid "$1" || rc=$?
  ((rc == 0)) || log "warning: $2 exited with status $rc on SIGTERM (expected 0)"
}

# ---------------------------------------------------------------- measuring
LABELS=() CONNS=() RPS=() P99=() NON2XX=() ERRS=()

# run_wrk LABEL PORT CONNECTIONS DURATION : measured run, appended to the results table.
run_wrk() {
  local label=$1 port=$2 conns=$3 duration=$4 file
  file="$TMP/wrk-$(tr -c 'A-Za-z0-9' '_' <<<"$label").txt"
  wrk -t"$THREADS" -c"$conns" -d"$duration" --timeout 10s --latency -s "$TMP/chat.lua" \
    "http://127.0.0.1:$port/v1/chat/completions" >"$file" 2>&1 || log "warning: wrk failed for $label"
  record_wrk "$label" "$conns" "$file"
}

record_wrk() {
  local parsed
  parsed=$(python3 - "$3" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
def number(pattern, default="0"):
    match = re.search(pattern, text, re.M)
    return match.group(1) if match else default
scale = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}
p99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
p99_ms = f"{float(p99.group(1)) * scale[p99.group(2)]:.2f}" if p99 else "n/a"
errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
print(number(r"Requests/sec:\s+([\d.]+)"), p99_ms,
      number(r"Non-2xx or 3xx responses:\s+(\d+)"),
      sum(int(n) for n in errors.groups()) if errors else 0)
EOF
  )
  local rps p99 non2xx errs
  read -r rps p99 non2xx errs <<<"$parsed"
  LABELS+=("$1") CONNS+=("$2") RPS+=("$rps") P99+=("$p99") NON2XX+=("$non2xx") ERRS+=("$errs")
  log "$(printf '%-44s %6s conns  %10s req/s  p99 %8s ms  non-2xx %s  socket errors %s' "$1" "$2" "$rps" "$p99" "$non2xx" "$errs")"
}

# wrk_peak PORT DURATION FILE : wrk at HIGH_CONNECTIONS into FILE while the gateway's RSS is
# sampled each second; sets PEAK (KiB).
wrk_peak() {
  wrk -t"$THREADS" -c"$HIGH_CONNECTIONS" -d"$2" --timeout 10s --latency -s "$TMP/chat.lua" \
    "http://127.0.0.1:$1/v1/chat/completions" >"$3" 2>&1 &
  local wrk_pid=$! now
  PIDS+=("$wrk_pid")
  PEAK=0
  while kill -0 "$wrk_pid" 2>/dev/null; do
    now=$(rss_kb "$GW_PID")
    ((now > PEAK)) && PEAK=$now
    sleep 1
  done
  wait "$wrk_pid" || true
  forget_pid "$wrk_pid"
}

warm() { wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -s "$TMP/chat.lua" "http://127.0.0.1:$1/v1/chat/completions" >/dev/null 2>&1 || true; }

# protection_check NAME LABEL PORT : one request through a gateway whose upstream is the
# recording stub; prints what reached the upstream.
protection_check() {
  local status
  status=$(curl -s -o "$TMP/$1.response" -w '%{http_code}' -X POST -H 'content-type: application/json' \
    --data-binary @"$TMP/body.json" "http://127.0.0.1:$3/v1/chat/completions") || status=000
  curl -s "http://127.0.0.1:$RECORD_PORT/__stub/last" >"$TMP/$1.last" || true
  python3 - "$2" "$status" "$TMP/$1.last" "$EMAIL" "$PHONE" "$SECRET_VALUE" <<'EOF'
import json, re, sys
name, status, last_path, *originals = sys.argv[1:]
try:
    body = json.load(open(last_path))["body"]
except Exception:
    print(f"  {name}: HTTP {status}; the upstream saw no request")
    sys.exit(0)
leaked = [label for label, value in zip(("email", "phone", "secret"), originals) if value in body]
markers = sum(body.count(m) for m in ("[REDACTED:", "[TOKEN:", "[HAECHI_ENC:"))
masked = len(re.findall(r"\*{3,}", body))
print(f"  {name}: HTTP {status}; upstream got {len(body)} bytes, {markers} markers, "
      f"{masked} masked runs; originals still present: {', '.join(leaked) or 'none'}")
EOF
}

# ---------------------------------------------------------------- run
log "load: wrk -t$THREADS -c$CONNECTIONS -d$DURATION (warm-up $WARMUP), many-connections run -c$HIGH_CONNECTIONS -d$HIGH_DURATION"
start_stub stub
LOAD_STUB_PORT=$STUB_PORT

warm "$LOAD_STUB_PORT"
run_wrk "stub upstream (direct)" "$LOAD_STUB_PORT" "$CONNECTIONS" "$DURATION"

start_nginx nginx "$LOAD_STUB_PORT"
NGINX_MAIN_PID=$NGINX_PID
warm "$NGINX_PORT"
declare -A NGINX_RPS
run_wrk "nginx -> stub" "$NGINX_PORT" "$CONNECTIONS" "$DURATION"
NGINX_RPS[$CONNECTIONS]=${RPS[-1]}
run_wrk "nginx -> stub" "$NGINX_PORT" "$HIGH_CONNECTIONS" "$HIGH_DURATION"
NGINX_RPS[$HIGH_CONNECTIONS]=${RPS[-1]}
NGINX_HIGH_RSS=$(rss_kb "$NGINX_MAIN_PID")
stop_pid "$NGINX_MAIN_PID" || true

MEMORY=()
if [[ $GATEWAY_KIND != none ]]; then
  GW_TITLE=haechi
  [[ $GATEWAY_KIND == nginx ]] && GW_TITLE="stand-in nginx"
  start_stub stub-record --record
  RECORD_PORT=$STUB_PORT
  echo "What reached the upstream for one request ($(wc -c <"$TMP/body.json") bytes; email, phone, api_key, password):"
  VARIANTS=("enforce" "dry-run" "tokenize")
  TITLES=("(a) enforce, llm-redact, resp report-only" "(b) dry-run" "(c) enforce, tokenize email+phone")
  for i in 0 1 2; do
    variant=${VARIANTS[$i]}
    label="$GW_TITLE ${TITLES[$i]}"

    start_gateway "check-$variant" "$RECORD_PORT" "$variant"
    protection_check "check-$variant" "$label" "$GW_PORT"
    stop_gateway "$GW_PID" "$label"

    start_gateway "gw-$variant" "$LOAD_STUB_PORT" "$variant"
    idle=$(rss_kb "$GW_PID")
    warm "$GW_PORT"
    run_wrk "$label" "$GW_PORT" "$CONNECTIONS" "$DURATION"
    after=$(rss_kb "$GW_PID")
    MEMORY+=("$(printf '%-52s idle %s, after the %s-connection run %s' "$label" "$(mib "$idle")" "$CONNECTIONS" "$(mib "$after")")")

    if [[ $variant == enforce ]]; then
      wrk_peak "$GW_PORT" "$HIGH_DURATION" "$TMP/wrk-high.txt"
      record_wrk "$label" "$HIGH_CONNECTIONS" "$TMP/wrk-high.txt"
      sleep 2
      MEMORY+=("$(printf '%-52s peak during %s connections %s, 2 s after %s' "" "$HIGH_CONNECTIONS" "$(mib "$PEAK")" "$(mib "$(rss_kb "$GW_PID")")")")

      if ((SOAK_SECONDS > 0)); then
        log "soak: $HIGH_CONNECTIONS connections for ${SOAK_SECONDS}s, RSS every 10 s"
        wrk -t"$THREADS" -c"$HIGH_CONNECTIONS" -d"${SOAK_SECONDS}s" --timeout 10s --latency -s "$TMP/chat.lua" \
          "http://127.0.0.1:$GW_PORT/v1/chat/completions" >"$TMP/wrk-soak.txt" 2>&1 &
        wrk_pid=$!
        PIDS+=("$wrk_pid")
        SOAK=()
        while kill -0 "$wrk_pid" 2>/dev/null; do
          SOAK+=("$(rss_kb "$GW_PID")")
          for _ in $(seq 10); do kill -0 "$wrk_pid" 2>/dev/null && sleep 1; done
        done
        wait "$wrk_pid" || true
        forget_pid "$wrk_pid"
        SOAK+=("$(rss_kb "$GW_PID")")
        record_wrk "$label soak ${SOAK_SECONDS}s" "$HIGH_CONNECTIONS" "$TMP/wrk-soak.txt"
        series=""
        max=0
        for kb in "${SOAK[@]}"; do
          series+="$((kb / 1024)) "
          ((kb > max)) && max=$kb
        done
        MEMORY+=("$(printf '%-52s soak RSS MiB every 10 s: %s' "" "$series")")
        MEMORY+=("$(printf '%-52s soak first %s, last %s, max %s' "" "$(mib "${SOAK[0]}")" "$(mib "${SOAK[-1]}")" "$(mib "$max")")")
      fi
    fi
    stop_gateway "$GW_PID" "$label"

    if [[ $GATEWAY_KIND == haechi && -f $GW_DIR/audit.jsonl ]]; then
      events=$(wc -l <"$GW_DIR/audit.jsonl")
      verify=$(cd "$GW_DIR" && timeout 300 "$HAECHI" audit-verify --config haechi.config.json 2>&1 |
        python3 -c 'import json,sys; r=json.load(sys.stdin)["result"]; print("valid" if r.get("valid") else "INVALID", "over", r.get("records", "?"), "records")' 2>/dev/null) ||
        verify="not verified"
      MEMORY+=("$(printf '%-52s audit log: %s events, chain %s' "" "$events" "$verify")")
    fi
  done
fi

# ---------------------------------------------------------------- a model's latency
if [[ $GATEWAY_KIND == haechi && $SLOW_UPSTREAM_MS -gt 0 ]]; then
  start_stub stub-slow --delay-ms "$SLOW_UPSTREAM_MS"
  SLOW_PORT=$STUB_PORT
  for variant in enforce tokenize; do
    start_gateway "slow-$variant" "$SLOW_PORT" "$variant"
    idle=$(rss_kb "$GW_PID")
    wrk_peak "$GW_PORT" "$SLOW_DURATION" "$TMP/wrk-slow-$variant.txt"
    record_wrk "haechi $variant, upstream answers after ${SLOW_UPSTREAM_MS} ms" "$HIGH_CONNECTIONS" "$TMP/wrk-slow-$variant.txt"
    MEMORY+=("$(printf '%-52s idle %s, peak with %s in flight %s' "haechi $variant, ${SLOW_UPSTREAM_MS} ms upstream" "$(mib "$idle")" "$HIGH_CONNECTIONS" "$(mib "$PEAK")")")
    stop_gateway "$GW_PID" "slow $variant"
  done
fi

# ---------------------------------------------------------------- summary
echo
echo "Summary ($(nproc) CPUs; wrk -t$THREADS, ${DURATION} runs, ${HIGH_DURATION} for many connections; all processes share this machine)"
printf '%-58s %6s %11s %10s %9s %7s %11s\n' target conns req/s "p99 ms" non-2xx errors "% of nginx"
for i in "${!LABELS[@]}"; do
  base=${NGINX_RPS[${CONNS[$i]}]:-0}
  pct=$(awk -v a="${RPS[$i]}" -v b="$base" 'BEGIN { if (b > 0) printf "%.1f%%", 100 * a / b; else print "n/a" }')
  printf '%-58s %6s %11s %10s %9s %7s %11s\n' "${LABELS[$i]}" "${CONNS[$i]}" "${RPS[$i]}" "${P99[$i]}" "${NON2XX[$i]}" "${ERRS[$i]}" "$pct"
done
echo "(% of nginx: against nginx -> stub at the same number of connections)"
if [[ $GATEWAY_KIND == haechi ]]; then
  echo "(every haechi config: preset llm-redact, responseProtection on in report-only, audit file with audit.fsync ${AUDIT_FSYNC:-interval (default)})"
fi
echo
echo "Memory (RSS):"
printf '%-52s after %s connections %s (master + workers)\n' "nginx -> stub" "$HIGH_CONNECTIONS" "$(mib "$NGINX_HIGH_RSS")"
if ((${#MEMORY[@]})); then
  printf '%s\n' "${MEMORY[@]}"
else
  echo "gateway not measured (no 'proxy' command in $HAECHI)"
fi
