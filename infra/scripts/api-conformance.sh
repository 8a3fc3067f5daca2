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
infra/scripts/venv.sh --emulator-only
. infra/scripts/local-stack.sh
start_local_stack "$out"
stack_value() { .venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$out/stack/stack.json" "$1"; }
base=$(stack_value base_url)

show_logs() { show_stack_logs "$out" 40; }

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
key=$(ACCOLADE_STACK_DIR="$out/stack" "$local_stack_bin" --local api-key create --issuer "$(stack_value issuer_id)" --name api-conformance \
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
