#!/bin/bash
# test.sh — what `npm test` and CI run: set-up, then the proto check and the unit, conformance and cross-host
# suites in that order, then the fault matrix. Stops at the first failure; ends with one summary line per suite.
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
if [ -n "$(find packages/agent/lib/backends/conformance -name '*.test.js' 2>/dev/null | head -1)" ]; then
  run conformance node scripts/run-tests.mjs conformance
else
  summary+=("SKIP  conformance  (no compiled tests in packages/agent/lib/backends/conformance)")
fi
run cross node scripts/run-tests.mjs cross
run faults node scripts/run-tests.mjs faults
report
