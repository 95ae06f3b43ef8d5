#!/usr/bin/env python3
"""cutproxy: a loopback TCP proxy that can drop connections on demand, so a test can
show what a client does when the network cuts a long-lived stream (an SSE stream
resuming with Last-Event-ID).  Used by tests/integration/browser.sh.

  cutproxy.py TARGET_PORT     prints "listening on 127.0.0.1:PORT"
  kill -USR1 PID              closes every proxied connection whose latest request
                              line contains "/events" (the SSE streams), both sides
  kill PID                    stops it, exit status 0 (as the test's servers do)
"""
import asyncio
import re
import signal
import sys

TARGET = int(sys.argv[1])
conns = []  # dicts: line (latest request line), cw, sw
REQ = re.compile(rb"(?:^|\r\n)(?:GET|POST|HEAD|PUT|DELETE) [^\r\n]* HTTP/1\.[01]\r\n")


async def pipe(reader, writer, entry=None):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if entry is not None:  # client -> server: remember the latest request
                for m in REQ.finditer(data):
                    entry["line"] = m.group(0).strip().decode("latin-1")
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def handle(creader, cwriter):
    try:
        sreader, swriter = await asyncio.open_connection("127.0.0.1", TARGET)
    except OSError:
        cwriter.close()
        return
    entry = {"line": "", "cw": cwriter, "sw": swriter}
    conns.append(entry)
    await asyncio.gather(pipe(creader, swriter, entry), pipe(sreader, cwriter))
    if entry in conns:
        conns.remove(entry)


def cut():
    n = 0
    for e in list(conns):
        if "/events" in e["line"]:
            for w in (e["cw"], e["sw"]):
                if w.transport:
                    w.transport.abort()
            conns.remove(e)
            n += 1
    print(f"cut {n} streams", flush=True)


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(f"listening on 127.0.0.1:{port}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, cut)
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()


asyncio.run(main())
