"""What following acks costs a running daemon, and how soon it applies one.

Usage: python bench/state_probe.py [--deadlines 100000] [--seconds 20] [--runs 2] [--acks 10]

1. The probe alone: `Ledger.changed()` (PRAGMA data_version) timed over 100,000 calls.
2. Idle CPU of `alertd run` with N deadlines a month ahead (nothing fires) over `--seconds` after
   `daemon.ready` (+1 s), for alertd before this feature (git archive of BASE_REV, same venv) and
   this tree, alternated `--runs` times each: user+system CPU from /proc/PID/stat as bench/run.py
   reads it (10 ms ticks), and the run time of all its threads from /proc/PID/task/*/schedstat
   (nanoseconds: the ticks are too coarse for a difference of milliseconds).
3. Apply latency: this tree's daemon with the same N deadlines plus one overdue deadline repeating
   every 2 s; `alertd ack` and `alertd reopen` run as real commands `--acks` times; each `state.applied`
   event's `lag_ms` is the daemon's clock when it applied the action minus the action's recorded time
   (stamped by the command just before its write transaction).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from alertd.store.ledger import LEDGER_FILE, Ledger  # noqa: E402 - after the path is set
from bench.watch_idle import cpu_seconds, write_config  # noqa: E402

BASE_REV = "ebbc264"  # alertd before acknowledge/repeat/escalate (no store probe on the tick)


def probe_cost(tmp: Path, calls: int = 100_000) -> float:
    """Microseconds per `changed()` call on an idle ledger."""
    with Ledger.open(tmp / "probe" / LEDGER_FILE) as ledger:
        t0 = time.perf_counter()
        for _ in range(calls):
            ledger.changed()
        return (time.perf_counter() - t0) / calls * 1e6


def start(config: Path, state: Path, pythonpath: Path, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALERTD_", "NOTIFY_"))}
    env |= {"ALERTD_STATE_DIR": str(state), "ALERTD_LOG_FORMAT": "json", "PYTHONPATH": str(pythonpath)}
    out = log.open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "alertd.cli", "run", "-c", str(config)], cwd=pythonpath, env=env,
                            stdout=out, stderr=subprocess.STDOUT)
    while b"daemon.ready" not in log.read_bytes():
        if proc.poll() is not None:
            raise SystemExit(log.read_text())
        time.sleep(0.1)
    return proc


def run_ns(pid: int) -> int:
    """Nanoseconds on a CPU, all threads of `pid` together (the scheduler's own account)."""
    return sum(int((task / "schedstat").read_text().split()[0]) for task in Path(f"/proc/{pid}/task").iterdir())


def idle(config: Path, state: Path, pythonpath: Path, seconds: float) -> tuple[float, float]:
    """(CPU seconds from /proc/PID/stat, CPU seconds from schedstat) over the idle window."""
    proc = start(config, state, pythonpath, state.parent / f"{state.name}.log")
    try:
        time.sleep(1)  # let start-up's tail (gc, first ticks) pass
        ticks, ns = cpu_seconds(proc.pid), run_ns(proc.pid)
        time.sleep(seconds)
        return cpu_seconds(proc.pid) - ticks, (run_ns(proc.pid) - ns) / 1e9
    finally:
        proc.terminate()
        proc.wait(30)


def base_tree(tmp: Path) -> Path:
    target = tmp / "base"
    target.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", BASE_REV, "alertd"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


def latency(config: Path, tmp: Path, acks: int) -> list[float]:
    due = datetime.now(UTC) - timedelta(seconds=5)
    (config / "overdue.yaml").write_text(json.dumps({"deadlines": [
        {"id": "bench-overdue", "title": "Overdue", "due": due.strftime("%Y-%m-%dT%H:%M:%SZ"), "remind": ["0"],
         "repeat": "2s", "repeat_for": "1h"}]}))
    state = tmp / "state-latency"
    with Ledger.open(state / LEDGER_FILE) as ledger:  # seen while ahead, as a running daemon would have
        ledger.see([("bench-overdue", due.replace(microsecond=0))], now=due - timedelta(hours=1))
    log = tmp / "latency.log"
    proc = start(config, state, REPO, log)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTD_")} | {"ALERTD_STATE_DIR": str(state)}
    try:
        for i in range(acks):
            act = "ack" if i % 2 == 0 else "reopen"
            subprocess.run([sys.executable, "-m", "alertd.cli", act, "bench-overdue", "-c", str(config)], env=env,
                           cwd=REPO, check=True, capture_output=True)
            while log.read_text().count('"state.applied"') < i + 1:
                time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(30)
        (config / "overdue.yaml").unlink()
    events = [json.loads(line) for line in log.read_text().splitlines() if '"state.applied"' in line]
    return [e["lag_ms"] for e in events]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deadlines", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--acks", type=int, default=10)
    args = parser.parse_args()
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        print(f"changed() (PRAGMA data_version): {probe_cost(tmp):.2f} µs per call", flush=True)
        config = tmp / "config"
        config.mkdir()
        write_config(config, args.deadlines, args.files)
        base = base_tree(tmp)
        got: dict[str, list[float]] = {}
        for run in range(args.runs):
            trees = ((f"before ({BASE_REV})", base), ("this tree", REPO))
            for label, tree in trees if run % 2 == 0 else trees[::-1]:  # alternate who goes first
                ticks, exact = idle(config, tmp / f"state-{run}-{tree.name}", tree, args.seconds)
                got.setdefault(label, []).append(exact)
                print(f"idle CPU, {args.deadlines} deadlines, {label:>16}: {ticks:.3f} s (/proc ticks), "
                      f"{exact:.4f} s (schedstat) per {args.seconds:g} s", flush=True)
        for label, values in got.items():
            print(f"  {label:>16}: median {statistics.median(values):.4f} s, "
                  f"min {min(values):.4f}, max {max(values):.4f} (schedstat)", flush=True)
        lags = latency(config, tmp, args.acks)
        print(f"apply latency over {len(lags)} acks/reopens (ms): min {min(lags):.0f}, median "
              f"{statistics.median(lags):.0f}, max {max(lags):.0f}; all: {', '.join(f'{x:.0f}' for x in lags)}",
              flush=True)


if __name__ == "__main__":
    main()
