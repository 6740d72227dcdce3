"""The reference python-engineio clients (``Client`` and, with ``--async``,
``AsyncClient``) as a command-line peer for our tests.

    python client.py [--async] URL '{"transports": ["websocket"],
                                     "headers": {...}, "engineio_path": "engine.io"}'

Options (JSON, all optional): ``transports``, ``headers`` and
``engineio_path`` go to ``connect()``; ``request_timeout``,
``timestamp_requests``, ``ssl_verify`` and ``websocket_extra_options`` go to
the constructor; ``stock_json: true`` keeps python-engineio's own decoding of
text messages (see below).

Prints one JSON object per line on stdout (the same contract as
``node/client.js``):

    {"event":"open","sid":"..","transport":"polling","handshake":{...}}
    {"event":"upgrade","transport":"websocket"}
    {"event":"message","type":"text","data":".."}
    {"event":"message","type":"binary","data":"<hex>"}
    {"event":"error","message":"..","description":..}  (connect() failed;
                                                          then exit 1)
    {"event":"close","reason":"..","description":null}

``reason`` is python-engineio's: ``client disconnect``, ``server disconnect``
or ``transport error``. python-engineio has no upgrade event: the upgrade
happens inside ``connect()``, so ``upgrade`` is printed when ``connect()``
returns on another transport than it opened with. The ``open`` handshake
holds what the client keeps (``upgrades``, ``pingInterval``,
``pingTimeout`` in ms); python-engineio does not keep ``maxPayload``.

Text messages: python-engineio passes message text through ``json.loads``
(unless it starts with a digit), so ``{"a": 1}`` would arrive as a dict. By
default this script installs a json module that decodes only the handshake,
so every message is printed exactly as received. With ``stock_json`` a
decoded value is printed re-encoded with ``json.dumps`` and also as
``"decoded"``.

Message handlers run on their own thread (sync) or task (async), as
python-engineio does, so messages that arrive close together may print out
of order.

Reads commands from stdin, one per line: ``send <text>``, ``sendbin <hex>``,
``close``. Exits after the close event, or when stdin ends.
"""
import asyncio
import json
import os
import sys
import threading
import time
import types

import engineio

_print_lock = threading.Lock()


def emit(obj):
    line = json.dumps(obj, separators=(',', ':'))
    with _print_lock:
        sys.stdout.write(line + '\n')
        sys.stdout.flush()


def handshake_only_json():
    """A json module whose ``loads`` decodes the open packet (the first
    packet the client decodes) and nothing after it."""
    state = {'seen': False}

    def loads(s, *args, **kwargs):
        if state['seen']:
            raise ValueError('text messages are passed through as received')
        value = engineio.json.loads(s, *args, **kwargs)
        if isinstance(value, dict) and 'sid' in value:
            state['seen'] = True
        return value
    return types.SimpleNamespace(loads=loads, dumps=json.dumps)


def message_event(data):
    if isinstance(data, (bytes, bytearray)):
        return {'event': 'message', 'type': 'binary', 'data': bytes(data).hex()}
    if isinstance(data, str):
        return {'event': 'message', 'type': 'text', 'data': data}
    return {'event': 'message', 'type': 'text',
            'data': json.dumps(data, separators=(',', ':')), 'decoded': data}


def open_event(eio):
    return {'event': 'open', 'sid': eio.sid, 'transport': eio.transport(),
            'handshake': {'sid': eio.sid, 'upgrades': eio.upgrades,
                          'pingInterval': int(eio.ping_interval * 1000),
                          'pingTimeout': int(eio.ping_timeout * 1000)}}


def close_event(reason):
    return {'event': 'close', 'reason': reason, 'description': None}


def error_event(exc):
    out = {'event': 'error', 'message': str(exc.args[0]) if exc.args else
           str(exc)}
    if isinstance(exc, engineio.exceptions.ConnectionError):
        if len(exc.args) > 1:
            # python-engineio adds the server's JSON body on a non-2xx answer
            out['description'] = exc.args[1]
    else:
        out['exception'] = type(exc).__name__
    return out


def parse_command(line):
    line = line.rstrip('\r\n')
    cmd, _, arg = line.partition(' ')
    return cmd, arg


def split_options(opts):
    connect_kw = {k: opts.pop(k) for k in ('transports', 'headers',
                                            'engineio_path') if k in opts}
    stock_json = opts.pop('stock_json', False)
    ctor_kw = {k: opts.pop(k) for k in ('request_timeout',
                                         'timestamp_requests', 'ssl_verify',
                                         'websocket_extra_options')
               if k in opts}
    if opts:
        print(f'client.py: ignoring unknown options {sorted(opts)}',
              file=sys.stderr)
    ctor_kw['handle_sigint'] = False
    if not stock_json:
        ctor_kw['json'] = handshake_only_json()
    return ctor_kw, connect_kw


def run_sync(url, opts):
    ctor_kw, connect_kw = split_options(opts)
    eio = engineio.Client(**ctor_kw)
    done = threading.Event()
    state = {'closing': False, 'closed_at': None}

    @eio.on('connect')
    def on_connect():
        emit(open_event(eio))

    @eio.on('message')
    def on_message(data):
        emit(message_event(data))

    @eio.on('disconnect')
    def on_disconnect(reason):
        emit(close_event(reason))
        state['closed_at'] = time.monotonic()
        if not state['closing']:
            done.set()

    def read_stdin():
        for line in sys.stdin:
            cmd, arg = parse_command(line)
            if cmd == 'send':
                eio.send(arg)
            elif cmd == 'sendbin':
                eio.send(bytes.fromhex(arg))
            elif cmd == 'close':
                break
            elif cmd:
                print(f'client.py: unknown command {line!r}', file=sys.stderr)
        # `close` or end of input: disconnect (a no-op once disconnected);
        # disconnect() returns after the CLOSE packet went out.
        state['closing'] = True
        eio.disconnect()
        done.set()

    try:
        eio.connect(url, **connect_kw)
    except Exception as exc:
        emit(error_event(exc))
        return 1
    first = (connect_kw.get('transports') or ['polling'])
    first = first[0] if isinstance(first, list) else first
    if eio.transport() != first and eio.state == 'connected':
        emit({'event': 'upgrade', 'transport': eio.transport()})
    threading.Thread(target=read_stdin, daemon=True).start()
    # disconnect() first queues CLOSE, then joins the read loop, which can
    # sit in a long-poll GET for ping_interval + 5 s (python-engineio's server
    # does not end a pending GET when the client closes): give the CLOSE
    # packet a moment to go out, then leave without waiting for the GET.
    while not done.wait(0.05):
        closed_at = state['closed_at']
        if closed_at is not None and time.monotonic() - closed_at > 1.0:
            break
    return 0


async def run_async(url, opts):
    ctor_kw, connect_kw = split_options(opts)
    eio = engineio.AsyncClient(**ctor_kw)
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    lines = asyncio.Queue()
    state = {'closing': False}

    @eio.on('connect')
    async def on_connect():
        emit(open_event(eio))

    @eio.on('message')
    async def on_message(data):
        emit(message_event(data))

    @eio.on('disconnect')
    async def on_disconnect(reason):
        emit(close_event(reason))
        if not state['closing']:
            done.set()

    def read_stdin():
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        loop.call_soon_threadsafe(lines.put_nowait, None)

    async def commands():
        while True:
            line = await lines.get()
            if line is None:
                break
            cmd, arg = parse_command(line)
            if cmd == 'send':
                await eio.send(arg)
            elif cmd == 'sendbin':
                await eio.send(bytes.fromhex(arg))
            elif cmd == 'close':
                break
            elif cmd:
                print(f'client.py: unknown command {line!r}', file=sys.stderr)
        state['closing'] = True
        # See run_sync: disconnect() can wait on a long-poll GET.
        disconnect = asyncio.ensure_future(eio.disconnect())
        await asyncio.wait({disconnect}, timeout=1.0)
        done.set()

    try:
        await eio.connect(url, **connect_kw)
    except Exception as exc:
        # Not only ConnectionError: AsyncClient closes its aiohttp session
        # before reading a rejection's body, so a body that had not arrived
        # yet surfaces as RuntimeError('Connection closed.').
        emit(error_event(exc))
        return 1
    first = (connect_kw.get('transports') or ['polling'])
    first = first[0] if isinstance(first, list) else first
    if eio.transport() != first and eio.state == 'connected':
        emit({'event': 'upgrade', 'transport': eio.transport()})
    threading.Thread(target=read_stdin, daemon=True).start()
    task = asyncio.ensure_future(commands())
    await done.wait()
    task.cancel()
    return 0


def main():
    args = sys.argv[1:]
    use_async = '--async' in args
    args = [a for a in args if a != '--async']
    if not args:
        print('usage: python client.py [--async] URL [JSON-OPTIONS]',
              file=sys.stderr)
        return 2
    url = args[0]
    opts = json.loads(args[1]) if len(args) > 1 else {}
    if use_async:
        return asyncio.run(run_async(url, opts))
    return run_sync(url, opts)


if __name__ == '__main__':
    code = main()
    sys.stdout.flush()
    # Skip interpreter teardown: python-engineio's threads and aiohttp
    # sessions can keep a normal exit waiting.
    os._exit(code)
