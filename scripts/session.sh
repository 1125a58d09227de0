# shellcheck shell=bash
# Sourced, not run: one test session's stand-ins (DynamoDB Local, moto_server)
# and the cleanup that stops them however the session ends: green, red,
# Ctrl-C or SIGTERM. scripts/test.sh uses it, and
# scripts/test-standins-cleanup.sh checks this same code, so the check
# cannot drift from what `make test` runs.
#
#   session_begin RUN_DIR    start the stand-ins (pids and logs in RUN_DIR),
#                            export their endpoints, install the traps
#   session_step CMD...      run one step; an interrupt stops it and its children
#
# On exit the stand-ins are stopped first and RUN_DIR is removed afterwards
# (only when the session succeeded; otherwise its logs stay for reading):
# the pid files in RUN_DIR are what tells `standins.sh stop` what to stop.

session_scripts=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
session_step_pid=

session_begin() {
  export MAILBRIDGE_STANDINS_RUN=$1
  mkdir -p "$MAILBRIDGE_STANDINS_RUN"
  trap session_cleanup EXIT
  # The exit status says which signal ended the session; EXIT does the rest.
  trap 'exit 130' INT
  trap 'exit 143' TERM
  if ! session_step bash "$session_scripts/standins.sh" start >"$MAILBRIDGE_STANDINS_RUN/env"; then
    echo "could not start the stand-ins; see $MAILBRIDGE_STANDINS_RUN/*.log" >&2
    return 1
  fi
  # shellcheck disable=SC1091
  source "$MAILBRIDGE_STANDINS_RUN/env"
}

# A step runs in its own session (process group), in the background with the
# shell waiting for it: a signal to this shell then runs the trap at once
# (bash defers traps until a foreground command ends), and the trap can stop
# the step with all its children (go test's test binaries, for example).
session_step() {
  setsid "$@" &
  session_step_pid=$!
  local rc=0
  wait "$session_step_pid" || rc=$?
  session_step_pid=
  return "$rc"
}

session_cleanup() {
  local rc=$?
  # A second Ctrl-C must not cut the cleanup short.
  trap '' INT TERM
  if [ -n "$session_step_pid" ]; then
    kill -TERM -- "-$session_step_pid" 2>/dev/null
    local _
    # Until only the step's unreaped leader (a zombie) is left, at most 5 s.
    # shellcheck disable=SC2009 # pgrep would count the zombie too
    for _ in $(seq 1 50); do
      ps -o stat= -g "$session_step_pid" 2>/dev/null | grep -qv '^Z' || break
      sleep 0.1
    done
    kill -KILL -- "-$session_step_pid" 2>/dev/null
    wait "$session_step_pid" 2>/dev/null
  fi
  bash "$session_scripts/standins.sh" stop
  if [ "$rc" -eq 0 ]; then
    rm -rf "$MAILBRIDGE_STANDINS_RUN"
  else
    echo "stand-in logs kept in $MAILBRIDGE_STANDINS_RUN" >&2
  fi
  exit "$rc"
}
