#!/usr/bin/env bash
# Runs every fuzz target for a short while (default 30 s each); CI calls it.
#   bash fuzz/smoke.sh [seconds]
# Long runs: cd fuzz && cargo fuzz run -s none <target> -- -runs=10000000
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-30}
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
for t in $(cargo fuzz list); do
  echo "== fuzz $t (${secs}s)"
  # -s none: no sanitizer, so it builds on the stable toolchain; Rust's own
  # checks (bounds, overflow in debug assertions) still abort on a bug.
  log=$(mktemp)
  status=0
  cargo fuzz run -s none "$t" -- -max_total_time="$secs" >"$log" 2>&1 || status=$?
  grep -E "Done [0-9]+ runs|panicked|SUMMARY|ERROR" "$log" || true
  # A crash leaves an artifact and a non-zero status; fail loudly.
  if ls "artifacts/$t"/crash-* "artifacts/$t"/oom-* "artifacts/$t"/timeout-* >/dev/null 2>&1; then
    echo "fuzz target $t found a failure: see fuzz/artifacts/$t" >&2
    exit 1
  fi
  # Any other failure (the target does not build, libFuzzer refused to
  # start) fails too, instead of passing unseen.
  if [ "$status" -ne 0 ]; then
    tail -n 30 "$log" >&2
    echo "fuzz target $t failed (exit $status)" >&2
    exit 1
  fi
  rm -f "$log"
done
