#!/usr/bin/env bash
# API conformance (part of `make test`): schemathesis reads the OpenAPI document as an
# integrator's client generator would and checks every answer of a local server against it —
# status codes, content types, headers and response bodies (a variant of the document whose
# response objects forbid unlisted fields, so an undocumented field fails too), and no 5xx —
# through its examples, coverage, fuzzing and stateful phases (the stateful phase follows the
# document's links: ids from one answer into the next request). Settings, bounded and
# deterministic, are in api-conformance.toml. Starts its own local stack (`infra dev` on a free
# port, its own emulator) with a key of its own, and stops it at the end. Output in
# test-output/api-conformance/.
set -euo pipefail
cd "$(dirname "$0")/../.."
started=$(date +%s)

out=test-output/api-conformance
rm -rf "$out"
mkdir -p "$out/stack"
infra/scripts/venv.sh --emulator-only
cargo build -p infra --quiet
bin="${CARGO_TARGET_DIR:-target}/debug/infra"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
PORT="$port" ACCOLADE_STACK_DIR="$out/stack" RUST_LOG=warn "$bin" dev --port "$port" > "$out/dev.log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 240); do
  [ -s "$out/stack/stack.json" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then echo "the local stack did not start:"; cat "$out/dev.log"; exit 1; fi
  sleep 0.25
done
[ -s "$out/stack/stack.json" ] || { echo "the local stack did not start in 60 s"; cat "$out/dev.log"; exit 1; }
stack_value() { .venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$out/stack/stack.json" "$1"; }
base=$(stack_value base_url)

show_logs() {
  echo "---- last lines of $out/dev.log (the local stack)"; tail -n 40 "$out/dev.log" || true
  echo "---- last lines of $out/stack/moto.log (the emulator)"; grep -v '" 200 -' "$out/stack/moto.log" | tail -n 40 || true
}

# The server must serve what the generator writes: a document edited by hand, or a generator
# change without `make openapi`, fails here.
python3 infra/scripts/openapi.py "$out/openapi.json" > /dev/null
python3 infra/scripts/openapi.py --closed-responses "$out/openapi-closed.json" > /dev/null
curl -sf "$base/v1/openapi.json" -o "$out/served-openapi.json"
if ! cmp -s "$out/served-openapi.json" "$out/openapi.json"; then
  echo "the served /v1/openapi.json is not what infra/scripts/openapi.py writes: run \`make openapi\` and commit both"
  exit 1
fi

# A key of its own: the run revokes the keys it creates, and nothing else may depend on this one.
key=$(ACCOLADE_STACK_DIR="$out/stack" "$bin" --local api-key create --issuer "$(stack_value issuer_id)" --name api-conformance \
  | sed -n 's/^api_key: \(acc_[^ ]*\).*/\1/p')
[ -n "$key" ] || { echo "could not create the run's API key"; exit 1; }
key_works() { [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key" "$base/v1/issuer")" = 200 ]; }
key_works || { echo "the run's API key does not work"; show_logs; exit 1; }

status=0
HYPOTHESIS_STORAGE_DIRECTORY="$out/hypothesis" .venv/bin/st --config-file infra/scripts/api-conformance.toml \
  run "$out/openapi-closed.json" --url "$base" -H "Authorization: Bearer $key" --no-color \
  --report junit,har --report-dir "$out" > "$out/schemathesis.log" 2>&1 || status=$?

# A key revoked under the run would turn every later answer into a documented 401: a hollow pass.
if ! key_works; then
  echo "the run's API key stopped working during the run (revoked?): its results cannot be trusted"
  status=1
fi
seconds=$(( $(date +%s) - started ))
if [ "$status" != 0 ]; then
  cat "$out/schemathesis.log"
  show_logs
  echo "api conformance: FAILED after ${seconds}s (full output and reports in $out/)"
  exit 1
fi
sed -n '/ Examples (/,$p' "$out/schemathesis.log"
echo "api conformance: every answer as the OpenAPI document says, in ${seconds}s (output and reports in $out/)"
