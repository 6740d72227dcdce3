#!/usr/bin/env bash
# Soak test: N WebSocket clients echoing through `eio serve` for M minutes.
# Reports messages sent / received / lost, the server's RSS over time and
# errors.
#
#   bash scripts/soak.sh [--clients N] [--minutes M] [--size BYTES] [--sample SECONDS]
#
# Defaults: 10,000 clients for 30 minutes (the full run; CI runs
# `--clients 500 --minutes 1`). Traffic stays on 127.0.0.1. Clients are
# split over several `eio bench` processes of at most 5,000 connections
# each. Needs `ulimit -n` above the client count (the script raises the soft
# limit if it can).
set -euo pipefail
cd "$(dirname "$0")/.."

clients=10000
minutes=30
size=64
sample=10
while [ $# -gt 0 ]; do
  case "$1" in
    --clients) clients=$2; shift 2 ;;
    --minutes) minutes=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --sample) sample=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
duration=$(awk "BEGIN { print $minutes * 60 }")

export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
cargo build --release -q -p engineio-cli
# Where cargo put it: CARGO_TARGET_DIR, relative to the repository as cargo
# reads it, or target/.
eio=${CARGO_TARGET_DIR:-target}/release/eio

# Both ends of every connection live on this machine.
want=$((clients * 2 + 1024))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$want" ]; then
  ulimit -n "$want" 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
fi

out=$(mktemp -d)
server_pid=""
bench_pids=()
cleanup() {
  for p in "${bench_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  wait 2>/dev/null || true
}
trap cleanup EXIT

# Pings every 25 s as by default: the soak also exercises heartbeats.
"$eio" serve --no-demo --host 127.0.0.1 --port 0 >"$out/server.log" 2>&1 &
server_pid=$!
url=""
for _ in $(seq 1 100); do
  url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$out/server.log" | head -1 || true)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "eio serve did not start:" >&2; cat "$out/server.log" >&2; exit 1; }

rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$server_pid/status" 2>/dev/null || echo 0; }
base_rss=$(rss_kib)
echo "soak: $clients clients for $minutes min against $url (server pid $server_pid, RSS ${base_rss} KiB idle)"

per=5000
procs=$(( (clients + per - 1) / per ))
left=$clients
for i in $(seq 1 "$procs"); do
  n=$(( left < per ? left : per ))
  left=$((left - n))
  "$eio" bench "$url" --connections "$n" --duration "$duration" --size "$size" \
    --transport websocket --mode echo --threads 1 --json >"$out/bench$i.json" 2>"$out/bench$i.err" &
  bench_pids+=("$!")
done

# RSS every $sample seconds while the clients run (opening + measuring +
# drain; bounded by the duration plus two minutes).
echo "  time_s  rss_kib  server_fds"
start=$(date +%s)
limit=$(awk "BEGIN { print int($duration) + 120 }")
peak=$base_rss
while :; do
  running=0
  for p in "${bench_pids[@]}"; do kill -0 "$p" 2>/dev/null && running=1; done
  [ "$running" = 1 ] || break
  now=$(( $(date +%s) - start ))
  [ "$now" -le "$limit" ] || { echo "soak: clients overran the time limit" >&2; break; }
  rss=$(rss_kib)
  [ "$rss" -gt "$peak" ] && peak=$rss
  conns=$(ls "/proc/$server_pid/fd" 2>/dev/null | wc -l)
  printf '  %6d  %7d  %d\n' "$now" "$rss" "$conns"
  sleep "$sample"
done
for p in "${bench_pids[@]}"; do wait "$p" || true; done
bench_pids=()
sleep 2
end_rss=$(rss_kib)
if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "soak: the server died" >&2
  cat "$out/server.log" >&2
  exit 1
fi

python3 - "$out" "$clients" "$base_rss" "$peak" "$end_rss" <<'EOF'
import glob, json, sys
out, clients, base, peak, end = sys.argv[1], int(sys.argv[2]), *map(int, sys.argv[3:6])
runs = []
for f in sorted(glob.glob(out + "/bench*.json")):
    text = open(f).read().strip()
    if not text:
        err = open(f.replace(".json", ".err")).read()
        print(f"bench {f}: no result; stderr:\n{err}")
        continue
    runs.append(json.loads(text.splitlines()[-1]))
tot = lambda k: sum(r.get(k, 0) for r in runs)
print(f"clients connected  {tot('connections')} of {clients}")
print(f"messages sent      {tot('messages_sent')}")
print(f"messages received  {tot('messages_received')}")
print(f"messages lost      {tot('messages_lost')}  (in flight at stop {tot('in_flight_at_stop')})")
print(f"echo rate          {tot('messages_per_sec'):.0f} msg/s (measured window)")
if runs:
    print(f"latency p99        {max(r['p99_ms'] for r in runs):.3f} ms (worst bench process)")
print(f"errors             {tot('errors')}")
print(f"server RSS         idle {base} KiB, peak {peak} KiB, after the clients left {end} KiB")
ok = runs and tot('messages_lost') == 0 and tot('errors') == 0 and tot('connections') == clients
sys.exit(0 if ok else 1)
EOF
