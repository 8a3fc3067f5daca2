#!/usr/bin/env bash
# Browser tests (part of `make test`): the admin console and the public badge page in Debian's
# Chromium, driven by playwright-core, checked with axe-core. Installs Chromium (and Korean fonts
# for readable screenshots) if missing, and the npm packages from tests/browser/package-lock.json;
# starts its own local stack (`infra dev` on a free port) and stops it at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."

# Each system package on its own check (a machine may have Chromium but no Korean fonts, and
# then every Korean word in the screenshots is an empty box).
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing+=(fonts-noto-cjk)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian's ${missing[*]}"
  sudo_=""
  if [ "$(id -u)" != 0 ]; then sudo_="sudo"; fi
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq "${missing[@]}" >/dev/null
fi
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)

out=test-output/browser
rm -rf "$out"
mkdir -p "$out/stack"
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

# On a failure, what the server and the emulator said (the emulator's log keeps tracebacks).
show_logs() {
  echo "---- last lines of $out/dev.log (the local stack)"; tail -n 60 "$out/dev.log" || true
  echo "---- last lines of $out/stack/moto.log (the emulator)"; grep -v '" 200 -' "$out/stack/moto.log" | tail -n 60 || true
}
if ! STACK_FILE="$out/stack/stack.json" OUT_DIR="$out" node tests/browser/console.test.mjs; then
  show_logs
  exit 1
fi
