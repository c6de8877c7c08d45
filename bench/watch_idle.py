"""Idle CPU of `alertd run` with 100,000 deadlines in 100 files, with and without --watch.

Usage: python bench/watch_idle.py [--seconds 20] [--deadlines 100000] [--files 100]
Starts the daemon (console channel, deadlines a month ahead, so nothing fires), waits for
`daemon.ready`, then reads the process's user+system CPU time from /proc over the window.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from alertd.daemon.watch import snapshot  # noqa: E402 - after the path is set

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def write_config(directory: Path, deadlines: int, files: int) -> None:
    base = datetime.now(UTC) + timedelta(days=30)
    per = deadlines // files
    (directory / "channels.yaml").write_text("channels: {out: {type: console}}\ndefaults: {channels: [out]}\n")
    for f in range(files):
        team = directory / f"team{f % 10}"
        team.mkdir(exist_ok=True)
        items = [{"id": f"d{f}-{i}", "title": f"Deadline {f}-{i}",
                  "due": (base + timedelta(minutes=f * per + i)).strftime("%Y-%m-%dT%H:%M:%SZ")}
                 for i in range(per)]
        (team / f"deadlines-{f:03d}.yaml").write_text(json.dumps({"deadlines": items}))


def measure(config: Path, state: Path, seconds: float, watch: str | None) -> tuple[float, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALERTD_", "NOTIFY_"))}
    env |= {"ALERTD_STATE_DIR": str(state), "ALERTD_LOG_FORMAT": "json"}
    args = [sys.executable, "-m", "alertd.cli", "run", "-c", str(config), *(["--watch", watch] if watch else [])]
    log = state.parent / f"daemon-{watch or 'nowatch'}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        t0 = time.monotonic()
        while b"daemon.ready" not in log.read_bytes():
            if proc.poll() is not None:
                raise SystemExit(log.read_text())
            time.sleep(0.1)
        start_up = time.monotonic() - t0
        time.sleep(1)  # let start-up's tail (gc, first ticks) pass
        before = cpu_seconds(proc.pid)
        time.sleep(seconds)
        used = cpu_seconds(proc.pid) - before
        proc.terminate()
        proc.wait(30)
    return start_up, used


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--deadlines", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--watch", default="2s")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config"
        config.mkdir()
        write_config(config, args.deadlines, args.files)
        t0 = time.process_time()
        for _ in range(1000):
            snapshot(config)
        print(f"one poll (snapshot of {args.files + 1} files): {(time.process_time() - t0):.3f} ms CPU", flush=True)
        for watch in (None, args.watch, None, args.watch):
            state = Path(tmp) / f"state-{watch}-{time.monotonic_ns()}"
            start_up, used = measure(config, state, args.seconds, watch)
            print(f"watch={watch or 'off':>5}  start-up {start_up:5.1f} s  idle CPU {used:.3f} s "
                  f"per {args.seconds:g} s", flush=True)


if __name__ == "__main__":
    main()
