"""The reference python-socketio server (AsyncServer, ASGI, under uvicorn)
for our Socket.IO client's tests: the same contract as ``node/sio_server.js``.

    python sio_server.py [--port P] [--parser default|msgpack]
                         [--ping-interval MS] [--ping-timeout MS]
                         [--path /socket.io/] [--max-http-buffer-size BYTES]

Binds 127.0.0.1 (port 0 = any free port). stdout carries one JSON object per
line: first ``{"listening":PORT}``, then one line per thing the server sees:

    {"ev":"connection","nsp":..,"sid":..,"auth":..,"transport":"polling|websocket"}
    {"ev":"disconnect","nsp":..,"sid":..,"reason":..}
    {"ev":"event","nsp":..,"sid":..,"name":..,"args":[..]}
    {"ev":"refused","nsp":"/admin","auth":..}

bytes are printed as ``{"$binary":"<hex>"}``. Namespaces: ``/`` (open),
``/admin`` (needs ``auth.token == "secret"``), any ``/dyn-[\\w-]+`` (open);
every other namespace gets python-socketio's own refusal. Events (every
namespace): echo, burst, big, ask, kick, close_engine, whoami. See
interop/README.md for the contract and the differences from the Node peer.

Exits at once on SIGTERM/SIGINT or when stdin closes.
"""
import argparse
import asyncio
import json
import os
import re
import signal
import socket
import sys
import threading
from contextlib import contextmanager

import msgpack
import socketio
import uvicorn

DYNAMIC = re.compile(r'/dyn-[\w-]+')


class Namespaces:
    """The namespaces the server accepts, for ``AsyncServer(namespaces=)``.

    python-socketio checks ``namespace in namespaces``; a list cannot hold a
    pattern, and ``'*'`` would accept every namespace, so this container
    accepts ``/``, ``/admin`` and ``/dyn-*``. Any other namespace then gets
    python-socketio's own refusal (CONNECT_ERROR ``"Unable to connect"``).
    """

    def __contains__(self, nsp):
        return nsp in ('/', '/admin') or bool(DYNAMIC.fullmatch(nsp or ''))

    def __eq__(self, other):
        return False

    __hash__ = object.__hash__


def printable(v):
    """A JSON-printable copy: bytes as {"$binary": hex}, recursively."""
    if isinstance(v, (bytes, bytearray, memoryview)):
        return {'$binary': bytes(v).hex()}
    if isinstance(v, (list, tuple)):
        return [printable(x) for x in v if not callable(x)]
    if isinstance(v, dict):
        return {k: printable(x) for k, x in v.items() if not callable(x)}
    return v


def log(obj):
    sys.stdout.write(json.dumps(printable(obj), separators=(',', ':')) + '\n')
    sys.stdout.flush()


def pattern(size):
    """``size`` bytes, byte k = k & 255."""
    unit = bytes(range(256))
    return (unit * (size // 256 + 1))[:size]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--port', type=int, default=0)
    p.add_argument('--parser', choices=['default', 'msgpack'],
                   default='default')
    p.add_argument('--ping-interval', type=float, default=25000, help='ms')
    p.add_argument('--ping-timeout', type=float, default=20000, help='ms')
    p.add_argument('--path', default='/socket.io/')
    p.add_argument('--max-http-buffer-size', type=float, default=1e8)
    return p.parse_args()


def main():
    args = parse_args()
    if args.ping_interval % 1000:
        # python-engineio advertises int(ping_interval) * 1000 in its
        # handshake: a fraction of a second is left out of pingInterval
        # (while the pings really come every ping_interval).
        print(f'sio_server.py: warning: --ping-interval {args.ping_interval:g} '
              f'is advertised as {int(args.ping_interval // 1000) * 1000} ms '
              '(python-engineio truncates it to whole seconds)',
              file=sys.stderr, flush=True)
    sio = socketio.AsyncServer(
        async_mode='asgi',
        serializer='msgpack' if args.parser == 'msgpack' else 'default',
        ping_interval=args.ping_interval / 1000,
        ping_timeout=args.ping_timeout / 1000,
        max_http_buffer_size=int(args.max_http_buffer_size),
        cors_allowed_origins='*',
        namespaces=Namespaces(),
    )

    async def welcome(nsp, sid, auth):
        # The connect handler runs before python-socketio sends the CONNECT
        # answer; the welcome event must follow that answer, so wait here
        # until the namespace is fully connected (or the attempt is over).
        for _ in range(5000):
            if sio.manager.is_connected(sid, nsp):
                await sio.emit('welcome', {'nsp': nsp, 'sid': sid,
                                           'auth': auth},
                               to=sid, namespace=nsp)
                return
            if not sio.manager.is_pre_connected(sid, nsp) \
                    and not sio.manager.is_connected(sid, nsp):
                return
            await asyncio.sleep(0.001)

    @sio.on('connect', namespace='*')
    async def on_connect(nsp, sid, environ, auth=None):
        # python-socketio passes auth None when the client sent none (or {}):
        # print {} then, as socket.io's handshake.auth does.
        # (A Node msgpack client sends notepack's `undefined`, which python's
        # msgpack decodes as ExtType(0, b'\x00'): absent too.)
        if auth is None or isinstance(auth, msgpack.ExtType):
            auth = {}
        if nsp == '/admin' and not (isinstance(auth, dict)
                                    and auth.get('token') == 'secret'):
            log({'ev': 'refused', 'nsp': nsp, 'auth': auth})
            raise socketio.exceptions.ConnectionRefusedError(
                'not authorized', {'reason': 'bad token'})
        log({'ev': 'connection', 'nsp': nsp, 'sid': sid, 'auth': auth,
             'transport': sio.transport(sid, nsp)})
        sio.start_background_task(welcome, nsp, sid, auth)
        return True

    @sio.on('disconnect', namespace='*')
    async def on_disconnect(nsp, sid, reason):
        log({'ev': 'disconnect', 'nsp': nsp, 'sid': sid, 'reason': reason})

    async def ask(lock, nsp, sid, name, args):
        # What sio.call() does, keeping the reply's argument list as it came
        # (call() returns one value, a tuple or None, which loses [] vs [None]).
        done = asyncio.get_running_loop().create_future()

        def callback(*reply):
            if not done.done():
                done.set_result(list(reply))

        # a tuple is sent as that many arguments (none for ())
        async with lock:
            await sio.emit(str(name), tuple(args), to=sid, namespace=nsp,
                           callback=callback)
        try:
            reply = await asyncio.wait_for(done, 5)
            ok = True
        except asyncio.TimeoutError:
            reply, ok = [], False
        async with lock:
            await sio.emit('asked', {'ok': ok, 'reply': reply}, to=sid,
                           namespace=nsp)

    # python-socketio runs every event handler in its own task, so the
    # answers to events sent back to back could interleave (each emit
    # yields). One lock per Engine.IO connection makes the handlers run one
    # at a time in the order the events arrived, as on the Node server; only
    # ask's wait for the client's ack happens outside it.
    locks = {}

    def lock_of(nsp, sid):
        eio_sid = sio.manager.eio_sid_from_sid(sid, nsp)
        return locks.setdefault(eio_sid, asyncio.Lock())

    @sio.on('*', namespace='*')
    async def on_event(name, nsp, sid, *args):
        log({'ev': 'event', 'nsp': nsp, 'sid': sid, 'name': name,
             'args': list(args)})
        lock = lock_of(nsp, sid)
        if name == 'ask':
            if args:
                await ask(lock, nsp, sid, args[0], list(args[1:]))
            return sio.not_handled
        async with lock:
            return await handle(name, nsp, sid, args)

    async def handle(name, nsp, sid, args):
        # The return value is the ack (sent only if the client asked for
        # one; a tuple is several arguments). sio.not_handled sends none,
        # like a Node handler that never calls its callback.
        if name == 'echo':
            await sio.emit('echo', tuple(args), to=sid, namespace=nsp)
            return tuple(args)
        if name == 'burst':
            n = int(args[0]) if args else 0
            every = int(args[1]) if len(args) > 1 and args[1] else 0
            for i in range(n):
                arg = {'i': i}
                if every > 0 and i % every == 0:
                    arg['bin'] = bytes([i & 255, (i >> 8) & 255, 7])
                await sio.emit('seq', arg, to=sid, namespace=nsp)
            return sio.not_handled
        if name == 'big':
            size = int(args[0]) if args else 0
            await sio.emit('big', ('x' * size, pattern(size)), to=sid,
                           namespace=nsp)
            return size
        if name == 'kick':
            await sio.disconnect(sid, namespace=nsp)
            return sio.not_handled
        if name == 'close_engine':
            await sio.eio.disconnect(sio.manager.eio_sid_from_sid(sid, nsp))
            return sio.not_handled
        if name == 'whoami':
            return {'nsp': nsp, 'sid': sid,
                    'transport': sio.transport(sid, nsp)}
        return sio.not_handled

    app = socketio.ASGIApp(sio, socketio_path=args.path.strip('/'))

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(('127.0.0.1', args.port))
    except OSError as exc:
        print(f'sio_server.py: bind 127.0.0.1:{args.port}: {exc}',
              file=sys.stderr, flush=True)
        sys.exit(1)
    sock.listen(128)
    sock.set_inheritable(True)

    def quit_now(*_args):
        sys.stdout.flush()
        os._exit(0)

    class Server(uvicorn.Server):
        # uvicorn's SIGTERM/SIGINT handling is a graceful shutdown that can
        # wait on open sessions; leave at once instead.
        @contextmanager
        def capture_signals(self):
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, quit_now)
            yield

    config = uvicorn.Config(app, host='127.0.0.1', port=args.port,
                            log_level='warning', lifespan='off')
    server = Server(config)

    def watch_stdin():
        # Blocks until the parent closes our stdin (or dies).
        for _ in sys.stdin:
            pass
        quit_now()

    threading.Thread(target=watch_stdin, daemon=True).start()

    async def serve():
        # The socket already listens, so connections made as soon as the
        # port is printed wait in the backlog until uvicorn accepts them.
        log({'listening': sock.getsockname()[1]})
        await server.serve(sockets=[sock])

    asyncio.run(serve())


if __name__ == '__main__':
    main()
