#!/usr/bin/env bash
# Creates (or refreshes) the project-local virtualenvs:
#   .venv             moto (the local AWS emulator), cfn-lint, the QR decoder used by tests,
#                     schemathesis (api-conformance.sh)
#   .venv-openbadges  the 1EdTech Open Badges 2.0 validator (its pins clash with the above)
# Idempotent: a venv is rebuilt only when its requirement files changed.
set -euo pipefail
cd "$(dirname "$0")/../.."

make_venv() { # dir, requirement files...
  local dir=$1; shift
  # The constraints files (pulled in by the requirement files with -c) count as ones of them.
  local want; want=$(cat "$@" infra/scripts/constraints*.txt | sha256sum | cut -d' ' -f1)
  if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.requirements.sha256" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  echo "==> installing $(basename "$dir") (one time)" >&2
  rm -rf "$dir"
  python3 -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check --upgrade pip >&2
  for req in "$@"; do
    "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2
  done
  echo "$want" > "$dir/.requirements.sha256"
}

make_venv .venv infra/scripts/requirements.txt
if [ "${1:-}" != "--emulator-only" ]; then
  make_venv .venv-openbadges infra/scripts/requirements-openbadges.txt infra/scripts/requirements-openbadges-pins.txt
fi
