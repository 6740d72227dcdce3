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

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (all targets, all features, -D warnings)"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "cargo test (workspace)"
cargo test --workspace --all-features

step "cargo doc (RUSTDOCFLAGS=-Dwarnings)"
RUSTDOCFLAGS=-Dwarnings cargo doc --workspace --no-deps --all-features

step "all checks passed"
