#!/usr/bin/env bash
# Validates the Step Functions definitions with asl-validator (npm), fetched
# into the stand-ins cache (MAILBRIDGE_STANDINS_DIR, default .standins/) on
# first use.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${MAILBRIDGE_STANDINS_DIR:-$PWD/.standins}/node
if [ ! -x "$dir/node_modules/.bin/asl-validator" ]; then
  echo "fetching asl-validator@4.0.0 through npm into $dir"
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error asl-validator@4.0.0 >/dev/null
fi
status=0
for f in infra/*.asl.json; do
  [ -e "$f" ] || { echo "no state machine definitions in infra/"; exit 1; }
  if "$dir/node_modules/.bin/asl-validator" --json-path "$f" --silent; then
    echo "valid: $f"
  else
    echo "INVALID: $f"; status=1
  fi
done
exit $status
