#!/usr/bin/env python3
"""Side-by-side benchmark of Engine.IO servers, driven by `eio bench`, of
Socket.IO clients against one Node socket.io server (workload 7) and of
Engine.IO clients against one `eio serve` (workload 8).

Each server runs pinned to one CPU and the load generator (or the client
under test) to the other (`taskset`); CPU time and RSS come from /proc.
Writes a dated Markdown report and an SVG chart under bench/results/. See
bench/README.md.
"""

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
INTEROP = ROOT / "interop"
# `bench/run` builds eio with cargo from ROOT, so CARGO_TARGET_DIR (relative
# to ROOT, as cargo reads it there) moves the binary.
TARGET = ROOT / (os.environ.get("CARGO_TARGET_DIR") or "target")
EIO = TARGET / "release" / "eio"
CLK_TCK = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1
SERVER_CPU, CLIENT_CPU = ("0", "1") if NCPU >= 2 else ("0", "0")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def run(cmd, **kw):
    log("+", " ".join(map(str, cmd)))
    return subprocess.run(cmd, check=True, **kw)


def pinned(cpu, cmd):
    if shutil.which("taskset"):
        return ["taskset", "-c", cpu, *map(str, cmd)]
    return list(map(str, cmd))


# ---------------------------------------------------------------- servers

class Measured:
    """CPU time and RSS from /proc of `self.proc` (a Popen; under taskset
    the command replaces taskset via exec) and its descendants."""

    proc = None

    def cpu_seconds(self):
        return sum(self.cpu_times())

    def cpu_times(self):
        """(user, system) CPU seconds."""
        user = system = 0
        for pid in self._pids():
            try:
                f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                user, system = user + int(f[11]), system + int(f[12])
            except (OSError, IndexError):
                pass
        return user / CLK_TCK, system / CLK_TCK

    def cpu_seconds_fine(self):
        """Like cpu_seconds, in nanoseconds instead of clock ticks (from each
        thread's schedstat; threads that have exited are not counted)."""
        total = 0
        for pid in self._pids():
            try:
                for task in Path(f"/proc/{pid}/task").iterdir():
                    try:
                        total += int((task / "schedstat").read_text().split()[0])
                    except (OSError, ValueError, IndexError):
                        pass
            except OSError:
                pass
        return total / 1e9

    def rss_kb(self):
        total = 0
        for pid in self._pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                pass
        return total

    def _pids(self):
        """The process and its descendants (uvicorn, node workers)."""
        pids = [self.proc.pid]
        i = 0
        while i < len(pids):
            try:
                children = Path(f"/proc/{pids[i]}/task/{pids[i]}/children").read_text().split()
                pids.extend(int(c) for c in children)
            except OSError:
                pass
            i += 1
        return pids


class Server(Measured):
    """A server process that prints its port on stdout, pinned to SERVER_CPU."""

    def __init__(self, name, cmd, cwd=None, env=None):
        self.name = name
        self.cmd = pinned(SERVER_CPU, cmd)
        self.cwd = cwd
        self.env = env
        self.proc = None
        self.port = None

    def __enter__(self):
        log("starting", self.name, ":", " ".join(map(str, self.cmd)))
        self.proc = subprocess.Popen(
            self.cmd, cwd=self.cwd, env=self.env, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            start_new_session=True)
        deadline = time.time() + 120
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited before listening")
                continue
            m = re.search(r"LISTENING (\d+)|https?://[^:\s]+:(\d+)", line)
            if m:
                self.port = int(m.group(1) or m.group(2))
                break
        if self.port is None:
            raise RuntimeError(f"{self.name} did not report a port")
        time.sleep(0.3)
        return self

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=5)
            except Exception:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def target_pid(self):
        """The server's own pid (under taskset the child replaces it via exec)."""
        return self.proc.pid


def peer_commands(args):
    """name -> (description, command, cwd, env, transports) of every peer."""
    py = INTEROP / ".venv" / "bin" / "python"
    peers = {
        "ours": ("engineio-rs `eio serve` (release)",
                 [EIO, "serve", "--host", "127.0.0.1", "--port", "0", "--no-demo"], None, None),
        "ours+demo": ("engineio-rs `eio serve` with the demo page",
                      [EIO, "serve", "--host", "127.0.0.1", "--port", "0"], None, None),
        "node": ("Node engine.io (npm)", ["node", INTEROP / "node" / "server.js", "{}"], INTEROP, None),
        "python": ("python-engineio AsyncServer under uvicorn (1 worker)",
                   [py, INTEROP / "python" / "server.py", "{}"], INTEROP, None),
        "engineioxide": ("engineioxide in an axum echo app",
                         [BENCH / "peers" / "engineioxide-echo" / "target" / "release" / "engineioxide-echo"],
                         None, None),
        "tcp": ("plain TCP ping-pong, 8-byte messages (the floor)", [EIO, "tcp-echo"], None, None),
    }
    return {k: v for k, v in peers.items() if k in args.peers}


# ---------------------------------------------------------------- load

def bench(port, *, connections, duration, transport="websocket", size=16,
          binary=False, mode="echo", in_flight=1):
    cmd = pinned(CLIENT_CPU, [
        EIO, "bench", f"http://127.0.0.1:{port}", "--json",
        "--connections", connections, "--duration", duration,
        "--transport", transport, "--size", size, "--mode", mode,
        "--in-flight", in_flight, "--threads", 1])
    if binary:
        cmd.append("--binary")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 180)
    if out.returncode != 0:
        raise RuntimeError(f"eio bench failed: {out.stderr.strip()[-500:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measured(server, **kw):
    c0 = server.cpu_seconds()
    r = bench(server.port, **kw)
    c1 = server.cpu_seconds()
    n = r["messages_per_sec"] * r["duration_s"]
    r["server_cpu_us_per_msg"] = round((c1 - c0) * 1e6 / n, 2) if n else None
    r["server_cpu_pct"] = round((c1 - c0) / r["duration_s"] * 100, 1)
    return r


def workloads(q):
    """(key, title, metric, transports needed, kwargs) per workload; titles
    state the counts actually used (quick mode uses smaller ones)."""
    d = 1.0 if q else 10.0
    c100, c1000, c50 = (20, 100, 10) if q else (100, 1000, 50)
    return [
        ("ws100", f"1. WebSocket echo, {c100:,} connections, 16-byte text", "messages_per_sec",
         {"websocket"}, dict(connections=c100, duration=d)),
        ("ws1000", f"2a. WebSocket echo, {c1000:,} connections, 16-byte text", "messages_per_sec",
         {"websocket"}, dict(connections=c1000, duration=d)),
        ("ws100bin", f"2b. WebSocket echo, {c100:,} connections, 1 KiB binary", "messages_per_sec",
         {"websocket"}, dict(connections=c100, duration=d, size=1024, binary=True)),
        ("poll100", f"3. Polling echo, {c100:,} sessions", "messages_per_sec",
         {"polling"}, dict(connections=c100, duration=d, transport="polling")),
        ("handshake", f"4. Polling handshakes/s (keep-alive, {c50} connections)", "messages_per_sec",
         {"polling"}, dict(connections=c50, duration=d, mode="handshake")),
    ]


# Workload numbers (what `--workloads` selects) by key.
NUMBERS = {"ws100": "1", "ws1000": "2a", "ws100bin": "2b", "poll100": "3", "handshake": "4",
           "idle": "5", "broadcast": "6", "sio": "7", "eio_ws": "8a", "eio_poll": "8b",
           "eio_idle": "8c"}
SERVER_WORKLOADS = ("ws100", "ws1000", "ws100bin", "poll100", "handshake", "idle", "broadcast")


def selected(args, key):
    """Whether `--workloads` selects the workload `key` ("2" selects 2a and 2b,
    "8" selects 8a, 8b and 8c)."""
    if args.workloads is None:
        return True
    num = NUMBERS[key]
    return any(num == w or (w.isdigit() and num.rstrip("abc") == w) for w in args.workloads)


def run_peer(name, desc, cmd, cwd, env, args):
    res = {"name": name, "kind": "server", "description": desc, "workloads": {}}
    is_tcp = name == "tcp"
    for key, title, metric, needs, kw in workloads(args.quick):
        if (is_tcp and key not in ("ws100", "ws1000")) or not selected(args, key):
            continue
        runs = []
        for i in range(args.runs):
            # A fresh server per run: handshake runs leave sessions behind.
            with Server(name, cmd, cwd, env) as srv:
                k = dict(kw)
                if is_tcp:
                    k.update(transport="tcp", size=8)
                try:
                    r = measured(srv, **k)
                except Exception as e:  # a peer that fails a workload is reported, not fatal
                    log(f"  {name} {key} run {i + 1} failed: {e}")
                    r = {"error": str(e)}
                runs.append(r)
                log(f"  {name} {key} run {i + 1}: {r.get(metric)} {metric}")
        ok = [r for r in runs if metric in r]
        if ok:
            vals = [r[metric] for r in ok]
            med = sorted(ok, key=lambda r: r[metric])[len(ok) // 2]
            res["workloads"][key] = {
                "title": title, "median": statistics.median(vals), "min": min(vals),
                "max": max(vals), "p50_ms": med["p50_ms"], "p99_ms": med["p99_ms"],
                "server_cpu_us_per_msg": med.get("server_cpu_us_per_msg"),
                "client_cpu_pct": med.get("client_cpu_pct"),
                "errors": sum(r["errors"] for r in ok), "runs": len(ok)}
        else:
            res["workloads"][key] = {"title": title, "error": runs[0].get("error") if runs else "not run"}
    if not is_tcp and selected(args, "idle"):
        res["workloads"]["idle"] = idle_memory(name, cmd, cwd, env, args)
    if not is_tcp and selected(args, "broadcast"):
        res["workloads"]["broadcast"] = broadcast(name, cmd, cwd, env, args)
    return res


def idle_memory(name, cmd, cwd, env, args):
    n = 500 if args.quick else args.idle_connections
    hold = 2.0 if args.quick else args.idle_seconds
    title = f"5. Idle memory, {n:,} WebSocket sessions held {hold:.0f} s"
    try:
        with Server(name, cmd, cwd, env) as srv:
            time.sleep(0.5)
            base = srv.rss_kb()
            proc = subprocess.Popen(pinned(CLIENT_CPU, [
                EIO, "bench", f"http://127.0.0.1:{srv.port}", "--json", "--mode", "idle",
                "--connections", n, "--duration", hold, "--threads", 1]),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            out, err = proc.communicate(timeout=hold + 240)
            # RSS is read right after the hold, while the sessions are still open.
            r = json.loads(out.strip().splitlines()[-1]) if proc.returncode == 0 else None
            if r is None:
                return {"title": title, "error": err.strip()[-300:]}
            peak = srv.rss_kb()
            held = r["connections"]
            per = (peak - base) / held if held else None
            return {"title": title, "baseline_kb": base, "loaded_kb": peak, "sessions": held,
                    "kb_per_session": round(per, 2) if per is not None else None,
                    "errors": r["errors"]}
    except Exception as e:
        return {"title": title, "error": str(e)}


def broadcast(name, cmd, cwd, env, args):
    """Workload 6: one fresh server, N WebSocket sessions; each round one
    session sends `broadcast:64` and the server sends 64 bytes to every
    session. Samples are the rounds: time from the trigger until the last
    session has the message."""
    n = 200 if args.quick else args.broadcast_connections
    size = 64
    rounds = max(args.runs, 3 if args.quick else 5)
    round_timeout = 30 if args.quick else 60
    title = f"6. Broadcast, one {size}-byte message to each of {n:,} WebSocket sessions"
    try:
        with Server(name, cmd, cwd, env) as srv:
            proc = subprocess.Popen(pinned(CLIENT_CPU, [
                EIO, "bench", f"http://127.0.0.1:{srv.port}", "--json", "--mode", "broadcast",
                "--connections", n, "--size", size, "--rounds", rounds,
                "--round-timeout", round_timeout, "--threads", 1]),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            watchdog = threading.Timer(240 + rounds * (round_timeout + 1), proc.kill)
            watchdog.start()
            # The bench marks the start and end of its rounds on stderr: the
            # server's CPU time is read at both marks, so the connection
            # storm before them is not counted.
            cpu, tail = [], []
            for line in proc.stderr:
                if "broadcasting" in line or "rounds done" in line:
                    cpu.append(srv.cpu_seconds_fine())
                else:
                    tail.append(line)
            out = proc.stdout.read()
            proc.wait(timeout=60)
            watchdog.cancel()
            if proc.returncode != 0 or not out.strip():
                return {"title": title, "error": ("".join(tail) or out).strip()[-300:] or "eio bench failed"}
            r = json.loads(out.strip().splitlines()[-1])
    except Exception as e:
        return {"title": title, "error": str(e)}
    times = r["rounds"]
    if not times:
        return {"title": title, "error": r.get("error") or "no round completed"}
    got = r["messages_received"]
    server_cpu = round((cpu[1] - cpu[0]) * 1e6 / got, 2) if len(cpu) == 2 and got else None
    log(f"  {name} broadcast rounds (ms): {times}")
    return {"title": title, "unit": "ms", "median": statistics.median(times), "min": min(times),
            "max": max(times), "rounds_ms": times, "sessions": r["connections"],
            "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"], "server_cpu_us_per_msg": server_cpu,
            "client_cpu_us_per_msg": r["client_cpu_us_per_msg"], "errors": r["errors"],
            "runs": len(times), "note": r.get("error")}


# ---------------------------------------------------------------- Socket.IO clients

SIO_SERVER = ("Node socket.io (npm), `echo` acknowledges with its arguments",
              ["node", BENCH / "peers" / "sio-ack-server.js"])
RUST_SOCKETIO = BENCH / "peers" / "rust-socketio-bench"


def client_commands(args):
    """name -> (description, command) of every Socket.IO client of workload 7.
    Each takes `URL --in-flight N --seconds D --warmup W` and prints
    {"started": true}, then {"round_trips": R, "seconds": S, ...}."""
    py = INTEROP / ".venv" / "bin" / "python"
    clients = {
        "ours": ("engineio-rs `socketio::AsyncClient` (`eio sio-bench`: `emit_with_ack` callbacks, "
                 "current-thread tokio)", [EIO, "sio-bench"]),
        "node": ("Node socket.io-client (npm), `transports: [\"websocket\"]`, ack callbacks",
                 ["node", BENCH / "peers" / "sio-client-bench.js"]),
        "python": ("python-socketio `AsyncClient` (aiohttp WebSocket), one task per in-flight emit "
                   "awaiting `call`", [py, BENCH / "peers" / "sio_client_bench.py"]),
        "rust_socketio": ("rust_socketio (crates.io) async client, `emit_with_ack`, current-thread tokio",
                          [RUST_SOCKETIO / "target" / "release" / "rust-socketio-bench"]),
    }
    return {k: v for k, v in clients.items() if k in args.clients}


class Client(Measured):
    def __init__(self, proc):
        self.proc = proc


def sio_client_run(name, cmd, server, in_flight, seconds, warmup):
    """One run of one Socket.IO client against `server` (see timed_client_run)."""
    return timed_client_run(name, [*cmd, f"http://127.0.0.1:{server.port}", "--in-flight", in_flight,
                                   "--seconds", seconds, "--warmup", warmup],
                            server, seconds + warmup + 90)


@contextlib.contextmanager
def watched_client(argv, timeout, stdin):
    """Starts the client `argv` (already pinned) in its own process group,
    stderr to a temporary file; yields (proc, Client, stderr tail getter).
    A watchdog kills the group after `timeout` s, and so does leaving the
    block while it still runs."""
    with tempfile.TemporaryFile(mode="w+") as err:
        proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=err,
                                text=True, start_new_session=True,
                                env=dict(os.environ, RUST_BACKTRACE="0"))
        watchdog = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGKILL))
        watchdog.start()
        try:
            yield proc, Client(proc), lambda: last_line(err)
        finally:
            watchdog.cancel()
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def json_objects(proc):
    """The JSON objects among the client's stdout lines, as they come."""
    for line in proc.stdout:
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            yield obj


def timed_client_run(name, argv, server, timeout):
    """One run of the client `argv` (pinned to CLIENT_CPU) against `server`.
    Its CPU time (utime + stime) and the server's are read when it prints
    {"started": true} and when it prints its result ({"round_trips": ...});
    its RSS at the result."""
    marks, result = [], None
    with watched_client(pinned(CLIENT_CPU, argv), timeout, subprocess.DEVNULL) as (proc, client, stderr_tail):
        for obj in json_objects(proc):
            if obj.get("started"):
                marks.append((client.cpu_times(), server.cpu_seconds()))
            elif "round_trips" in obj:
                marks.append((client.cpu_times(), server.cpu_seconds()))
                result = dict(obj, client_rss_kb=client.rss_kb())
        proc.wait(timeout=30)
        tail = stderr_tail()
    if result is None or len(marks) != 2:
        raise RuntimeError(f"{name} gave no result (exit {proc.returncode}): {tail}")
    n = result["round_trips"]
    if not n:
        raise RuntimeError(f"{name} completed no round trip: {tail}")
    ((u0, k0), s0), ((u1, k1), s1) = marks
    c0, c1 = u0 + k0, u1 + k1
    secs = result["seconds"]
    result.update(
        round_trips_per_sec=n / secs,
        client_cpu_us_per_rt=(c1 - c0) * 1e6 / n,
        client_user_us_per_rt=(u1 - u0) * 1e6 / n,
        client_cpu_pct=(c1 - c0) / secs * 100,
        server_cpu_us_per_rt=(s1 - s0) * 1e6 / n,
        server_cpu_pct=(s1 - s0) / secs * 100)
    return result


def last_line(err):
    """The last non-empty line of the temporary file `err`: the client's own
    word on what went wrong."""
    err.seek(0)
    return ([ln for ln in err.read().splitlines() if ln.strip()] or [""])[-1].strip()[-300:]


def sio_clients(args):
    """Workload 7: each client, 1 and 16 emits in flight, against a fresh
    Node socket.io ack server per run."""
    seconds, warmup = (3.0, 0.5) if args.quick else (args.sio_seconds, 1.0)
    results = []
    for name, (desc, cmd) in client_commands(args).items():
        log(f"== client {name}")
        res = {"name": name, "kind": "client", "description": desc, "workloads": {}}
        for n in (1, 16):
            key = f"sio{n}"
            title = (f"7. Socket.IO client round trips, {n} emit-with-ack in flight, 16-byte string, "
                     f"{seconds:g} s")
            runs = []
            for i in range(args.runs):
                try:
                    with Server("node socket.io", SIO_SERVER[1], INTEROP) as srv:
                        r = sio_client_run(name, cmd, srv, n, seconds, warmup)
                except Exception as e:
                    log(f"  client {name} {key} run {i + 1} failed: {e}")
                    r = {"error": str(e)}
                runs.append(r)
                log(f"  client {name} {key} run {i + 1}: {fmt(r.get('round_trips_per_sec'))} round trips/s, "
                    f"{fmt(r.get('client_cpu_us_per_rt'), 2)} client CPU-µs/RT")
            res["workloads"][key] = summarize_client_runs(runs, title, in_flight=n)
        results.append(res)
    return results


def summarize_client_runs(runs, title, **extra):
    """The cell of one client in workload 7 or 8 (8a, 8b): medians over the
    runs that gave a result, min–max, every sample; or the first error."""
    ok = [r for r in runs if "round_trips_per_sec" in r]
    if not ok:
        return {"title": title, "error": runs[0].get("error") if runs else "not run"}
    med = lambda k: statistics.median(r[k] for r in ok)
    rate = [r["round_trips_per_sec"] for r in ok]
    cpu = [r["client_cpu_us_per_rt"] for r in ok]
    return {
        "title": title, **extra, "median": med("round_trips_per_sec"),
        "min": min(rate), "max": max(rate),
        "client_cpu_us_per_rt": med("client_cpu_us_per_rt"),
        "client_cpu_us_per_rt_min": min(cpu), "client_cpu_us_per_rt_max": max(cpu),
        "client_user_us_per_rt": med("client_user_us_per_rt"),
        "client_cpu_pct": med("client_cpu_pct"), "client_rss_kb": med("client_rss_kb"),
        "server_cpu_us_per_rt": med("server_cpu_us_per_rt"), "server_cpu_pct": med("server_cpu_pct"),
        "errors": sum(r.get("errors", 0) for r in ok), "lost": sum(r.get("lost", 0) for r in ok),
        "runs": len(ok), "samples": ok}


# ---------------------------------------------------------------- Engine.IO clients

EIO_SERVER = ("engineio-rs `eio serve --no-demo` (release), echo",
              [EIO, "serve", "--host", "127.0.0.1", "--port", "0", "--no-demo"])
EIO_CLIENT_NAMES = ("ours", "ours-blocking", "node", "python", "python-sync")
# Workload 8's sub-workloads: key -> transport of the round trips (None: idle memory).
EIO_KEYS = {"eio_ws": "websocket", "eio_poll": "polling", "eio_idle": None}


def eio_client_commands(args):
    """name -> (description, command) of every Engine.IO client of workload 8.
    Each takes `URL --transport T --seconds D --warmup W` (round trips, the
    output of workload 7's clients) or `URL --idle N --hold S` (see
    idle_client_run)."""
    py = INTEROP / ".venv" / "bin" / "python"
    js = BENCH / "peers" / "eio-client-bench.js"
    pyc = BENCH / "peers" / "eio_client_bench.py"
    clients = {
        "ours": ("engineio-rs `engineio::Client`, async (`eio eio-client-bench`): current-thread tokio, "
                 "the `on_message` handler sends the next message; the `eio` binary allocates with mimalloc",
                 [EIO, "eio-client-bench"]),
        "ours-blocking": ("engineio-rs `engineio::client::blocking::Client` (`eio eio-client-bench "
                          "--blocking`): one runtime thread shared by the process's connections, handlers "
                          "on its blocking pool; the "
                          "`on_message` handler sends the next message; mimalloc, as above",
                          [EIO, "eio-client-bench", "--blocking"]),
        "node": ("Node engine.io-client (npm) `Socket`, `transports: [T]`, `upgrade: false`; the `message` "
                 "listener sends the next message", ["node", js]),
        "python": ("python-engineio `AsyncClient` (aiohttp); the async `message` handler (a task per "
                   "message) sends the next message", [py, pyc]),
        "python-sync": ("python-engineio `Client` (requests, websocket-client; a read and a write thread per "
                        "connection); the `message` handler (a new thread per message) sends the next message",
                        [py, pyc, "--sync"]),
    }
    return {k: v for k, v in clients.items() if k in args.eio_clients}


def eio_settings(args):
    """(measured seconds, warm-up, idle connections, idle hold) of workload 8."""
    if args.quick:
        return 2.0, 0.5, min(args.eio_idle_connections, 100), 1.0
    return args.eio_seconds, 1.0, args.eio_idle_connections, args.eio_idle_seconds


def eio_titles(args):
    seconds, _, n, hold = eio_settings(args)
    return {
        "eio_ws": f"8a. Engine.IO client round trips over WebSocket, 1 message in flight, 16-byte text, {seconds:g} s",
        "eio_poll": (f"8b. Engine.IO client round trips over polling (no upgrade), 1 message in flight, "
                     f"16-byte text, {seconds:g} s"),
        "eio_idle": f"8c. Engine.IO client memory, {n:,} idle WebSocket connections in one process, held {hold:g} s",
    }


def idle_client_run(name, argv, server, n, hold):
    """One client process holding `n` idle WebSocket connections. It prints
    {"idle": 1} with one connection open and waits for a stdin line; then
    opens the rest, holds them `hold` s, prints {"idle": N, "errors": E,
    "open_seconds": T} (N: connections still open) and waits for another
    line. Its RSS (and the server's) is read at both marks."""
    full = pinned(CLIENT_CPU, [*argv, f"http://127.0.0.1:{server.port}", "--idle", n, "--hold", hold])
    marks, result = [], None
    with watched_client(full, 180 + n * 0.2 + hold, subprocess.PIPE) as (proc, client, stderr_tail):
        for obj in json_objects(proc):
            if "idle" not in obj:
                continue
            marks.append((client.rss_kb(), server.rss_kb()))
            if "open_seconds" in obj:
                result = obj
            try:
                proc.stdin.write("\n")
                proc.stdin.flush()
            except OSError:
                pass
            if result is not None:
                break
        try:
            proc.stdin.close()
        except OSError:
            pass
        proc.wait(timeout=30)
        tail = stderr_tail()
    if result is None or len(marks) != 2:
        raise RuntimeError(f"{name} gave no result (exit {proc.returncode}, {len(marks)} mark(s)): {tail}")
    up = result["idle"]
    if up < 2:
        raise RuntimeError(f"{name} held {up} connection(s): {result.get('error') or tail}")
    (c0, s0), (c1, s1) = marks
    return {"connections": up, "requested": n, "baseline_kb": c0, "loaded_kb": c1,
            "kb_per_conn": round((c1 - c0) / (up - 1), 2),
            "server_kb_per_conn": round((s1 - s0) / (up - 1), 2),
            "open_seconds": result.get("open_seconds"), "connect_errors": result.get("errors", 0),
            "errors": n - up, "note": result.get("error")}


def raise_fd_limit():
    """1,000 connections need more descriptors than a default soft limit of
    1,024 leaves: raise it to the hard limit (children inherit it)."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY or soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError) as e:
        log(f"could not raise the open-file limit: {e}")


def eio_clients(args):
    """Workload 8: each client's echo round trips over WebSocket (8a) and
    polling (8b), one message in flight, against a fresh `eio serve` per
    run; and the RSS of one process holding many idle connections (8c)."""
    keys = [k for k in EIO_KEYS if selected(args, k)]
    if not keys:
        return []
    raise_fd_limit()
    seconds, warmup, idle_n, hold = eio_settings(args)
    titles = eio_titles(args)
    results = []
    for name, (desc, cmd) in eio_client_commands(args).items():
        log(f"== Engine.IO client {name}")
        res = {"name": name, "kind": "eio-client", "description": desc, "workloads": {}}
        for key in keys:
            title, transport = titles[key], EIO_KEYS[key]
            if transport is None:
                try:
                    with Server("eio serve", EIO_SERVER[1]) as srv:
                        r = idle_client_run(name, cmd, srv, idle_n, hold)
                    log(f"  client {name} {key}: {r['connections']} connections, "
                        f"{fmt(r['kb_per_conn'], 2)} KB per connection")
                    res["workloads"][key] = dict(r, title=title)
                except Exception as e:
                    log(f"  client {name} {key} failed: {e}")
                    res["workloads"][key] = {"title": title, "error": str(e)}
                continue
            runs = []
            for i in range(args.runs):
                try:
                    with Server("eio serve", EIO_SERVER[1]) as srv:
                        r = timed_client_run(
                            name, [*cmd, f"http://127.0.0.1:{srv.port}", "--transport", transport,
                                   "--seconds", seconds, "--warmup", warmup], srv, seconds + warmup + 90)
                except Exception as e:
                    log(f"  client {name} {key} run {i + 1} failed: {e}")
                    r = {"error": str(e)}
                runs.append(r)
                log(f"  client {name} {key} run {i + 1}: {fmt(r.get('round_trips_per_sec'))} round trips/s, "
                    f"{fmt(r.get('client_cpu_us_per_rt'), 2)} client CPU-µs/RT")
            res["workloads"][key] = summarize_client_runs(runs, title, transport=transport)
        results.append(res)
    return results


# ---------------------------------------------------------------- report

def versions():
    v = {}
    try:
        v["ours"] = re.search(r'^version = "([^"]+)"', (ROOT / "Cargo.toml").read_text(), re.M).group(1)
    except Exception:
        v["ours"] = "?"
    for pkg in ("engine.io", "engine.io-client", "socket.io", "socket.io-client"):
        try:
            v[pkg] = json.loads((INTEROP / "node_modules" / pkg / "package.json").read_text())["version"]
        except Exception:
            v[pkg] = "not installed"
    try:
        out = subprocess.run([INTEROP / ".venv" / "bin" / "python", "-c",
                              "import importlib.metadata as m;print(m.version('python-engineio'),m.version('uvicorn'),"
                              "m.version('python-socketio'),m.version('aiohttp'),m.version('requests'),"
                              "m.version('websocket-client'))"],
                             capture_output=True, text=True)
        pe, uv, ps, ah, rq, wc = out.stdout.split()
        v["python-engineio"], v["uvicorn"], v["python-socketio"], v["aiohttp"] = pe, uv, ps, ah
        v["requests"], v["websocket-client"] = rq, wc
    except Exception:
        v["python-engineio"] = "not installed"
    lock = BENCH / "peers" / "engineioxide-echo" / "Cargo.lock"
    m = re.search(r'name = "engineioxide"\nversion = "([^"]+)"', lock.read_text()) if lock.exists() else None
    v["engineioxide"] = m.group(1) if m else "not built"
    lock = RUST_SOCKETIO / "Cargo.lock"
    m = re.search(r'name = "rust_socketio"\nversion = "([^"]+)"', lock.read_text()) if lock.exists() else None
    v["rust_socketio"] = m.group(1) if m else "not built"
    v["node"] = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    v["rustc"] = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    return v


def machine():
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except Exception:
        pass
    return f"{NCPU} CPUs ({model}), {mem}, {platform.system()} {platform.release()}"


def fmt(v, digits=0):
    if v is None:
        return "—"
    return f"{v:,.{digits}f}"


def client_report(clients, args):
    """The section of workload 7."""
    if not clients:
        return []
    lines = []
    ours = next((c for c in clients if c["name"] == "ours"), None)
    titles = {}
    for c in clients:
        for k, w in c["workloads"].items():
            titles.setdefault(k, w["title"])
    for k in ("sio1", "sio16"):
        if k not in titles:
            continue
        base = (ours or {}).get("workloads", {}).get(k, {}).get("client_cpu_us_per_rt")
        lines += [f"## {titles[k]}", ""]
        if k == "sio1" or "sio1" not in titles:
            lines += [f"One client against Node socket.io ({SIO_SERVER[0]}; a fresh server per run, pinned "
                      f"to CPU {SERVER_CPU}); the client pinned to CPU {CLIENT_CPU}, over WebSocket only. "
                      "*round trips/s*: acknowledgements received per second (median, min–max in brackets). "
                      "*client CPU-µs/RT*: the client process's CPU time (utime + stime) in the measured "
                      "window ÷ round trips. *client CPU*: that time as a share of one core. *client RSS*: at "
                      "the end of the window. *server CPU-µs/RT*: the same for the server. **this ÷ ours** = "
                      "this client's CPU-µs/RT ÷ ours (above 1: ours is cheaper).", ""]
        lines += ["| client | round trips/s [min–max] | client CPU-µs/RT [min–max] | client CPU | client RSS | "
                  "server CPU-µs/RT | server CPU | errors | this ÷ ours |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for c in clients:
            w = c["workloads"].get(k)
            if not w:
                continue
            if "error" in w:
                lines.append(f"| {c['name']} | failed: {str(w['error'])[:200]} | | | | | | | |")
                continue
            ratio = f"{w['client_cpu_us_per_rt'] / base:.2f}" if base else "—"
            errs = w["errors"] + w["lost"]
            lines.append(
                f"| {c['name']} | {fmt(w['median'])} [{fmt(w['min'])}–{fmt(w['max'])}] | "
                f"{fmt(w['client_cpu_us_per_rt'], 1)} [{fmt(w['client_cpu_us_per_rt_min'], 1)}–"
                f"{fmt(w['client_cpu_us_per_rt_max'], 1)}] | {fmt(w['client_cpu_pct'])}% | "
                f"{fmt(w['client_rss_kb'] / 1024, 1)} MB | {fmt(w['server_cpu_us_per_rt'], 1)} | "
                f"{fmt(w['server_cpu_pct'])}% | {errs} | {ratio} |")
        lost = [f"- {c['name']}: {c['workloads'][k]['lost']} emits never answered (written off after 1 s)"
                for c in clients if c["workloads"].get(k, {}).get("lost")]
        if lost:
            lines += [""] + lost
        lines.append("")
    lines += ["## Clients", ""] + [f"- **{c['name']}**: {c['description']}" for c in clients] + [""]
    return lines


def eio_client_report(clients, args):
    """The sections of workload 8."""
    if not clients:
        return []
    lines = []
    titles = {}
    for c in clients:
        for k, w in c["workloads"].items():
            titles.setdefault(k, w["title"])
    by = {c["name"]: c["workloads"] for c in clients}
    quick = " (quick mode: these figures are not meaningful)" if args.quick else ""
    first = True
    for k in EIO_KEYS:
        if k not in titles:
            continue
        lines += [f"## {titles[k]}", ""]
        if first:
            lines += [f"One client process against one server, {EIO_SERVER[0]} (a fresh one per run, pinned to "
                      f"CPU {SERVER_CPU}, default settings); the client pinned to CPU {CLIENT_CPU}. Every client "
                      "runs with its library's default options apart from the transport. The issue's targets: "
                      "**ours ≥ 2× Node engine.io-client in round trips per client CPU-second** (that is, node's "
                      "*this ÷ ours* ≥ 2.00), and **≤ 4 KB of client memory per idle connection** (8c).", ""]
            first = False
        if k == "eio_idle":
            lines += eio_idle_table(clients, k, quick)
            lines.append("")
            continue
        base = by.get("ours", {}).get(k, {}).get("client_cpu_us_per_rt")
        if k == "eio_ws" or "eio_ws" not in titles:
            lines += ["Each client sends a 16-byte text message, waits for the echo and sends the next (its "
                      "message handler does), over one connection. *round trips/s*: echoes received per second "
                      "(median, min–max in brackets). *client CPU-µs/RT*: the client process's CPU time (utime + "
                      "stime, all threads) in the measured window ÷ round trips, min–max over the runs; *of which user*: "
                      "its utime part (the rest is kernel time: syscalls, loopback TCP, wake-ups). *RT per "
                      "client CPU-s*: the inverse, the figure of the target. *client CPU*: that time as a share "
                      "of one core; below 100% the client waits on the server or the kernel. *client RSS*: at "
                      "the end of the window. *server CPU-µs/RT*: the same for the server. **this ÷ ours** = this "
                      "client's CPU-µs/RT ÷ ours (the async `ours`; above 1: ours is cheaper).", ""]
        lines += ["| client | round trips/s [min–max] | client CPU-µs/RT [min–max] | of which user | "
                  "RT per client CPU-s | client CPU | client RSS | server CPU-µs/RT | server CPU | errors | "
                  "this ÷ ours |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for c in clients:
            w = c["workloads"].get(k)
            if not w:
                continue
            if "error" in w:
                lines.append(f"| {c['name']} | failed: {str(w['error'])[:200]} | | | | | | | | | |")
                continue
            cpu = w["client_cpu_us_per_rt"]
            ratio = f"{cpu / base:.2f}" if base else "—"
            per_cpu_s = 1e6 / cpu if cpu else None
            lines.append(
                f"| {c['name']} | {fmt(w['median'])} [{fmt(w['min'])}–{fmt(w['max'])}] | "
                f"{fmt(cpu, 1)} [{fmt(w['client_cpu_us_per_rt_min'], 1)}–"
                f"{fmt(w['client_cpu_us_per_rt_max'], 1)}] | {fmt(w['client_user_us_per_rt'], 1)} | "
                f"{fmt(per_cpu_s)} | {fmt(w['client_cpu_pct'])}% | "
                f"{fmt(w['client_rss_kb'] / 1024, 1)} MB | {fmt(w['server_cpu_us_per_rt'], 1)} | "
                f"{fmt(w['server_cpu_pct'])}% | {w['errors']} | {ratio} |")
        node = by.get("node", {}).get(k, {}).get("client_cpu_us_per_rt")
        verdicts = []
        for ours in ("ours", "ours-blocking"):
            mine = by.get(ours, {}).get(k, {}).get("client_cpu_us_per_rt")
            if mine and node:
                x = node / mine
                verdicts.append(f"{ours} {x:.2f}× Node engine.io-client in round trips per client CPU-second "
                                f"({'meets' if x >= 2 else 'misses'} the 2× target)")
        if verdicts:
            lines += ["", "Target: " + "; ".join(verdicts) + quick + "."]
        lines.append("")
    lines += ["## Engine.IO clients", ""] + [f"- **{c['name']}**: {c['description']}" for c in clients] + [""]
    return lines


def eio_idle_table(clients, k, quick):
    lines = ["One process per client opens one WebSocket connection (with a message handler), then the "
             "others one after the other, and holds them all idle. Its RSS is read with one connection open "
             "(*RSS with 1*) and after the hold (*RSS with all*). *KB per connection* = (RSS with all − RSS "
             "with 1) ÷ (connections − 1). *open s*: time to open the other connections. *errors*: connections "
             "asked for but not open at the end (the JSON also has the server's RSS difference). "
             "**this ÷ ours** = this client's KB per connection ÷ ours (above 1: ours is leaner).", "",
             "| client | connections open | RSS with 1 | RSS with all | KB per connection | open s | "
             "errors | this ÷ ours |",
             "|---|---|---|---|---|---|---|---|"]
    base = next((c["workloads"].get(k, {}).get("kb_per_conn") for c in clients if c["name"] == "ours"), None)
    notes, verdicts = [], []
    for c in clients:
        w = c["workloads"].get(k)
        if not w:
            continue
        if "error" in w:
            lines.append(f"| {c['name']} | failed: {str(w['error'])[:200]} | | | | | | |")
            continue
        per = w["kb_per_conn"]
        ratio = f"{per / base:.2f}" if base and base > 0 else "—"
        lines.append(f"| {c['name']} | {w['connections']:,} of {w['requested']:,} | "
                     f"{fmt(w['baseline_kb'] / 1024, 1)} MB | {fmt(w['loaded_kb'] / 1024, 1)} MB | "
                     f"{fmt(per, 2)} | {fmt(w['open_seconds'], 1)} | {w['errors']} | {ratio} |")
        if w.get("note"):
            notes.append(f"- {c['name']}: last connect error: {str(w['note'])[:200]}")
        if c["name"] in ("ours", "ours-blocking"):
            verdicts.append(f"{c['name']} {fmt(per, 2)} KB per idle connection "
                            f"({'meets' if per <= 4 else 'misses'} the ≤ 4 KB target)")
    if notes:
        lines += [""] + notes
    if verdicts:
        lines += ["", "Target: " + "; ".join(verdicts) + quick + "."]
    return lines


def report(results, args, stamp):
    clients = [r for r in results if r.get("kind") == "client"]
    eio_clients_ = [r for r in results if r.get("kind") == "eio-client"]
    results = [r for r in results if r.get("kind") not in ("client", "eio-client")]
    if results or not (clients or eio_clients_):
        heading = "Engine.IO server benchmark"
        pinning = (f"- Pinning: server on CPU {SERVER_CPU}, load generator (`eio bench`, one thread) "
                   f"on CPU {CLIENT_CPU}")
    else:
        heading = {(True, False): "Socket.IO client benchmark", (False, True): "Engine.IO client benchmark",
                   (True, True): "Socket.IO and Engine.IO client benchmark"}[(bool(clients), bool(eio_clients_))]
        pinning = f"- Pinning: server on CPU {SERVER_CPU}, client on CPU {CLIENT_CPU}"
    if results and (clients or eio_clients_):
        which = " and ".join(w for w, on in (("7", clients), ("8", eio_clients_)) if on)
        pinning += f"; in workload{'s' if ' and ' in which else ''} {which} the client under test runs on CPU {CLIENT_CPU}"
    lines = [f"# {heading} — {stamp}", ""]
    load = f"{args.load_before:.2f} before, {os.getloadavg()[0]:.2f} after" if hasattr(args, "load_before") else "?"
    lines += [f"- Machine: {machine()}",
              f"- Load average (1 min) of the machine: {load} (other processes share it)",
              pinning,
              f"- Mode: {'quick (smoke: short runs, small counts — figures not meaningful)' if args.quick else 'full'}; "
              f"median of {args.runs} run(s) per cell, min–max in brackets",
              "- Versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()),
              ("- messages/s = echoes received per second (one round trip per message); "
               "server CPU-µs/msg from /proc of the server process; load generator CPU = the `eio bench` "
               f"process's CPU time over the measured seconds, in % of its one core (**saturated** at "
               f"{SATURATED_PCT}% or more: the rate then understates the server)" if results else
               "- round trips/s = acknowledgements (workload 7) or echoes (workload 8) received per second; "
               "CPU from /proc"), ""]
    by = {r["name"]: r for r in results}
    keys = [w[0] for w in workloads(args.quick)] + ["idle", "broadcast"]
    titles = {}
    for r in results:
        for k, w in r["workloads"].items():
            titles.setdefault(k, w["title"])
    for k in keys:
        if k not in titles:
            continue
        lines += [f"## {titles[k]}", ""]
        if k == "idle":
            lines += ["| server | sessions held | baseline RSS | loaded RSS | KB per session |",
                      "|---|---|---|---|---|"]
            for r in results:
                w = r["workloads"].get(k)
                if not w:
                    continue
                if "error" in w:
                    lines.append(f"| {r['name']} | failed: {w['error'][:80]} | | | |")
                else:
                    lines.append(f"| {r['name']} | {w['sessions']:,} | {w['baseline_kb']:,} KB | "
                                 f"{w['loaded_kb']:,} KB | {fmt(w['kb_per_session'], 2)} |")
        elif k == "broadcast":
            ours = by.get("ours", {}).get("workloads", {}).get(k, {}).get("median")
            lines += ["Time from the trigger until the last session has the message (lower is better); "
                      "samples are the rounds against one server. p50/p99: each message's delivery time "
                      "after the trigger. Server CPU-µs/msg: the server's CPU time during the rounds per "
                      "message delivered. **this ÷ ours** = this server's median time ÷ ours "
                      "(above 1: ours is faster).", "",
                      "| server | ms to last delivery [min–max] | rounds | p50 ms | p99 ms | "
                      "server CPU-µs/msg | errors | this ÷ ours |",
                      "|---|---|---|---|---|---|---|---|"]
            for r in results:
                w = r["workloads"].get(k)
                if not w:
                    continue
                if "error" in w:
                    lines.append(f"| {r['name']} | failed: {str(w['error'])[:80]} | | | | | | |")
                    continue
                ratio = f"{w['median'] / ours:.2f}" if ours and w["median"] else "—"
                lines.append(f"| {r['name']} | {fmt(w['median'], 1)} [{fmt(w['min'], 1)}–{fmt(w['max'], 1)}] | "
                             f"{w['runs']} | {w['p50_ms']:.1f} | {w['p99_ms']:.1f} | "
                             f"{fmt(w['server_cpu_us_per_msg'], 2)} | {w['errors']} | {ratio} |")
            notes = [f"- {r['name']}: {r['workloads'][k]['note']}" for r in results
                     if r["workloads"].get(k, {}).get("note")]
            if notes:
                lines += [""] + notes
        else:
            ours = by.get("ours", {}).get("workloads", {}).get(k, {}).get("median")
            tcp = by.get("tcp", {}).get("workloads", {}).get(k, {}).get("median")
            lines += ["| server | per second [min–max] | p50 ms | p99 ms | server CPU-µs/msg | load generator CPU | errors | ours ÷ this |",
                      "|---|---|---|---|---|---|---|---|"]
            for r in results:
                w = r["workloads"].get(k)
                if not w:
                    continue
                if "error" in w:
                    lines.append(f"| {r['name']} | failed: {str(w['error'])[:80]} | | | | | | |")
                    continue
                ratio = f"{ours / w['median']:.2f}" if ours and w["median"] else "—"
                lines.append(f"| {r['name']} | {fmt(w['median'])} [{fmt(w['min'])}–{fmt(w['max'])}] | "
                             f"{w['p50_ms']:.3f} | {w['p99_ms']:.3f} | {fmt(w['server_cpu_us_per_msg'], 2)} | "
                             f"{loadgen_cpu(w.get('client_cpu_pct'))} | {w['errors']} | {ratio} |")
            if ours and tcp:
                lines += ["", f"ours ÷ TCP floor: **{ours / tcp:.2f}**"]
        lines.append("")
    if results:
        lines += ["## Peers", ""] + [f"- **{r['name']}**: {r['description']}" for r in results] + [""]
    lines += client_report(clients, args)
    lines += eio_client_report(eio_clients_, args)
    return "\n".join(lines)


# A load generator at this share of its core or more is the bottleneck.
SATURATED_PCT = 90


def loadgen_cpu(pct):
    """The load generator's CPU column: its share of its one core during the
    measured seconds, flagged when it is saturated (the rate then
    understates the server)."""
    if pct is None:
        return "—"
    return f"{pct:.0f}% **saturated**" if pct >= SATURATED_PCT else f"{pct:.0f}%"


def svg_chart(results, key, title):
    rows = [(r["name"], r["workloads"].get(key, {}).get("median")) for r in results]
    rows = [(n, v) for n, v in rows if v]
    if not rows:
        return None
    w, bar_h, gap, left = 720, 26, 10, 130
    h = 50 + len(rows) * (bar_h + gap)
    top = max(v for _, v in rows)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="13">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="10" y="22" font-size="15" font-weight="bold">{title}</text>']
    colors = {"ours": "#d9480f", "ours+demo": "#f08c00", "tcp": "#868e96"}
    for i, (name, v) in enumerate(rows):
        y = 40 + i * (bar_h + gap)
        bw = max(1, (w - left - 120) * v / top)
        out.append(f'<text x="{left - 8}" y="{y + 18}" text-anchor="end">{name}</text>')
        out.append(f'<rect x="{left}" y="{y}" width="{bw:.1f}" height="{bar_h}" fill="{colors.get(name, "#1c7ed6")}"/>')
        out.append(f'<text x="{left + bw + 6:.1f}" y="{y + 18}">{v:,.0f}/s</text>')
    out.append("</svg>")
    return "\n".join(out)


# ---------------------------------------------------------------- main

def build(args):
    run(["cargo", "build", "--release", "-p", "engineio-cli"], cwd=ROOT)
    if "node" in args.peers or "python" in args.peers or args.clients or \
            set(args.eio_clients) - {"ours", "ours-blocking"}:
        run(["bash", INTEROP / "setup.sh"], cwd=ROOT)
    # The peers below are workspaces of their own, whose binaries the harness
    # expects in their own target/ directories.
    own_target = {k: v for k, v in os.environ.items() if k != "CARGO_TARGET_DIR"}
    if "engineioxide" in args.peers:
        run(["cargo", "build", "--release"], cwd=BENCH / "peers" / "engineioxide-echo", env=own_target)
    if "rust_socketio" in args.clients:
        run(["cargo", "build", "--release"], cwd=RUST_SOCKETIO, env=own_target)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smoke mode: short runs, small counts (< 3 min)")
    ap.add_argument("--runs", type=int, default=None, help="runs per cell (default 3; 1 with --quick)")
    ap.add_argument("--peers", default="ours,ours+demo,node,python,engineioxide,tcp",
                    help="comma-separated subset of: ours, ours+demo, node, python, engineioxide, tcp")
    ap.add_argument("--idle-connections", type=int, default=10_000)
    ap.add_argument("--idle-seconds", type=float, default=50.0,
                    help="how long idle sessions are held (default 50 s > pingInterval + pingTimeout)")
    ap.add_argument("--broadcast-connections", type=int, default=10_000,
                    help="sessions of the broadcast workload (default 10,000; 200 with --quick)")
    ap.add_argument("--clients", default="ours,node,python,rust_socketio",
                    help="Socket.IO clients of workload 7, a comma-separated subset of: "
                         "ours, node, python, rust_socketio")
    ap.add_argument("--eio-clients", default=",".join(EIO_CLIENT_NAMES),
                    help="Engine.IO clients of workload 8, a comma-separated subset of: "
                         + ", ".join(EIO_CLIENT_NAMES))
    ap.add_argument("--workloads", default=None,
                    help="comma-separated workload numbers to run (default all): 1, 2 (or 2a, 2b), 3, 4, 5, "
                         "6, 7, 8 (or 8a, 8b, 8c)")
    ap.add_argument("--sio-seconds", type=float, default=10.0,
                    help="measured seconds per run of workload 7 (default 10; 3 with --quick)")
    ap.add_argument("--eio-seconds", type=float, default=10.0,
                    help="measured seconds per run of workloads 8a and 8b (default 10; 2 with --quick)")
    ap.add_argument("--eio-idle-connections", type=int, default=1000,
                    help="idle connections of workload 8c (default 1,000; at most 100 with --quick)")
    ap.add_argument("--eio-idle-seconds", type=float, default=2.0,
                    help="how long workload 8c holds its connections once open (default 2; 1 with --quick)")
    ap.add_argument("--out", default=str(BENCH / "results"))
    ap.add_argument("--prefix", default="", help="prefix of the report's file names (e.g. sio-client-)")
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    args.peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    args.clients = [c.strip() for c in args.clients.split(",") if c.strip()]
    args.eio_clients = [c.strip() for c in args.eio_clients.split(",") if c.strip()]
    bad = [c for c in args.eio_clients if c not in EIO_CLIENT_NAMES]
    if bad:
        ap.error(f"unknown Engine.IO client(s): {', '.join(bad)}")
    if args.workloads is not None:
        args.workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
        known = set(NUMBERS.values()) | {n.rstrip("abc") for n in NUMBERS.values()}
        bad = [w for w in args.workloads if w not in known]
        if bad:
            ap.error(f"unknown workload(s): {', '.join(bad)}")
    if not any(selected(args, k) for k in SERVER_WORKLOADS):
        args.peers = []
    if not selected(args, "sio"):
        args.clients = []
    if not any(selected(args, k) for k in EIO_KEYS):
        args.eio_clients = []
    args.runs = args.runs or (1 if args.quick else 3)
    if not args.no_build:
        build(args)
    args.load_before = os.getloadavg()[0]
    results = []
    for name, (desc, cmd, cwd, env) in peer_commands(args).items():
        log(f"== {name}")
        results.append(run_peer(name, desc, cmd, cwd, env, args))
    results += sio_clients(args)
    results += eio_clients(args)
    stamp = dt.datetime.now().strftime("%Y-%m-%d")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    base = f"{args.prefix}{stamp}{'-quick' if args.quick else ''}"
    md = report(results, args, stamp)
    chart = svg_chart(results, "ws100", workloads(args.quick)[0][1][3:] + " (messages/s)")
    (out / f"{base}.md").write_text(md + (f"\n![chart]({base}.svg)\n" if chart else ""))
    if chart:
        (out / f"{base}.svg").write_text(chart)
    (out / f"{base}.json").write_text(json.dumps(results, indent=2))
    print(md)
    silent = [{"client": "client ", "eio-client": "Engine.IO client "}.get(r.get("kind"), "") + r["name"]
              for r in results
              if not any("median" in w or "kb_per_session" in w or "kb_per_conn" in w
                         for w in r["workloads"].values())]
    if not results or silent:
        log(f"no numbers from: {', '.join(silent) or 'any peer'}")
        sys.exit(1)


if __name__ == "__main__":
    main()
