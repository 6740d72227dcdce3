#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what the tests need
# (the reference peers from npm and PyPI), then lints, tests and docs.
# `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n==> %s\n' "$*"; }

step "installing the reference peers (npm engine.io / engine.io-client, PyPI python-engineio)"
bash interop/setup.sh

step "installing the demo page's client (npm engine.io-client) and the browser test driver (npm playwright-core)"
npm_ci() { # npm ci in $1 unless its lock file is unchanged since the last install
  local dir=$1 stamp=$1/node_modules/.ci-stamp
  local want; want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    npm ci --prefix "$dir" --no-audit --no-fund
    echo "$want" > "$stamp"
  fi
}
npm_ci eio/demo
npm_ci eio/tests/browser

if ! command -v chromium >/dev/null; then
  step "installing Debian's chromium (headless browser test of the demo page)"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  else
    echo "chromium is missing and this is not root: install Debian's chromium package" >&2
    exit 1
  fi
fi

if ! { command -v haproxy || [ -x /usr/sbin/haproxy ]; } >/dev/null || ! { command -v nginx || [ -x /usr/sbin/nginx ]; } >/dev/null; then
  step "installing Debian's haproxy and nginx (the load-balancer tests, eio/tests/cluster.rs)"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy nginx
  else
    echo "haproxy or nginx is missing and this is not root: install Debian's haproxy and nginx packages" >&2
    exit 1
  fi
fi

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (all targets, all features, -D warnings)"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "cargo test (workspace)"
cargo test --workspace --all-features

step "criterion micro-benches, test mode (each benchmark runs once)"
cargo bench -p engineio-proto --bench codec -- --test

step "fuzz smoke: every cargo-fuzz target for ${FUZZ_SECONDS:-30} s"
bash fuzz/smoke.sh "${FUZZ_SECONDS:-30}"

step "benchmark harness smoke (bench/run --quick): every peer, every workload, short runs"
bench/run --quick --out target/bench-quick

step "soak smoke: 500 WebSocket clients echoing through eio serve for 60 s (no message lost, no error)"
bash scripts/soak.sh --clients 500 --minutes 1

step "cargo doc (RUSTDOCFLAGS=-Dwarnings)"
RUSTDOCFLAGS=-Dwarnings cargo doc --workspace --no-deps --all-features

step "all checks passed"
