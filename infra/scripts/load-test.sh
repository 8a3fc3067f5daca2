#!/usr/bin/env bash
# `make test` on a busy machine: runs it RUNS times (default 3) in a row with two busy CPU loops
# beside it (on 2 cores, the suite gets about a third of the machine), and stops at the first
# failure. Not part of `make test`; run it before landing changes to the local stack or the tests.
#   infra/scripts/load-test.sh            # three runs
#   RUNS=1 infra/scripts/load-test.sh     # one
# Each run's output is kept in test-output/load/run-N.log (and the emulator's log of the last run
# in test-output/moto.log).
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${RUNS:-3}
mkdir -p test-output/load
busy=()
for _ in 1 2; do
  ( while :; do :; done ) &
  busy+=($!)
done
trap 'kill "${busy[@]}" 2>/dev/null || true' EXIT
echo "two busy loops running (pids ${busy[*]}); $runs run(s) of make test"
for i in $(seq 1 "$runs"); do
  log="test-output/load/run-$i.log"
  start=$(date +%s)
  if make test > "$log" 2>&1; then
    echo "run $i of $runs: passed in $(( $(date +%s) - start )) s ($(grep -E '^test result:' "$log" | awk '{p+=$4; f+=$6} END {print p" passed, "f" failed"}'))"
  else
    echo "run $i of $runs: FAILED after $(( $(date +%s) - start )) s; the end of $log:"
    tail -n 80 "$log"
    exit 1
  fi
done
echo "$runs passed, 0 failed"
