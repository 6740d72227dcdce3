#!/usr/bin/env bash
# The cost of the balancer hop: WebSocket echo and polling echo against one
# `eio serve` node directly, and through HAProxy (deploy/haproxy.cfg, via
# scripts/cluster.sh) in front of 2 nodes. Writes bench/results/cluster-hop-<date>.md.
#
#   bash bench/cluster-hop.sh [--runs 3] [--duration 10] [--connections 100]
#
# Servers (the nodes and HAProxy) are pinned to CPU 0 and `eio bench` to
# CPU 1, as in bench/run, so the figure shows what the hop costs on the
# same two cores: HAProxy shares CPU 0 with the nodes.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=3 duration=10 connections=100
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    *) echo "cluster-hop.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
target="${CARGO_TARGET_DIR:-$root/target}"
(cd "$root" && cargo build --release -q -p engineio-cli)
eio="$target/release/eio"
dir=$(mktemp -d)
trap 'bash "$root/scripts/cluster.sh" down --dir "$dir/cluster" >/dev/null 2>&1 || true; [ -n "${direct:-}" ] && kill "$direct" 2>/dev/null; rm -rf "$dir"' EXIT

pin0() { taskset -a -pc 0 "$1" >/dev/null 2>&1 || true; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

bench() { # url transport → one JSON line
  taskset -c 1 "$eio" bench "$1" --transport "$2" --connections "$connections" \
    --duration "$duration" --json 2>/dev/null | tail -1
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

results=()
measure() { # label url transport pids... → appends "label|transport|msg/s|p50|p99|server CPU-µs/msg"
  local label=$1 url=$2 transport=$3; shift 3
  local rates=() p50s=() p99s=() cpus=()
  for _ in $(seq "$runs"); do
    local before=0 after=0 p
    for p in "$@"; do before=$((before + $(cpu_ticks "$p"))); done
    local j; j=$(bench "$url" "$transport")
    for p in "$@"; do after=$((after + $(cpu_ticks "$p"))); done
    local rate; rate=$(python3 -c 'import json,sys; print(round(json.loads(sys.argv[1])["messages_per_sec"]))' "$j")
    rates+=("$rate")
    p50s+=("$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["p50_ms"])' "$j")")
    p99s+=("$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["p99_ms"])' "$j")")
    # Server-side CPU (all pids) per echoed message, in µs (clock ticks of 10 ms).
    cpus+=("$(python3 -c 'import sys; t,r,d=map(float,sys.argv[1:]); print(round(t*1e4/(r*d),1))' \
      "$((after - before))" "$rate" "$duration")")
  done
  results+=("$label|$transport|$(printf '%s\n' "${rates[@]}" | median)|$(printf '%s\n' "${p50s[@]}" | median)|$(printf '%s\n' "${p99s[@]}" | median)|$(printf '%s\n' "${cpus[@]}" | median)")
  echo "${results[-1]}" >&2
}

# One node, direct.
"$eio" serve --host 127.0.0.1 --port 0 --no-demo >"$dir/direct.log" 2>&1 &
direct=$!
pin0 "$direct"
for _ in $(seq 100); do grep -q listening "$dir/direct.log" && break; sleep 0.05; done
url=$(sed -n 's|.*listening on \(http://[0-9.:]*\)/.*|\1|p' "$dir/direct.log")
measure "1 node, direct" "$url" websocket "$direct"
measure "1 node, direct" "$url" polling "$direct"
kill "$direct"; wait "$direct" 2>/dev/null || true; direct=""

# Two nodes behind HAProxy.
line=$(bash "$root/scripts/cluster.sh" up --nodes 2 --balancer haproxy --eio "$eio" --dir "$dir/cluster")
url=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["url"])' "$line")
mapfile -t pids < <(python3 -c 'import json,sys; v=json.loads(sys.argv[1]); print(v["balancer_pid"]); [print(n["pid"]) for n in v["nodes"]]' "$line")
for p in "${pids[@]}"; do pin0 "$p"; done
measure "2 nodes behind HAProxy" "$url" websocket "${pids[@]}"
measure "2 nodes behind HAProxy" "$url" polling "${pids[@]}"

out="$root/bench/results/cluster-hop-$(date -u +%F).md"
{
  echo "# The balancer hop ($(date -u +%F))"
  echo
  echo "\`bash bench/cluster-hop.sh --runs $runs --duration $duration --connections $connections\`:"
  echo "\`eio bench\` echo of 16-byte text messages with $connections connections, against one"
  echo "\`eio serve\` directly and through HAProxy $(haproxy -v 2>/dev/null | head -1 | awk '{print $3}') (deploy/haproxy.cfg, cookie stickiness) in"
  echo "front of 2 nodes. Servers (nodes and HAProxy) pinned to CPU 0, the load generator to"
  echo "CPU 1; medians of $runs runs of $duration s. Server CPU counts every server process"
  echo "(HAProxy included), in µs per echoed message. $(nproc) CPUs, $(uname -m); other work"
  echo "shared the machine."
  echo
  echo "| setup | transport | messages/s | p50 ms | p99 ms | server CPU-µs/msg |"
  echo "|---|---|---|---|---|---|"
  for r in "${results[@]}"; do echo "| ${r//|/ | } |"; done
} > "$out"
cat "$out"
