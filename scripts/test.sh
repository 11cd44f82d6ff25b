#!/bin/bash
# test.sh — what `npm test` and CI run: set-up, then the proto check, lint and the unit suite, then the
# host-level suites (conformance, cross-host, the fault matrix) in two lanes at once. Stops at the first
# failure; ends with one summary line per stage.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
T0=$SECONDS
summary=()

report() {
  echo
  echo "== summary"
  printf '%s\n' "${summary[@]}"
  echo "total $((SECONDS - T0))s"
}

# run NAME CMD...: runs one suite, records PASS/FAIL and its time; the first failure ends the run.
run() {
  local name=$1 t=$SECONDS rc; shift
  echo "== $name: $*"
  "$@" </dev/null
  rc=$?
  if [ $rc -eq 0 ]; then
    summary+=("PASS  $(printf '%-12s' "$name") $((SECONDS - t))s")
  else
    summary+=("FAIL  $(printf '%-12s' "$name") $((SECONDS - t))s (exit $rc)")
    report
    exit $rc
  fi
}

run setup bash scripts/setup.sh
run proto npm run --silent proto:check
run lint npm run --silent lint
run unit node scripts/run-tests.mjs unit
# Conformance, cross-host, seed 000 and the fault matrix in two lanes at once (scripts/run-tests.mjs says which).
run hosts node scripts/run-tests.mjs hosts --seed
report
