"""python-engineio's AsyncClient (aiohttp) or, with --sync, its Client
(requests and websocket-client, one thread per message handler call) as a
client of the benchmark's Engine.IO client workload (bench/harness.py,
workload 8):

    interop/.venv/bin/python bench/peers/eio_client_bench.py URL [--sync] \
        [--transport websocket|polling] [--seconds D] [--warmup W]
    interop/.venv/bin/python bench/peers/eio_client_bench.py URL [--sync] \
        --idle N [--hold S]

Round trips: one client over the transport (`transports=[T]`, no upgrade)
sends a 16-byte text message to an echo server; the `message` handler
counts each echo and sends the next message. After W seconds (default 1)
prints {"started": true}, counts the echoes of the next D seconds (default
10) and prints {"round_trips": R, "seconds": S, "errors": E}; then waits
0.3 s and disconnects.

Idle: opens one WebSocket client (with a `message` handler), prints
{"idle": 1} and waits for a line on stdin; opens the other N - 1 one after
the other, holds them for S seconds (default 2), prints
{"idle": N, "errors": E, "open_seconds": T} and waits for another line;
then exits. The same contract as `eio eio-client-bench`
(eio/src/client_bench.rs).
"""

import argparse
import asyncio
import json
import os
import sys
import threading
import time

import engineio

PAYLOAD = "0123456789abcdef"


def line(obj):
    print(json.dumps(obj), flush=True)


def result(n, secs, errors):
    line({"round_trips": n, "seconds": round(secs, 3),
          "round_trips_per_sec": round(n / secs), "errors": errors})


def idle_line(up, errors, open_secs, last_error):
    out = {"idle": up, "errors": errors, "open_seconds": round(open_secs, 3)}
    if last_error:
        out["error"] = last_error
    line(out)


def leave():
    sys.stdout.flush()
    os._exit(0)  # without closing the idle clients: the harness has its figures


# ---------------------------------------------------------------- AsyncClient

async def async_round_trips(args):
    eio = engineio.AsyncClient(handle_sigint=False)
    tally = {"round_trips": 0, "errors": 0, "stop": False}

    @eio.on("message")
    async def on_message(data):
        tally["round_trips"] += 1
        if not tally["stop"]:
            try:
                await eio.send(PAYLOAD)
            except Exception:
                tally["errors"] += 1

    await eio.connect(args.url, transports=[args.transport])
    await eio.send(PAYLOAD)
    await asyncio.sleep(args.warmup)
    n0, t0 = tally["round_trips"], time.perf_counter()
    line({"started": True})
    await asyncio.sleep(args.seconds)
    result(tally["round_trips"] - n0, time.perf_counter() - t0, tally["errors"])
    tally["stop"] = True
    await asyncio.sleep(0.3)
    await eio.disconnect()


async def async_idle(args):
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    received = [0]

    async def client():
        eio = engineio.AsyncClient(handle_sigint=False)

        @eio.on("message")
        async def on_message(data):
            received[0] += 1

        await eio.connect(args.url, transports=["websocket"])
        return eio

    clients = [await client()]
    line({"idle": 1})
    await stdin.readline()
    errors, last_error = 0, None
    t0 = time.perf_counter()
    for _ in range(1, args.idle):
        try:
            clients.append(await client())
        except Exception as e:
            errors, last_error = errors + 1, str(e) or type(e).__name__
    open_secs = time.perf_counter() - t0
    await asyncio.sleep(args.hold)
    idle_line(sum(c.state == "connected" for c in clients), errors, open_secs, last_error)
    await stdin.readline()
    leave()


# ---------------------------------------------------------------- Client

def sync_round_trips(args):
    eio = engineio.Client(handle_sigint=False)
    lock = threading.Lock()
    tally = {"round_trips": 0, "errors": 0, "stop": False}

    # python-engineio runs each call of this handler on a new thread.
    @eio.on("message")
    def on_message(data):
        with lock:
            tally["round_trips"] += 1
        if not tally["stop"]:
            try:
                eio.send(PAYLOAD)
            except Exception:
                with lock:
                    tally["errors"] += 1

    eio.connect(args.url, transports=[args.transport])
    eio.send(PAYLOAD)
    time.sleep(args.warmup)
    n0, t0 = tally["round_trips"], time.perf_counter()
    line({"started": True})
    time.sleep(args.seconds)
    result(tally["round_trips"] - n0, time.perf_counter() - t0, tally["errors"])
    tally["stop"] = True
    time.sleep(0.3)
    eio.disconnect()


def sync_idle(args):
    received = [0]

    def client():
        eio = engineio.Client(handle_sigint=False)

        @eio.on("message")
        def on_message(data):
            received[0] += 1

        eio.connect(args.url, transports=["websocket"])
        return eio

    clients = [client()]
    line({"idle": 1})
    sys.stdin.readline()
    errors, last_error = 0, None
    t0 = time.perf_counter()
    for _ in range(1, args.idle):
        try:
            clients.append(client())
        except Exception as e:
            errors, last_error = errors + 1, str(e) or type(e).__name__
    open_secs = time.perf_counter() - t0
    time.sleep(args.hold)
    idle_line(sum(c.state == "connected" for c in clients), errors, open_secs, last_error)
    sys.stdin.readline()
    leave()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--sync", action="store_true", help="engineio.Client instead of AsyncClient")
    ap.add_argument("--transport", choices=["websocket", "polling"], default="websocket")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--idle", type=int, default=None, help="open this many WebSocket clients and hold them")
    ap.add_argument("--hold", type=float, default=2.0)
    args = ap.parse_args()
    if args.sync:
        (sync_round_trips if args.idle is None else sync_idle)(args)
    else:
        asyncio.run((async_round_trips if args.idle is None else async_idle)(args))


if __name__ == "__main__":
    main()
