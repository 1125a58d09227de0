#!/usr/bin/env bash
# Start, stop or describe the local AWS stand-ins for a whole test session:
# DynamoDB Local (AWS's jar, from the npm package amplify-dynamodb-simulator)
# and moto_server (SQS, Secrets Manager, KMS, ...).
#
#   eval "$(scripts/standins.sh start)"   start both (if not running), print exports
#   scripts/standins.sh env               print the exports for running stand-ins
#   scripts/standins.sh stop              stop what start started
#
# Exports go to stdout; progress and errors go to stderr. PID files and logs
# live in .standins/run/. Tests read MAILBRIDGE_DYNAMODB_ENDPOINT and
# MAILBRIDGE_MOTO_ENDPOINT; without them each test binary starts its own.
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${MAILBRIDGE_STANDINS_DIR:-$PWD/.standins}
run=${MAILBRIDGE_STANDINS_RUN:-$cache/run}
ddb_dir=$cache/dynamodb-local
ddb_pkg=amplify-dynamodb-simulator@2.9.30

log() { echo "standins: $*" >&2; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

alive() { # alive NAME: the recorded pid runs
  [ -f "$run/$1.pid" ] && kill -0 "$(cat "$run/$1.pid")" 2>/dev/null
}

wait_http() { # wait_http NAME URL PID
  for _ in $(seq 1 600); do
    if curl -s -o /dev/null --max-time 1 "$2/"; then return 0; fi
    if ! kill -0 "$3" 2>/dev/null; then
      log "$1 exited during start; see $run/$1.log"; tail -n 20 "$run/$1.log" >&2; return 1
    fi
    sleep 0.1
  done
  log "$1 did not answer on $2 within 60 s; see $run/$1.log"; return 1
}

fetch_dynamodb() {
  [ -f "$ddb_dir/DynamoDBLocal.jar" ] && return 0
  command -v npm >/dev/null || { log "DynamoDB Local is missing and npm is not installed (apt-get install -y npm)"; return 1; }
  log "fetching DynamoDB Local (npm pack $ddb_pkg, about 60 MB) into $ddb_dir"
  local tmp; tmp=$(mktemp -d "$cache/fetch-XXXXXX")
  if ! (cd "$tmp" && npm pack --silent "$ddb_pkg" >/dev/null && tar xzf amplify-dynamodb-simulator-*.tgz) ||
     [ ! -f "$tmp/package/emulator/DynamoDBLocal.jar" ]; then
    rm -rf "$tmp"
    log "could not fetch DynamoDB Local; get it by hand: cd $cache && npm pack $ddb_pkg && tar xzf amplify-dynamodb-simulator-*.tgz && mv package/emulator dynamodb-local"
    return 1
  fi
  mv "$tmp/package/emulator" "$ddb_dir"
  rm -rf "$tmp"
}

launch_one() { # launch_one NAME DIR CMD...  (port substituted for @PORT@)
  local name=$1 dir=$2; shift 2
  if alive "$name"; then log "$name already running on $(cat "$run/$name.endpoint")"; return 0; fi
  local port; port=$(free_port)
  local args=("${@//@PORT@/$port}")
  date +%s.%N >"$run/$name.t0"
  # setsid: own process group, so stop can kill it and all its children.
  (cd "$dir" && exec setsid "${args[@]}" >"$run/$name.log" 2>&1 </dev/null) &
  echo "$!" >"$run/$name.pid"
  echo "http://127.0.0.1:$port" >"$run/$name.endpoint"
}

await_one() { # await_one NAME: wait until a launched stand-in answers
  local name=$1
  [ -f "$run/$name.t0" ] || return 0
  local pid endpoint t0
  pid=$(cat "$run/$name.pid") endpoint=$(cat "$run/$name.endpoint") t0=$(cat "$run/$name.t0")
  rm -f "$run/$name.t0"
  if ! wait_http "$name" "$endpoint" "$pid"; then stop_one "$name"; return 1; fi
  log "$name up on $endpoint in $(python3 -c "print(round($(date +%s.%N) - $t0, 1))") s (pid $pid, log $run/$name.log)"
}

stop_one() {
  local name=$1
  if [ -f "$run/$name.pid" ]; then
    local pid; pid=$(cat "$run/$name.pid")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    rm -f "$run/$name.pid" "$run/$name.endpoint"
    log "$name stopped"
  fi
}

print_env() {
  alive dynamodb && echo "export MAILBRIDGE_DYNAMODB_ENDPOINT=$(cat "$run/dynamodb.endpoint")"
  alive moto && echo "export MAILBRIDGE_MOTO_ENDPOINT=$(cat "$run/moto.endpoint")"
  return 0
}

case "${1:-}" in
  start)
    mkdir -p "$run"
    command -v java >/dev/null || { log "java is missing (apt-get install -y openjdk-17-jre-headless)"; exit 1; }
    command -v moto_server >/dev/null || { log "moto_server is missing (pip install 'moto[server]==5.2.1')"; exit 1; }
    fetch_dynamodb
    # DynamoDB Local binds 0.0.0.0 (it has no host option); it holds only test data.
    # Both start at once; the JVM is the slow one.
    launch_one dynamodb "$ddb_dir" java -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar -inMemory -sharedDb -port @PORT@
    launch_one moto "$PWD" moto_server -H 127.0.0.1 -p @PORT@
    if ! { await_one moto && await_one dynamodb; }; then stop_one dynamodb; stop_one moto; exit 1; fi
    print_env
    ;;
  stop)
    stop_one dynamodb
    stop_one moto
    ;;
  env)
    print_env
    ;;
  *)
    echo "usage: $0 start|stop|env" >&2
    exit 2
    ;;
esac
