"""Bounds against hostile clients: connection cap, slow heads, huge heads and bodies, and 1,000
open connections while an alert is due (it is still delivered; its lateness is measured in
bench/http_load.py)."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from datetime import UTC, datetime, timedelta

from aiohttp import web

from alertd.web.guard import GUARD, Guard, guard_middleware
from tests.daemon.conftest import iso, just_passed, parse_instant, wait_until


async def _hello(request: web.Request) -> web.Response:
    return web.Response(text="hello")


async def _serve(guard: Guard) -> tuple[web.AppRunner, asyncio.Server, int]:
    app = web.Application(middlewares=[guard_middleware])
    app[GUARD] = guard
    app.router.add_get("/", _hello)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    guard.factory = runner.server
    server = await asyncio.get_running_loop().create_server(guard, "127.0.0.1", 0)
    return runner, server, server.sockets[0].getsockname()[1]


async def _closed(reader: asyncio.StreamReader) -> bool:
    try:
        async with asyncio.timeout(10):
            return await reader.read() == b""
    except ConnectionResetError:
        return True


def test_connections_over_the_limit_are_closed_unread():
    async def main() -> None:
        guard = Guard(limit=3, head_seconds=30)
        runner, server, port = await _serve(guard)
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
        await asyncio.sleep(0.1)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await _closed(reader)
        assert guard.refused == 1 and len(guard.open) == 3
        for _, w in held:
            w.close()
        await asyncio.sleep(0.2)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)  # room again
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"hello" in await reader.read(1000)
        writer.close()
        server.close()
        await runner.cleanup()

    asyncio.run(main())


def test_a_slow_head_and_an_idle_connection_are_closed():
    async def main() -> None:
        guard = Guard(limit=100, head_seconds=0.5)
        runner, server, port = await _serve(guard)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the end of the head
        assert await _closed(reader)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"hello" in await reader.readuntil(b"hello")
        assert await _closed(reader)  # kept alive, then idle past the head time
        assert guard.timed_out == 2 and not guard.open
        server.close()
        await runner.cleanup()

    asyncio.run(main())


def test_huge_heads_and_bodies_are_refused_without_growing(served):
    s = served([just_passed("report")])
    with s.client() as c:
        assert c.get("/api/v1/deadlines", headers={"X-Big": "x" * 20_000}).status_code in (400, 431)
        many = {f"X-H{i}": "1" for i in range(200)}
        assert c.get("/api/v1/deadlines", headers=many).status_code in (400, 431)
    rss = lambda: int(next(line for line in open(f"/proc/{s.daemon.proc.pid}/status")  # noqa: E731, SIM115
                           if line.startswith("VmRSS")).split()[1]) * 1024
    before = rss()
    port = int(s.url.rsplit(":", 1)[1])
    for _ in range(3):  # 3 x 64 MB bodies announced and sent: refused with 413, not buffered
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(b"POST /api/v1/deadlines/report/ack HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Authorization: Bearer " + s.token.encode() + b"\r\n"
                         b"Content-Type: application/json\r\nContent-Length: 67108864\r\n\r\n")
            sent = 0
            try:
                while sent < 67108864:
                    sock.sendall(b" " * 65536)
                    sent += 65536
            except (BrokenPipeError, ConnectionResetError):
                pass
            answer = sock.recv(200)
            assert b"413" in answer or answer == b"", answer
    assert rss() - before < 32 * 1024 * 1024
    with s.client() as c:
        assert c.get("/api/v1/deadlines/report").json()["state"] == "open"  # nothing acted


def test_an_alert_is_delivered_while_1000_connections_hang(served, receiver):
    s = served([just_passed("warmup")])
    s.daemon.wait_event("alert.sent", timeout=60)
    port = int(s.url.rsplit(":", 1)[1])
    socks = []
    try:
        for i in range(1000):
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + str(i).encode())  # never ends
            socks.append(sock)
        config = s.daemon.log_path.parent / "config" / "alertd.yaml"
        doc = json.loads(config.read_text())
        due = datetime.now(UTC) + timedelta(seconds=6)
        doc["deadlines"].append({"id": "under-load", "title": "Under load", "due": iso(due), "remind": ["0"]})
        config.write_text(json.dumps(doc))
        s.daemon.reload()
        post = wait_until(lambda: next((p for p in receiver.posts if p["json"]["data"]["deadline"]["id"]
                                        == "under-load"), None), timeout=60, what="the alert under load")
        assert post["at"] >= parse_instant(iso(due)) - 0.001
        with s.client(auth=False) as c:
            assert c.get("/healthz").status_code == 200
    finally:
        for sock in socks:
            sock.close()
    time.sleep(0.1)
