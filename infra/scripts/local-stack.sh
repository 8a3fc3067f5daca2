# Sourced by the scripts that need a running local stack of their own (browser tests, API
# conformance): `start_local_stack DIR` builds the infra CLI, starts `infra dev` on a free port
# with its own emulator, its stack files in DIR/stack and its log in DIR/dev.log, waits until
# DIR/stack/stack.json exists, and stops it when the calling script exits. The infra binary it
# ran is `$local_stack_bin` (for the operator CLI against that stack). `show_stack_logs N`
# prints the last N lines of both logs (the emulator's without its successful requests).

start_local_stack() {
  local out=$1
  mkdir -p "$out/stack"
  cargo build -p infra --quiet
  local_stack_bin="${CARGO_TARGET_DIR:-target}/debug/infra"
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
  PORT="$port" ACCOLADE_STACK_DIR="$out/stack" RUST_LOG=warn "$local_stack_bin" dev --port "$port" > "$out/dev.log" 2>&1 &
  local_stack_pid=$!
  trap 'kill -TERM $local_stack_pid 2>/dev/null || true; wait $local_stack_pid 2>/dev/null || true' EXIT
  for _ in $(seq 1 240); do
    [ -s "$out/stack/stack.json" ] && return 0
    if ! kill -0 "$local_stack_pid" 2>/dev/null; then
      echo "the local stack did not start:"; cat "$out/dev.log"; exit 1
    fi
    sleep 0.25
  done
  echo "the local stack did not start in 60 s"; cat "$out/dev.log"; exit 1
}

show_stack_logs() {
  local out=$1 lines=$2
  echo "---- last lines of $out/dev.log (the local stack)"; tail -n "$lines" "$out/dev.log" || true
  echo "---- last lines of $out/stack/moto.log (the emulator)"
  grep -v '" 200 -' "$out/stack/moto.log" | tail -n "$lines" || true
}
