"""Scenario `http`: do hostile HTTP clients delay alerts? Lateness of a burst with and without load.

One `alertd run` with its HTTP surface on (ALERTD_HTTP_ADDR=127.0.0.1:0, a token) and 1,000
background deadlines, and two bursts of N alerts to a loopback webhook answering in 50 ms: the
first with nobody connected (quiet), the second while 1,000 clients hold connections (loaded):
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


def write_config(directory: Path, url: str, quiet: datetime, loaded: datetime, n: int) -> Path:
    rows = gen.deadline_rows(1000, start=SCALE_START, seed=6)
    for name, at in (("quiet", quiet), ("loaded", loaded)):
        rows += [{"id": f"{name}-{i:04d}", "title": f"{name} {i}", "due": gen.rfc3339(at), "timezone": "UTC",
                  "desk": name} for i in range(n)]
    gen.write_alertd(directory, rows, per_file=1000, channel_yaml=gen.webhook_yaml(url), remind=("0",))
    return directory


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


def measure(n: int) -> dict[str, Any]:
    with Receiver(delay=0.05) as receiver:
        now = time.time()
        quiet = datetime.fromtimestamp(int(now) + 25, UTC)
        loaded = datetime.fromtimestamp(int(now) + 60, UTC)
        WORK.mkdir(parents=True, exist_ok=True)
        config = write_config(WORK / "http-load", receiver.url, quiet, loaded, n)
        os.environ |= {"ALERTD_HTTP_ADDR": "127.0.0.1:0", "ALERTD_API_TOKEN": TOKEN}  # for the spawned daemon
        try:
            spawned, run = spawn_until_ready(lambda _: alertd_command(config), timeout=20)
        finally:
            for key in ("ALERTD_HTTP_ADDR", "ALERTD_API_TOKEN"):
                os.environ.pop(key, None)
        try:
            if run.ready is None:
                return {"note": run.note}
            log = (spawned.tmp / "output.log").read_text()
            url = json.loads(next(line for line in log.splitlines() if "http.listening" in line))["url"].rstrip("/")
            _sleep_until(quiet.timestamp() + 15)  # the quiet burst is delivered
            quiet_result = lateness(receiver.arrived, quiet, n)
            with Load(url) as load:  # from 20 s before the loaded burst to 20 s after it
                _sleep_until(loaded.timestamp() + 20)
            stats = load.stats
            loaded_result = lateness(receiver.arrived, loaded, n)
        finally:
            spawned.close()
    return {"quiet": quiet_result, "loaded": loaded_result, "load": stats, "load_seconds": 40}


def run(runs: int, n: int) -> dict[str, Any]:
    return {"burst": n, "runs_by": [measure(n) for _ in range(runs)]}


def render(section: dict[str, Any]) -> tuple[list[str], list[str]]:
    n = section["burst"]
    lines = [HEADING, "",
             f"Measured {section['date']}, `{section['command']}`, {section['runs']} run(s); load average at start / "
             f"end: {section['load']}.", "",
             f"One `alertd run` (1,000 background deadlines, HTTP surface on), two bursts of {n} alerts to a loopback "
             "webhook answering in 50 ms: quiet (no client), then loaded (500 slow-loris clients sending half a "
             "head and reconnecting, 500 clients fetching `/` and `/api/v1/deadlines` without pause, from a "
             "process of their own on the same 2 cores). Lateness = arrival at the receiver minus the alert's "
             "instant.", "",
             "| run | burst | delivered | first | median | last | requests answered (errors) | slow-loris conns |",
             "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    notes = []
    for i, r in enumerate(section["runs_by"], 1):
        if "note" in r:
            notes.append(f"http run {i}: {r['note']}")
            continue
        for name in ("quiet", "loaded"):
            x = r[name]
            load = r["load"]
            answered = f"{load['requests']:,} ({load['errors']:,})" if name == "loaded" else "-"
            loris = f"{load['loris_connections']:,}" if name == "loaded" else "-"
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
    args = p.parse_args(argv)
    if args.load:
        Load(args.load).serve()
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
