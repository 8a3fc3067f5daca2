#!/usr/bin/env bash
# `make test`: every check and test, as CI runs it. Installs what it needs (virtualenvs), starts
# its own moto emulator on a free port, stops it at the end, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

step() { printf '\n==> %s\n' "$*"; }

step "tools (project-local virtualenvs)"
infra/scripts/venv.sh

step "the Open Badges 3.0 verifier harness (tests/verifier: npm ci, then it runs offline)"
(cd tests/verifier && npm ci --no-audit --no-fund --loglevel=error && node selftest.mjs | tail -n 1)

step "format"
cargo fmt --all -- --check

step "clippy (warnings are errors)"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "build tests and the function binaries (the smoke test starts them)"
cargo test --workspace --no-run --quiet
cargo build --workspace --bins --quiet

step "the emulator: transactions (the launcher's undo log against moto's own rollback), the capacity meter, S3's IAM actions"
.venv/bin/python infra/scripts/test_moto_transactions.py
.venv/bin/python infra/scripts/test_capacity.py
.venv/bin/python infra/scripts/test_moto_s3_iam.py

step "start the emulator (IAM enforced; its log, tracebacks included, in test-output/moto.log)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
mkdir -p test-output
.venv/bin/python infra/scripts/moto_server.py -H 127.0.0.1 -p "$port" --iam > test-output/moto.log 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null || true; wait $moto_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  if (echo > /dev/tcp/127.0.0.1/"$port") 2>/dev/null; then break; fi
  sleep 0.1
done
echo "moto on 127.0.0.1:$port"

step "unit and integration tests (real AWS SDK against the emulator)"
if ! ACCOLADE_TEST_ENDPOINT="http://127.0.0.1:$port" \
  OPENBADGES_PYTHON="$root/.venv-openbadges/bin/python" \
  TOOLS_PYTHON="$root/.venv/bin/python" \
  cargo test --workspace; then
  echo "---- the emulator's log, without its successful requests (test-output/moto.log)"
  grep -v '" 200 -' test-output/moto.log | tail -n 80 || true
  exit 1
fi

step "browser tests (console and badge page in Chromium; axe-core)"
infra/scripts/browser-test.sh

step "API conformance (schemathesis: every answer of a local server against the OpenAPI document)"
infra/scripts/api-conformance.sh

step "cfn-lint template.yaml"
.venv/bin/cfn-lint template.yaml
echo "cfn-lint: no errors"
