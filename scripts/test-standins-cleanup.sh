#!/usr/bin/env bash
# Checks that a test session (scripts/session.sh, the code `make test` runs)
# leaves no process behind: it starts real stand-ins in private run dirs and
# ends one session green, one red, one by Ctrl-C (SIGINT to its whole process
# group, as a terminal sends it) and one by SIGTERM to the shell alone (as a
# CI runner sends it), each while a step is running. It then asserts that
# every process of the stand-ins' process groups (the JVM's children
# included) and of the running step is gone.
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mailbridge-cleanup-XXXXXX")
# Whatever this check finds, it leaves nothing running itself.
# Sessions still running get SIGTERM (their own cleanup then runs); any
# stand-in still up after that is killed.
declare -A session
leftovers() {
  local p g
  trap '' INT TERM
  for p in "${session[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done
  for p in "${session[@]}"; do wait "$p" 2>/dev/null || true; done
  cat "$tmp"/*/pgids 2>/dev/null | while read -r g; do kill -KILL -- "-$g" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap leftovers EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The session under test: start the stand-ins, record their process groups
# and every pid in them, start a step that records its own pid, then end as
# $2 says. Exit statuses are what test.sh's callers see.
cat >"$tmp/session.sh" <<'EOF'
set -uo pipefail
dir=$1 how=$2
source scripts/session.sh
session_begin "$dir/run" 2>"$dir/start.log" || exit 1
for n in dynamodb moto; do
  g=$(cat "$dir/run/$n.pid")
  echo "$g" >>"$dir/pgids"
  pgrep -g "$g" >>"$dir/pids"
done
# The step records its pid (its process group) and runs a child until it
# ends or is stopped; the child shows that the step's children are stopped too.
step() { echo $$ >"$dir/step.pid"; sleep "$1"; return "$2"; }
export -f step; export dir
case $how in
  green) session_step bash -c 'step 0 0' ;;
  red) session_step bash -c 'step 0 3' || exit 1 ;;
  *) session_step bash -c 'step 300 0' ;;
esac
EOF

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# begin CASE: start a session that ends as CASE says (in the background).
begin() {
  local how=$1 dir="$tmp/$1"
  mkdir -p "$dir"
  # Under job control (set -m below) the session gets its own process group,
  # as `make test` has in a terminal. A shell cannot trap a signal it was
  # started with ignored, and a background step (as this check is under
  # `make test`) starts with SIGINT ignored: python3 restores it first.
  python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])' \
    bash "$tmp/session.sh" "$dir" "$how" >"$dir/out.log" 2>&1 &
  session[$how]=$!
}

# interrupt CASE: once the session's step runs, send what CASE says.
interrupt() {
  local how=$1 dir="$tmp/$1" pid=${session[$1]}
  for _ in $(seq 1 900); do [ -s "$dir/step.pid" ] && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if [ ! -s "$dir/step.pid" ]; then fail "$how: the session never reached its step"; cat "$dir"/*.log >&2; fi
  if [ "$how" = sigint ]; then kill -INT -- "-$pid"; else kill -TERM "$pid"; fi
}

# verify CASE WANT_STATUS: the session ended with WANT_STATUS and left nothing running.
verify() {
  local how=$1 want=$2 dir="$tmp/$1" pid=${session[$1]}
  local rc=0 before=$failures
  # A session that ignores its signal would run its step for 300 s: give up sooner.
  for _ in $(seq 1 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    fail "$how: the session was still running 60 s after it should have ended"
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  wait "$pid" || rc=$?
  [ "$rc" -eq "$want" ] || { fail "$how: session exited $rc, want $want"; cat "$dir"/*.log >&2; }
  [ -s "$dir/pids" ] || fail "$how: no stand-in processes were recorded"
  cat "$dir/step.pid" >>"$dir/pgids" 2>/dev/null || true
  local p g pids=() pgids=()
  mapfile -t pids <"$dir/pids" 2>/dev/null || true
  mapfile -t pgids <"$dir/pgids" 2>/dev/null || true
  for p in "${pids[@]}"; do
    if kill -0 "$p" 2>/dev/null; then fail "$how: process $p ($(ps -o args= -p "$p" | cut -c1-60)) is still running"; fi
  done
  for g in "${pgids[@]}"; do
    if pgrep -g "$g" >/dev/null; then fail "$how: process group $g still has processes: $(pgrep -g "$g" | tr '\n' ' ')"; fi
  done
  # Green removes the run dir; otherwise its logs stay for reading.
  if [ "$how" = green ] && [ -e "$dir/run" ]; then fail "green: the run dir was kept"; fi
  if [ "$how" != green ] && [ ! -e "$dir/run/moto.log" ]; then fail "$how: the run dir's logs were not kept"; fi
  if [ "$failures" -eq "$before" ]; then
    echo "stand-in cleanup, $how: exit $rc; its $(wc -l <"$dir/pids") stand-in processes and its step stopped"
  fi
}

# The JVM starts faster without its optimising compiler; this check needs it
# up, not fast. The four sessions run at once, so this takes one start's time.
export JAVA_TOOL_OPTIONS="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
set -m
t0=$SECONDS
for how in green red sigint sigterm; do begin "$how"; done
interrupt sigint
interrupt sigterm
verify green 0
verify red 1
verify sigint 130
verify sigterm 143
if [ "$failures" -gt 0 ]; then
  echo "stand-in cleanup: $failures failures" >&2
  exit 1
fi
echo "stand-in cleanup: green, red, Ctrl-C and SIGTERM leave nothing running ($((SECONDS - t0)) s)"
