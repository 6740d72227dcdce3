"""python-socketio's AsyncClient as a client of the benchmark's client
workload (bench/harness.py, workload 7):

    interop/.venv/bin/python bench/peers/sio_client_bench.py URL \
        [--in-flight N] [--seconds D] [--warmup W]

Connects over WebSocket only (aiohttp) and keeps N emits of event `echo`
with a 16-byte string outstanding: N tasks, each awaiting `call` and then
calling again. After W seconds (default 1) prints {"started": true}, counts
the acknowledgements of the next D seconds (default 10) and prints
{"round_trips": R, "seconds": S, "errors": E}; then waits 0.3 s and
disconnects. The same contract as `eio sio-bench` (eio/src/sio_bench.rs).
"""

import argparse
import asyncio
import json
import time

import socketio

PAYLOAD = "0123456789abcdef"


def line(obj):
    print(json.dumps(obj), flush=True)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--in-flight", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=1.0)
    args = ap.parse_args()

    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(args.url, transports=["websocket"])
    tally = {"round_trips": 0, "errors": 0}
    stop = False

    async def worker():
        while not stop:
            try:
                await sio.call("echo", PAYLOAD, timeout=60)
            except Exception:
                tally["errors"] += 1
                return
            tally["round_trips"] += 1

    tasks = [asyncio.create_task(worker()) for _ in range(max(1, args.in_flight))]
    await asyncio.sleep(args.warmup)
    n0, t0 = tally["round_trips"], time.perf_counter()
    line({"started": True})
    await asyncio.sleep(args.seconds)
    n, secs = tally["round_trips"] - n0, time.perf_counter() - t0
    line({"round_trips": n, "seconds": round(secs, 3),
          "round_trips_per_sec": round(n / secs), "errors": tally["errors"]})
    stop = True
    await asyncio.sleep(0.3)
    for t in tasks:
        t.cancel()
    await sio.disconnect()


if __name__ == "__main__":
    asyncio.run(main())
