#!/usr/bin/env bash
# The main job: the demo server. Installs the demo page's JavaScript client
# (npm engine.io-client) if needed, then runs `eio serve` (release build).
# Extra arguments go to `eio serve`, e.g. `bash scripts/demo.sh --port 8000`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f eio/demo/node_modules/engine.io-client/dist/engine.io.min.js ]; then
  npm ci --prefix eio/demo --no-audit --no-fund
fi
exec cargo run --release -p engineio-cli -- serve "$@"
