#!/usr/bin/env bash
# N `eio serve` processes behind a real load balancer, on one machine.
#
#   bash scripts/cluster.sh up --nodes 3 --balancer haproxy|nginx [--port P]
#   bash scripts/cluster.sh down
#
# `up` installs the balancer if it is missing (Debian's haproxy or nginx, with
# apt as root), starts N `eio serve --sid-prefix nK-` processes on free ports,
# starts the balancer on 127.0.0.1 (port P, or a free one) with the
# configuration from deploy/ rewritten for those ports, and prints one line:
#   {"url":"http://127.0.0.1:P","balancer":"haproxy","balancer_pid":…,"nodes":[{"pid":…,"port":…,"sid_prefix":"n1-"},…]}
# `down` stops everything `up` started (it reads the pids from --dir).
#
# Other options:
#   --port P               the balancer's port (default or 0: a free one)
#   --dir DIR              state: pids, generated configs, logs (default target/cluster)
#   --eio PATH             the eio binary (default: built with cargo build --release -p engineio-cli)
#   --ping-interval MS     passed to every node (default 25000); the balancer's
#   --ping-timeout MS      timeouts are (interval + timeout) x 4/3 (default 20000)
#   --balancer-timeout MS  override those timeouts (to show what a short one does)
#   --no-sticky            plain round-robin, no stickiness: the negative control,
#                          which loses polling sessions (`Session ID unknown`)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

cmd=${1:-}
[ $# -gt 0 ] && shift
nodes=3 balancer=haproxy port="" dir="$root/target/cluster" eio="${EIO:-}"
ping_interval=25000 ping_timeout=20000 balancer_timeout="" sticky=1
while [ $# -gt 0 ]; do
  case $1 in
    --nodes) nodes=$2; shift 2 ;;
    --balancer) balancer=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --eio) eio=$2; shift 2 ;;
    --ping-interval) ping_interval=$2; shift 2 ;;
    --ping-timeout) ping_timeout=$2; shift 2 ;;
    --balancer-timeout) balancer_timeout=$2; shift 2 ;;
    --no-sticky) sticky=0; shift ;;
    *) echo "cluster.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

down() {
  [ -d "$dir" ] || return 0
  local pids=() p
  for f in "$dir"/*.pid; do
    [ -e "$f" ] || continue
    p=$(cat "$f")
    # nginx -g 'daemon off;' runs as our child, its workers under it: TERM
    # to the master stops them all.
    kill -TERM "$p" 2>/dev/null && pids+=("$p")
    rm -f "$f"
  done
  for _ in $(seq 50); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && return 0
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() { # until 127.0.0.1:$1 accepts connections (5 s)
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

install_balancer() {
  local bin=$1 pkg=$2
  command -v "$bin" >/dev/null || [ -x "/usr/sbin/$bin" ] && return 0
  if [ "$(id -u)" = 0 ]; then
    echo "cluster.sh: installing Debian's $pkg" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >&2
    # The package enables a system service; we run our own copy instead.
    (systemctl disable --now "$pkg" || service "$pkg" stop) >/dev/null 2>&1 || true
  else
    echo "cluster.sh: $bin is missing and this is not root: install Debian's $pkg package" >&2
    exit 1
  fi
}

# Rewrites a deploy/ configuration: `@listen` lines get the balancer's port,
# the `@node` lines naming n1 are repeated for every node (n1/5001 → nK and
# its port) and the others dropped, `@timeout` lines get the timeout, and
# without stickiness the `@sticky` line becomes plain round-robin.
render() {
  awk -v listen="$port" -v ports="${node_ports[*]}" -v timeout="${timeout_ms}ms" \
      -v sticky="$sticky" -v kind="$balancer" '
    BEGIN { n = split(ports, p, " ") }
    /@listen/ { sub(/127\.0\.0\.1:8080/, "127.0.0.1:" listen) }
    /@timeout/ { sub(/60s/, timeout) }
    /@sticky/ && sticky == 0 {
      if (kind == "haproxy") next
      sub(/\$engineio_upstream/, "engineio_any")
    }
    /@node/ {
      if ($0 !~ /n1/ && $0 !~ /5001/) next
      for (k = 1; k <= n; k++) {
        line = $0
        gsub(/n1/, "n" k, line); gsub(/5001/, p[k], line)
        print line
      }
      next
    }
    { print }' "$1"
}

up() {
  case $balancer in
    haproxy) install_balancer haproxy haproxy ;;
    nginx) install_balancer nginx nginx ;;
    *) echo "cluster.sh: --balancer haproxy|nginx" >&2; exit 2 ;;
  esac
  if [ -z "$eio" ]; then
    (cd "$root" && cargo build --release -q -p engineio-cli >&2)
    eio="${CARGO_TARGET_DIR:-$root/target}/release/eio"
  fi
  down
  mkdir -p "$dir"
  # Whatever fails from here on, stop what was started.
  trap down EXIT
  # No port, or 0: a free one (the balancers cannot report the port they got).
  [ -n "$port" ] && [ "$port" != 0 ] || port=$(free_port)
  if [ -n "$balancer_timeout" ]; then
    timeout_ms=$balancer_timeout
  else
    timeout_ms=$(( (ping_interval + ping_timeout) * 4 / 3 ))
  fi

  node_ports=() node_json=()
  for k in $(seq "$nodes"); do
    local log="$dir/n$k.log"
    : > "$log"
    "$eio" serve --host 127.0.0.1 --port 0 --no-demo --sid-prefix "n$k-" \
      --ping-interval "$ping_interval" --ping-timeout "$ping_timeout" >"$log" 2>&1 &
    local pid=$!
    echo "$pid" > "$dir/n$k.pid"
    local p=""
    for _ in $(seq 100); do
      p=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$log")
      [ -n "$p" ] && break
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    if [ -z "$p" ]; then
      echo "cluster.sh: node n$k did not start:" >&2; cat "$log" >&2; down; exit 1
    fi
    node_ports+=("$p")
    node_json+=("{\"pid\":$pid,\"port\":$p,\"sid_prefix\":\"n$k-\"}")
  done

  local bpid
  case $balancer in
    haproxy)
      render "$root/deploy/haproxy.cfg" > "$dir/haproxy.cfg"
      "$(command -v haproxy || echo /usr/sbin/haproxy)" -f "$dir/haproxy.cfg" -db \
        >"$dir/haproxy.log" 2>&1 &
      bpid=$!
      ;;
    nginx)
      mkdir -p "$dir/nginx/tmp"
      render "$root/deploy/nginx.conf" > "$dir/nginx/nginx.conf"
      # As root, nginx's workers run as nobody: let them use the temp dirs.
      chmod 755 "$dir" "$dir/nginx"; chmod 1777 "$dir/nginx/tmp"
      "$(command -v nginx || echo /usr/sbin/nginx)" -p "$dir/nginx" -c nginx.conf \
        -g 'daemon off;' -e error.log >"$dir/nginx.log" 2>&1 &
      bpid=$!
      ;;
  esac
  echo "$bpid" > "$dir/balancer.pid"
  if ! wait_port "$port"; then
    echo "cluster.sh: $balancer did not start:" >&2
    cat "$dir"/haproxy.log "$dir"/nginx/error.log 2>/dev/null >&2 || true
    down; exit 1
  fi
  trap - EXIT
  local IFS=,
  echo "{\"url\":\"http://127.0.0.1:$port\",\"balancer\":\"$balancer\",\"balancer_pid\":$bpid,\"nodes\":[${node_json[*]}]}"
}

case $cmd in
  up) up ;;
  down) down ;;
  *) echo "usage: cluster.sh up --nodes N --balancer haproxy|nginx [--port P] | down" >&2; exit 2 ;;
esac
