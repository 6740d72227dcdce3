"""The reference python-engineio server (AsyncServer, ASGI, under uvicorn),
as an echo server for our tests.

    python server.py '{"ping_interval": 25, "ping_timeout": 20, ...}'

Options come as one JSON argument (all optional). Every key goes to
``engineio.AsyncServer(async_mode='asgi', **options)`` (python-engineio
ignores keys it does not know), e.g. ``ping_interval`` and ``ping_timeout``
(seconds), ``max_http_buffer_size``, ``transports``, ``allow_upgrades``,
``cors_allowed_origins``, ``cookie``, ``http_compression``,
``compression_threshold``; except these, which the script itself reads:

- ``engineio_path``: the ``ASGIApp`` path (default ``engine.io``).
- ``stock_json``: ``true`` keeps python-engineio's own decoding of text
  messages (``json.loads`` unless the text starts with a digit, so ``4true``
  arrives as ``True``); echoes of decoded values are then re-encoded with
  ``json.dumps``. The default (``false``) delivers every text message as the
  exact string received, so the echo is byte-for-byte.
- ``pingInterval``, ``pingTimeout`` (milliseconds), ``maxHttpBufferSize``,
  ``allowUpgrades``: the Node server's spellings, translated for convenience.

Behaviour: a handshake whose query string contains ``reject`` is refused by
the connect handler returning ``{"message": "rejected", "code": 42}`` (401
with that JSON body); a text message ``disconnect`` makes the server
disconnect that sid; a text message ``broadcast:<N>`` (e.g. ``broadcast:64``)
sends N bytes of text (``x`` repeated) to every connected sid, the sender
included (the benchmark's broadcast workload); every other message is echoed
back (text as text, binary as binary).

Prints ``LISTENING <port>`` once bound to 127.0.0.1:0; exits when stdin
closes.
"""
import asyncio
import json
import os
import re
import socket
import sys
import threading
import types

import engineio
import uvicorn

BROADCAST = re.compile(r'broadcast:[0-9]+')


def raw_json():
    """A json module for python-engineio whose ``loads`` always fails, so
    received text packets keep their exact text (the server never needs to
    decode JSON: it only receives message, ping/pong, upgrade and close
    packets)."""
    def loads(*_args, **_kwargs):
        raise ValueError('text messages are passed through as received')
    return types.SimpleNamespace(loads=loads, dumps=json.dumps)


def main():
    opts = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    path = opts.pop('engineio_path', 'engine.io')
    stock_json = opts.pop('stock_json', False)
    for node_name, py_name, scale in [('pingInterval', 'ping_interval', 1000),
                                      ('pingTimeout', 'ping_timeout', 1000),
                                      ('maxHttpBufferSize',
                                       'max_http_buffer_size', 1),
                                      ('allowUpgrades', 'allow_upgrades', 1)]:
        if node_name in opts:
            value = opts.pop(node_name)
            opts[py_name] = value / scale if scale != 1 else value
    if not stock_json:
        opts['json'] = raw_json()

    eio = engineio.AsyncServer(async_mode='asgi', **opts)

    @eio.on('connect')
    async def on_connect(sid, environ):
        if 'reject' in environ.get('QUERY_STRING', ''):
            return {'message': 'rejected', 'code': 42}

    @eio.on('message')
    async def on_message(sid, data):
        if data == 'disconnect':
            await eio.disconnect(sid)
        elif isinstance(data, str) and BROADCAST.fullmatch(data):
            msg = 'x' * int(data[len('broadcast:'):])
            for other in list(eio.sockets):
                await eio.send(other, msg)
        elif isinstance(data, (str, bytes, bytearray)):
            await eio.send(sid, data)
        else:
            # only with stock_json: a value python-engineio decoded
            await eio.send(sid, json.dumps(data, separators=(',', ':')))

    app = engineio.ASGIApp(eio, engineio_path=path)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(('127.0.0.1', 0))
    sock.listen(128)
    sock.set_inheritable(True)

    config = uvicorn.Config(app, log_level='warning', lifespan='off')
    server = uvicorn.Server(config)

    def watch_stdin():
        # Blocks until the parent closes our stdin (or dies); then leave at
        # once: python-engineio's graceful shutdown can wait on open sessions.
        for _ in sys.stdin:
            pass
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()

    async def serve():
        # The socket already listens, so connections made as soon as the
        # port is printed wait in the backlog until uvicorn accepts them.
        print(f'LISTENING {sock.getsockname()[1]}', flush=True)
        await server.serve(sockets=[sock])

    asyncio.run(serve())


if __name__ == '__main__':
    main()
