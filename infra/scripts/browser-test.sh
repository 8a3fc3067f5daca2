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
. infra/scripts/local-stack.sh
start_local_stack "$out"

# On a failure, what the server and the emulator said (the emulator's log keeps tracebacks).
show_logs() { show_stack_logs "$out" 60; }
if ! STACK_FILE="$out/stack/stack.json" OUT_DIR="$out" node tests/browser/console.test.mjs; then
  show_logs
  exit 1
fi
