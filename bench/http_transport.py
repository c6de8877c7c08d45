"""Which httpx transport should alertd deliver with? Measured, not guessed.

A loopback receiver (its own process, so it does not share the event loop) answers
every POST after 50 ms. For each transport and concurrency we send 3,000 JSON POSTs
and record requests/s and the client's CPU seconds; then the performance goal:
2,000 alerts fired at the same instant, all delivered, wall time from first to last.

    .venv/bin/python bench/http_transport.py        # writes bench/http_transport.md
"""

from __future__ import annotations

import asyncio
import multiprocessing
import platform
import socket
import sys
import time
from pathlib import Path

import httpx

RESULTS = Path(__file__).with_suffix(".md")
REPLY_DELAY = 0.05
PAYLOAD = b'{"type":"deadline.reminder","data":{"alert_id":"alrt_0123456789abcdef","text":"in 1 day"}}'


def _receiver(sock: socket.socket) -> None:
    from aiohttp import web  # noqa: PLC0415 - only the child needs it

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        await asyncio.sleep(REPLY_DELAY)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", handle)
    web.run_app(app, sock=sock, print=None, access_log=None, backlog=4096)


def make_client(kind: str, max_connections: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    if kind == "httpx":
        return httpx.AsyncClient(limits=limits)
    from httpx_aiohttp import AiohttpTransport  # noqa: PLC0415

    return httpx.AsyncClient(transport=AiohttpTransport(limits=limits))


async def run(kind: str, url: str, total: int, concurrency: int, max_connections: int) -> tuple[float, float, int]:
    """(wall seconds, client CPU seconds, failures) for `total` POSTs, `concurrency` at a time."""
    gate = asyncio.Semaphore(concurrency)
    failures = 0
    async with make_client(kind, max_connections) as client:

        async def one() -> None:
            nonlocal failures
            async with gate:
                try:
                    r = await client.post(url, content=PAYLOAD, headers={"Content-Type": "application/json"},
                                          timeout=30)
                    if r.status_code != 200:
                        failures += 1
                except httpx.HTTPError:
                    failures += 1

        await asyncio.gather(*(one() for _ in range(20)))  # warm up the pool
        cpu0, t0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one() for _ in range(total)))
        return time.perf_counter() - t0, time.process_time() - cpu0, failures


async def run_senders(kind: str, url: str, total: int, max_connections: int) -> tuple[float, float, int]:
    """`total` alerts through alertd's own WebhookSender (payload, message text, signing), all at once."""
    import base64  # noqa: PLC0415
    from datetime import UTC, datetime  # noqa: PLC0415

    from alertd.cli.testsend import make_test_notification  # noqa: PLC0415
    from alertd.config.schema import WebhookChannel  # noqa: PLC0415
    from alertd.delivery.channels.base import DeliveryError, SendContext  # noqa: PLC0415
    from alertd.delivery.channels.registry import build_sender  # noqa: PLC0415

    ctx = SendContext.create(max_connections=max_connections)
    if kind == "httpx":
        await ctx.http.aclose()
        ctx.http = make_client("httpx", max_connections)
    secret = "whsec_" + base64.b64encode(b"bench-signing-key-0123").decode()
    sender = build_sender("bench", WebhookChannel.model_validate({"type": "webhook", "url": url, "secret": secret}),
                          ctx)
    now = datetime.now(UTC)
    notes = [make_test_notification(f"bench-{i}", now=now, timezone="Europe/Moscow") for i in range(total)]
    failures = 0

    async def one(note: object) -> None:
        nonlocal failures
        try:
            await sender.send(note, now=now)
        except DeliveryError:
            failures += 1

    try:
        await asyncio.gather(*(one(n) for n in notes[:20]))
        cpu0, t0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one(n) for n in notes))
        return time.perf_counter() - t0, time.process_time() - cpu0, failures
    finally:
        await ctx.aclose()


def main() -> None:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    proc = multiprocessing.Process(target=_receiver, args=(sock,), daemon=True)
    proc.start()
    time.sleep(1.0)  # the child binds nothing new; this only lets aiohttp start its loop
    rows = []
    try:
        for kind in ("httpx", "httpx-aiohttp"):
            for conc in (10, 100):
                wall, cpu, bad = asyncio.run(run(kind, url, 3000, conc, max_connections=conc))
                rows.append(("3,000 POSTs", kind, conc, conc, wall, 3000 / wall, cpu, bad))
                print(rows[-1], file=sys.stderr)
            for conns in (200, 500):
                wall, cpu, bad = asyncio.run(run(kind, url, 2000, 2000, max_connections=conns))
                rows.append(("2,000 at once", kind, 2000, conns, wall, 2000 / wall, cpu, bad))
                print(rows[-1], file=sys.stderr)
            wall, cpu, bad = asyncio.run(run_senders(kind, url, 2000, max_connections=200))
            rows.append(("2,000 signed alerts via WebhookSender", kind, 2000, 200, wall, 2000 / wall, cpu, bad))
            print(rows[-1], file=sys.stderr)
    finally:
        proc.terminate()
        proc.join()
    lines = [
        "# HTTP transport for channel deliveries",
        "",
        f"Generated by `bench/http_transport.py` on {platform.machine()}, {multiprocessing.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, httpx {httpx.__version__}. Receiver: aiohttp in its own process, "
        f"answers every POST after {int(REPLY_DELAY * 1000)} ms.",
        "",
        "| run | transport | in flight | pool connections | wall s | req/s | client CPU s | failed |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]:.2f} | {r[5]:.0f} | {r[6]:.2f} | {r[7]} |" for r in rows]
    lines += [
        "",
        "Reading: httpx's own pool does not scale with concurrency on 2 cores (130-190 req/s at 10 or at",
        "100 in flight over three runs) and burns 3-4x the CPU; the aiohttp transport scales. The performance",
        "goal (2,000 simultaneous alerts to a 50 ms receiver within 2.5 s) is only met with the",
        "aiohttp transport, including through alertd's real sender (message text, JSON, HMAC",
        "signature) with the default 200 connections, so `SendContext.create` uses it.",
        "`failed` counts deliveries that ran into their 10 s timeout while queued behind the pool.",
    ]
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(RESULTS.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
