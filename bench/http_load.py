"""Scenario `http`: do hostile HTTP clients delay alerts? Lateness of a burst with and without load.

One `alertd run` with its HTTP surface on (ALERTD_HTTP_ADDR=127.0.0.1:0, a token) and 1,000
background deadlines, and three bursts of N alerts to a loopback webhook answering in 50 ms: with
nobody connected (quiet); while the load below is aimed at a decoy server (contention: the same
CPU taken from the machine, nothing asked of alertd); while it is aimed at alertd (loaded). Load:
500 slow-loris clients that send half a request head and reconnect when the server closes it, and
500 clients fetching the status page and the API's deadlines as fast as they are answered. The
load runs in a process of its own (asyncio) on the same 2 cores. Lateness is the receiver's arrival time
minus the alert's instant: first, median and last of the burst.

    python bench/http_load.py [--burst 200] [--runs 1]   # measures, then rewrites its RESULTS.md section
`make bench` runs it too (bench/run.py, scenario `http`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is not a package

import aiohttp
import gen
from harness import BENCH, SCALE_START, WORK, alertd_command, fmt, loadavg, spawn_until_ready
from receiver import Receiver

TOKEN = "bench-token-" + "9c1f0e3b5a7d2468"
HEADING = "## HTTP surface: alert lateness under 1,000 hostile connections"
LORIS = 500
BURST = 200
BUSY = 500


def write_config(directory: Path, url: str, bursts: dict[str, datetime], n: int) -> Path:
    rows = gen.deadline_rows(1000, start=SCALE_START, seed=6)
    for name, at in bursts.items():
        rows += [{"id": f"{name}-{i:04d}", "title": f"{name} {i}", "due": gen.rfc3339(at), "timezone": "UTC",
                  "desk": name} for i in range(n)]
    gen.write_alertd(directory, rows, per_file=1000, channel_yaml=gen.webhook_yaml(url), remind=("0",))
    return directory


class Decoy:
    """A plain aiohttp server in a process of its own that answers every GET with a 20 KB page: the
    load aimed at it costs the machine the same CPU without touching alertd."""

    def __enter__(self) -> Decoy:
        self.child = subprocess.Popen([sys.executable, __file__, "--decoy"], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True)
        assert self.child.stdout is not None
        self.url = f"http://127.0.0.1:{int(self.child.stdout.readline())}"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.child.stdin is not None
        self.child.stdin.close()
        self.child.wait(30)

    @staticmethod
    def serve() -> None:
        from aiohttp import web  # noqa: PLC0415 - only the decoy's process serves

        page = "<!doctype html><p>" + "decoy " * 3500

        async def main() -> None:
            app = web.Application()
            app.router.add_get("/{tail:.*}", lambda _: web.Response(text=page, content_type="text/html"))
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
            await site.start()
            print(runner.addresses[0][1], flush=True)
            await asyncio.to_thread(sys.stdin.read)
            await runner.cleanup()

        asyncio.run(main())


class Load:
    """1,000 clients in a process of their own (so they do not share this one's interpreter with the
    receiver that times the alerts); `stats` when it has stopped."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.port = int(url.rsplit(":", 1)[1])
        self.stop = threading.Event()
        self.stats = {"requests": 0, "errors": 0, "loris_connections": 0}
        self.child: subprocess.Popen[str] | None = None

    def __enter__(self) -> Load:
        self.child = subprocess.Popen([sys.executable, __file__, "--load", self.url], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.child is not None and self.child.stdin is not None and self.child.stdout is not None
        self.child.stdin.close()  # the signal to stop
        out = self.child.stdout.read()
        self.child.wait(60)
        self.stats = json.loads(out.strip().splitlines()[-1])

    def serve(self) -> None:
        """In the child: run until standard input closes, then print the counts."""
        threading.Thread(target=lambda: (sys.stdin.read(), self.stop.set()), daemon=True).start()
        asyncio.run(self._main())
        print(json.dumps(self.stats), flush=True)

    async def _main(self) -> None:
        connector = aiohttp.TCPConnector(limit=BUSY)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
            tasks = [asyncio.create_task(self._loris()) for _ in range(LORIS)]
            tasks += [asyncio.create_task(self._busy(session, i)) for i in range(BUSY)]
            await asyncio.to_thread(self.stop.wait)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _loris(self) -> None:
        while not self.stop.is_set():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                self.stats["loris_connections"] += 1
                writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                while not self.stop.is_set():
                    try:
                        if not await asyncio.wait_for(reader.read(1024), 1.0):
                            break  # the server closed it: connect again
                    except TimeoutError:
                        writer.write(b"a")  # a byte a second, never the end of the head
                writer.close()
            except OSError:
                await asyncio.sleep(0.1)

    async def _busy(self, session: aiohttp.ClientSession, i: int) -> None:
        path = "/" if i % 2 else "/api/v1/deadlines?limit=50"
        while not self.stop.is_set():
            try:
                async with session.get(self.url + path) as resp:
                    await resp.read()
                    self.stats["requests" if resp.status == 200 else "errors"] += 1
            except (aiohttp.ClientError, OSError, TimeoutError):
                self.stats["errors"] += 1
                await asyncio.sleep(0.05)


def _sleep_until(t: float) -> None:
    while time.time() < t:
        time.sleep(0.2)


def lateness(arrived: list[float], at: datetime, n: int) -> dict[str, Any]:
    t = at.timestamp()
    late = sorted(a - t for a in arrived if t - 1 <= a <= t + 120)[:n]
    return {"delivered": len(late), "first": late[0] if late else None,
            "median": statistics.median(late) if late else None, "last": late[-1] if late else None,
            "early": sum(1 for x in late if x < 0)}


PHASES = ("quiet", "contention", "loaded")  # no load; the load aimed at the decoy; the load aimed at alertd


def measure(n: int) -> dict[str, Any]:
    with Receiver(delay=0.05) as receiver, Decoy() as decoy:
        start = int(time.time())
        bursts = {name: datetime.fromtimestamp(start + 25 + 40 * i, UTC) for i, name in enumerate(PHASES)}
        WORK.mkdir(parents=True, exist_ok=True)
        config = write_config(WORK / "http-load", receiver.url, bursts, n)
        os.environ |= {"ALERTD_HTTP_ADDR": "127.0.0.1:0", "ALERTD_API_TOKEN": TOKEN}  # for the spawned daemon
        try:
            spawned, run = spawn_until_ready(lambda _: alertd_command(config), timeout=20)
        finally:
            for key in ("ALERTD_HTTP_ADDR", "ALERTD_API_TOKEN"):
                os.environ.pop(key, None)
        out: dict[str, Any] = {}
        try:
            if run.ready is None:
                return {"note": run.note}
            log = (spawned.tmp / "output.log").read_text()
            url = json.loads(next(line for line in log.splitlines() if "http.listening" in line))["url"].rstrip("/")
            for name, at in bursts.items():
                target = {"contention": decoy.url, "loaded": url}.get(name)
                if target is None:
                    _sleep_until(at.timestamp() + 15)
                    out[name] = lateness(receiver.arrived, at, n)
                    continue
                _sleep_until(at.timestamp() - 20)
                with Load(target) as load:  # from 20 s before the burst to 15 s after it
                    _sleep_until(at.timestamp() + 15)
                out[name] = lateness(receiver.arrived, at, n) | {"load": load.stats}
        finally:
            spawned.close()
    return out


def run(runs: int, n: int) -> dict[str, Any]:
    return {"burst": n, "runs_by": [measure(n) for _ in range(runs)]}


def render(section: dict[str, Any]) -> tuple[list[str], list[str]]:
    n = section["burst"]
    lines = [HEADING, "",
             f"Measured {section['date']}, `{section['command']}`, {section['runs']} run(s); load average at start / "
             f"end: {section['load']}.", "",
             f"One `alertd run` (1,000 background deadlines, HTTP surface on) and three bursts of {n} alerts to a "
             "loopback webhook answering in 50 ms, 40 s apart: **quiet** (no client); **contention** (the load below, "
             "aimed at a decoy server: the same CPU taken from the machine, nothing asked of alertd); **loaded** (the "
             "load aimed at alertd). The load, from a process of its own on the same 2 cores from 20 s before the "
             "burst: 500 slow-loris clients sending half a head a byte a second and reconnecting when closed, 500 "
             "clients fetching `/` and `/api/v1/deadlines` without pause. Lateness = arrival at the receiver minus "
             "the alert's instant.", "",
             "| run | burst | delivered | first | median | last | requests answered (errors) | slow-loris conns |",
             "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    notes = []
    for i, r in enumerate(section["runs_by"], 1):
        if "note" in r:
            notes.append(f"http run {i}: {r['note']}")
            continue
        for name in PHASES:
            x = r[name]
            load = x.get("load")
            answered = f"{load['requests']:,} ({load['errors']:,})" if load else "-"
            loris = f"{load['loris_connections']:,}" if load else "-"
            lines.append(f"| {i} | {name} | {x['delivered']}/{n} | {fmt(x['first'], 's', 3)} | "
                         f"{fmt(x['median'], 's', 3)} | {fmt(x['last'], 's', 3)} | {answered} | {loris} |")
    return [*lines, ""], notes


def splice(text: str, section: list[str]) -> str:
    """RESULTS.md with this scenario's section replaced (or put before "Not measured")."""
    block = "\n".join(section).rstrip() + "\n\n"
    pattern = re.compile(re.escape(HEADING) + r".*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        return pattern.sub(lambda _: block, text)
    marker = text.find("## Not measured")
    return text[:marker] + block + text[marker:] if marker >= 0 else text.rstrip() + "\n\n" + block


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--burst", type=int, default=BURST)
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--load", metavar="URL", help=argparse.SUPPRESS)  # the load's own process
    p.add_argument("--decoy", action="store_true", help=argparse.SUPPRESS)  # the decoy's own process
    args = p.parse_args(argv)
    if args.load:
        Load(args.load).serve()
        return 0
    if args.decoy:
        Decoy.serve()
        return 0
    started, load = datetime.now(UTC), loadavg()
    section = run(args.runs, args.burst)
    section |= {"date": f"{started:%Y-%m-%d %H:%M} UTC", "load": f"{load} / {loadavg()}",
                "command": "bench/http_load.py " + " ".join(argv if argv is not None else sys.argv[1:]),
                "runs": args.runs}
    lines, notes = render(section)
    print("\n".join(lines + notes))
    results = BENCH / "RESULTS.md"
    results.write_text(splice(results.read_text(encoding="utf-8"), lines), encoding="utf-8")
    print(f"written to {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
