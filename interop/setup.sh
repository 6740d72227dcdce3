#!/usr/bin/env bash
# Installs the reference Engine.IO and Socket.IO peers that the Rust tests run against:
#   interop/node_modules  engine.io, engine.io-client, socket.io, socket.io-client,
#                         socket.io-msgpack-parser, from package-lock.json (npm ci)
#   interop/.venv         python-engineio, python-socketio (+ msgpack) and friends,
#                         from python/requirements.txt
# Idempotent: each part is skipped while a stamp records the lock file it was
# installed from, so a second run takes well under a second.
# Needs node/npm and python3 (with the venv module: Debian's python3-venv).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

hash_of() { sha256sum "$@" | sha256sum | cut -d' ' -f1; }

# --- Node: engine.io / engine.io-client / socket.io -----------------------
node_stamp="node_modules/.interop-stamp"
node_want="$(hash_of package-lock.json)-$(node --version)"
if [[ -f "$node_stamp" && "$(cat "$node_stamp")" == "$node_want" ]]; then
  echo "interop: node peers up to date"
else
  echo "interop: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$node_want" >"$node_stamp"
fi

# --- Python: python-engineio / python-socketio ----------------------------
venv=".venv"
py_stamp="$venv/.interop-stamp"
py_want="$(hash_of python/requirements.txt)-$(python3 -c 'import sys; print(sys.version.split()[0])')"
if [[ -f "$py_stamp" && "$(cat "$py_stamp")" == "$py_want" && -x "$venv/bin/python" ]]; then
  echo "interop: python peers up to date"
else
  echo "interop: creating $venv"
  rm -rf "$venv"
  if ! python3 -m venv "$venv"; then
    # Debian ships the venv module separately (python3-venv / python3.X-venv).
    rm -rf "$venv"
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
      ver="$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python${ver}-venv" \
        || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
      python3 -m venv "$venv"
    else
      echo "interop: 'python3 -m venv' failed; install python3-venv and rerun" >&2
      exit 1
    fi
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r python/requirements.txt
  echo "$py_want" >"$py_stamp"
fi

# A quick check that every peer library imports.
node -e 'for (const m of ["engine.io", "engine.io-client", "socket.io",
  "socket.io-client", "socket.io-msgpack-parser"]) require(m)'
"$venv/bin/python" -c 'import engineio, socketio, msgpack, uvicorn, aiohttp, requests, websocket'
echo "interop: ready"
