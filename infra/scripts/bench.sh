#!/usr/bin/env bash
# `make bench`: the numbers in docs/performance.md. Prints Markdown to paste there.
set -euo pipefail
cd "$(dirname "$0")/../.."
echo "## cargo bench -p accolade --bench render"
cargo bench -p accolade --bench render -- --warm-up-time 1 --measurement-time 3 2>/dev/null \
  | grep -E 'time:' | sed -E 's/^([a-z0-9_]+) +time: +\[([^ ]+ [^ ]+) ([^ ]+ [^ ]+) ([^ ]+ [^ ]+)\]/| \1 | \3 |/'
echo
echo "## cargo run --release -p accolade --example card -- docs/images"
cargo run -q --release -p accolade --example card -- docs/images
echo
echo "## cargo bench -p accolade --bench signing"
cargo bench -p accolade --bench signing -- --warm-up-time 2 --measurement-time 8 2>/dev/null \
  | grep -E 'time:' | sed -E 's/^([a-z0-9_]+) +time: +\[([^ ]+ [^ ]+) ([^ ]+ [^ ]+) ([^ ]+ [^ ]+)\]/| \1 | \3 |/'
echo
echo "## infra/scripts/latency.sh"
infra/scripts/latency.sh "${REQUESTS:-500}"
