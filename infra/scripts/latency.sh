#!/usr/bin/env bash
# Request latency of the public badge page and its JSON on the local stack (moto behind it).
# Starts its own stack (release build) on a free port unless STACK_URL points at a running one.
#   usage: infra/scripts/latency.sh [requests=500]
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-500}
infra/scripts/venv.sh --emulator-only
cargo build --release -q -p infra
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
log=$(mktemp)
"${CARGO_TARGET_DIR:-target}/release/infra" dev --port "$port" > "$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do grep -q "Demo badge" "$log" && break; sleep 0.5; done
award=$(grep "Demo badge" "$log" | sed 's#.*/b/##')
base="http://127.0.0.1:$port"
key=$(grep -E '^ +API key ' "$log" | awk '{print $3}')
jar=$(mktemp)
curl -s -o /dev/null -c "$jar" -H "Sec-Fetch-Site: same-origin" --data-urlencode "api_key=$key" "$base/console/login"
measure() { # path label [curl args…]
  local path=$1 label=$2
  shift 2
  curl -s -o /dev/null "$@" "$base$path" -A "Mozilla/5.0 latency-script" # warm the Lambda-style caches
  for _ in $(seq 1 "$n"); do
    curl -s -o /dev/null -A "Mozilla/5.0 latency-script" -w '%{http_code} %{time_total}\n' "$@" "$base$path"
  done | python3 -c '
import sys, statistics
rows = [l.split() for l in sys.stdin if l.strip()]
bad = [r[0] for r in rows if r[0] != "200"]
if bad: sys.exit(f"{sys.argv[1]}: {len(bad)} answers were not 200 (e.g. {bad[0]})")
xs = sorted(float(t) * 1000 for _, t in rows)
q = lambda p: xs[min(len(xs) - 1, int(p * len(xs)))]
print(f"| {sys.argv[1]} | {len(xs)} | {q(0.5):.2f} | {q(0.95):.2f} | {q(0.99):.2f} | {max(xs):.2f} |")
' "$label"
}
echo "| request | n | p50 ms | p95 ms | p99 ms | max ms |"
echo "|---|---|---|---|---|---|"
measure "/b/$award" "GET /b/{id} (HTML, 1 GetItem + 3 UpdateItem: the demo badge has a cohort)"
measure "/b/$award.json" "GET /b/{id}.json (1 GetItem)"
measure "/b/$award/qr.svg" "GET /b/{id}/qr.svg (1 GetItem + QR render)"
measure "/v1/analytics?granularity=week" "GET /v1/analytics (issuer, 12 weeks, 2 templates)" -H "Authorization: Bearer $key"
measure "/console" "GET /console (dashboard: 1 issuer report, session check)" -b "$jar"
