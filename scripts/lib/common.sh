# shellcheck shell=bash
# Shared by the test and benchmark scripts: installing Debian packages, and the background
# processes a script starts (each killed on exit). Source it after defining `log`.

# apt_install PACKAGE... : install with apt-get (via sudo when not root), updating the index once
# if the first attempt fails.
apt_install() {
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  log "installing $* with apt-get"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null ||
    { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
}

# ---------------------------------------------------------------- background processes
TMP=""
PIDS=()
LAST_PID=""
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 0.3
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  if [[ -n $TMP && -d $TMP ]]; then
    if [[ ${KEEP_TMP:-0} == 1 ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

forget_pid() {
  local keep=() pid
  for pid in "${PIDS[@]}"; do [[ $pid == "$1" ]] || keep+=("$pid"); done
  PIDS=("${keep[@]}")
}

# start_bg NAME DIR CMD... : run CMD in DIR with output in $TMP/NAME.{out,err}; sets LAST_PID.
start_bg() {
  local name=$1 dir=$2
  shift 2
  (cd "$dir" && exec "$@") >"$TMP/$name.out" 2>"$TMP/$name.err" &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}

# wait_port NAME PID REGEX : wait until NAME's stdout has a line matching REGEX (the port as its
# last number); prints the port.
wait_port() {
  local name=$1 pid=$2 regex=$3 line
  for _ in $(seq 600); do
    line=$(grep -m1 -E "$regex" "$TMP/$name.out" 2>/dev/null || true)
    if [[ -n $line ]]; then
      grep -oE '[0-9]+$' <<<"$line"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  log "$name did not start; its output:"
  tail -n 20 "$TMP/$name.out" "$TMP/$name.err" >&2 || true
  return 1
}

# stop_pid PID [SIGNAL] : signal (default TERM) and wait; returns the exit status, or 124 when
# the process had to be killed.
stop_pid() {
  local pid=$1 rc=0
  kill "-${2:-TERM}" "$pid" 2>/dev/null || return 0
  for _ in $(seq 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rc=124
  else
    wait "$pid" 2>/dev/null || rc=$?
  fi
  forget_pid "$pid"
  return "$rc"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
