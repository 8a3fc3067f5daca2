#!/usr/bin/env bash
# `make package`: every function as a Lambda `bootstrap` zip, built by cargo-lambda, in dist/lambda/.
#   ARCH=x86_64 (default here: builds offline) or ARCH=arm64 (what template.yaml deploys; needs the
#   aarch64 standard library: `rustup target add aarch64-unknown-linux-gnu`).
set -euo pipefail
cd "$(dirname "$0")/../.."
arch=${ARCH:-x86_64}
infra/scripts/venv.sh --emulator-only
if [ ! -x .venv/bin/cargo-lambda ]; then
  echo "==> installing cargo-lambda into .venv (one time)" >&2
  .venv/bin/pip install --quiet --disable-pip-version-check cargo-lambda
fi
export PATH="$PWD/.venv/bin:$PATH"
case "$arch" in
  x86_64) flag=--x86-64 ;;
  arm64|aarch64) flag=--arm64 ;;
  *) echo "ARCH must be x86_64 or arm64" >&2; exit 2 ;;
esac
bins=(api verify ingest notify analytics webhooks)
args=()
for b in "${bins[@]}"; do args+=(--bin "$b"); done
cargo lambda build --release "$flag" --output-format zip --lambda-dir dist/lambda "${args[@]}"
for b in "${bins[@]}"; do
  ls -l "dist/lambda/$b/bootstrap.zip"
done
