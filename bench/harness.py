"""The bench's shared harness: generated configs, processes under a NOTIFY_SOCKET, /proc, medians.

Every scenario file (check.py, ready.py, burst.py, compare.py) measures through these (and
trees.py for alertd at another revision); run.py is the command line and writes RESULTS.md.
bench/ is not a package: its files import each other from beside them (run.py and the tests
put bench/ on sys.path).
"""

from __future__ import annotations

import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import gen

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORK = BENCH / "work"  # git-ignored: absent from a fresh clone, made on first use
SCALE_START = date(2030, 1, 1)  # generated deadlines fire from here on: nothing is due while we measure
CLK_TCK = os.sysconf("SC_CLK_TCK")

# --- pure parts (tested in tests/test_bench.py) -------------------------------------------


def parse_proc_stat(text: str) -> dict[str, float]:
    """CPU seconds (user, system) and thread count from the text of /proc/PID/stat.

    `cpu` includes the children the process has waited for (cutime, cstime): alertd's config
    reader helper is a forked child, and its work is part of getting ready.
    """
    rest = text[text.rindex(")") + 2:].split()  # comm may hold spaces and parens; fields start at 3
    utime, stime = int(rest[11]), int(rest[12])  # fields 14 and 15
    cutime, cstime = int(rest[13]), int(rest[14])  # fields 16 and 17
    return {"user": utime / CLK_TCK, "system": stime / CLK_TCK,
            "cpu": (utime + stime + cutime + cstime) / CLK_TCK, "threads": int(rest[17])}  # field 20


def parse_proc_status(text: str) -> dict[str, int]:
    """Memory figures in bytes (VmRSS, VmHWM, ...) from the text of /proc/PID/status."""
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        parts = value.split()
        if key.startswith("Vm") and len(parts) == 2 and parts[1] == "kB":
            out[key] = int(parts[0]) * 1024
    return out


def median(values: Sequence[float | None]) -> float | None:
    """The median of the measured values; None when none was measured."""
    measured = [v for v in values if v is not None]
    return statistics.median(measured) if measured else None


def ratio(baseline: float | None, alertd: float | None) -> str:
    if baseline is None or alertd is None or alertd <= 0:
        return "n/a"
    return f"{baseline / alertd:.1f}x"


def fmt(value: float | None, unit: str = "s", digits: int = 2) -> str:
    if value is None:
        return "not measured"
    if unit == "MB":
        return f"{value / 1e6:.0f} MB"
    if unit == "ms":
        return f"{value * 1000:.0f} ms"
    return f"{value:.{digits}f} {unit}".strip()


def cpu_model(cpuinfo: str) -> str:
    for line in cpuinfo.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


# --- the machine and the configs ----------------------------------------------------------


def machine() -> dict[str, str]:
    try:
        model = cpu_model(Path("/proc/cpuinfo").read_text())
    except OSError:
        model = "unknown"
    return {"nproc": str(os.cpu_count()), "cpu": model, "python": platform.python_version()}


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def prepare(n: int) -> Path:
    """The generated scale config for N deadlines (kept between runs: it is deterministic)."""
    directory = WORK / f"gen-{n}"
    stamp = directory / "stamp"
    key = f"{n} {SCALE_START} {(BENCH / 'gen.py').stat().st_mtime_ns}"
    if not (stamp.exists() and stamp.read_text() == key):
        gen.generate(directory, n, start=SCALE_START)
        stamp.write_text(key)
    return directory


# --- processes --------------------------------------------------------------------------


def proc(pid: int) -> dict[str, float]:
    stat = parse_proc_stat(Path(f"/proc/{pid}/stat").read_text())
    stat.update(parse_proc_status(Path(f"/proc/{pid}/status").read_text()))
    return stat


class NotifyListener:
    """A unix datagram socket standing in for systemd's $NOTIFY_SOCKET."""

    def __init__(self, directory: Path) -> None:
        self.path = str(directory / "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)

    def wait_for(self, word: str, deadline: float, alive: Callable[[], bool]) -> float | None:
        """The monotonic time `word` (e.g. READY=1) arrived, or None on timeout/exit."""
        while time.monotonic() < deadline:
            if not alive():
                return None
            self.sock.settimeout(min(0.2, max(0.001, deadline - time.monotonic())))
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            if word in data.decode(errors="replace").split("\n"):
                return time.monotonic()
        return None

    def close(self) -> None:
        self.sock.close()


@dataclass
class Run:
    """One spawn of a program: what it reached and what it cost."""

    ready: float | None = None  # seconds from spawn to READY=1
    rss: float | None = None  # bytes at READY
    cpu_ready: float | None = None  # CPU seconds spent to reach READY
    idle_cpu: float | None = None  # CPU seconds over the idle window
    reload: float | None = None  # seconds from SIGHUP (one file changed) to READY=1 again
    note: str = ""
    burst: dict[str, Any] = field(default_factory=dict)


def alertd_command(config: Path) -> list[str]:
    exe = Path(sys.executable).parent / "alertd"
    return [str(exe), "run", "--config", str(config)] if exe.exists() else [
        sys.executable, "-m", "alertd.cli", "run", "--config", str(config)]


def baseline_command(config: Path) -> list[str]:
    return [sys.executable, str(BENCH / "baseline.py"), str(config)]


@dataclass
class Spawned:
    """A program started under a NOTIFY_SOCKET listener, with its own scratch directory."""

    child: subprocess.Popen[bytes]
    listener: NotifyListener
    tmp: Path
    log: Any

    def close(self) -> None:
        stop(self.child)
        self.listener.close()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def spawn_until_ready(command_for: Callable[[Path], list[str]], timeout: float,
                      env: dict[str, str] | None = None) -> tuple[Spawned, Run]:
    """Start `command_for(scratch dir)` with a fresh state dir and NOTIFY_SOCKET (and `env`); wait for READY=1."""
    WORK.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="alertd-bench-", dir=WORK))
    listener = NotifyListener(tmp)
    env = {**os.environ, "NOTIFY_SOCKET": listener.path, "ALERTD_STATE_DIR": str(tmp / "state"),
           "ALERTD_LOG_FORMAT": "json", **(env or {})}
    command = command_for(tmp)
    log = (tmp / "output.log").open("wb")
    started = time.monotonic()
    child = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
    spawned, run = Spawned(child, listener, tmp, log), Run()
    at = listener.wait_for("READY=1", started + timeout, lambda: child.poll() is None)
    if at is None:
        code = child.poll()
        run.note = (f"exited with {code} before READY" if code is not None
                    else f"no READY=1 within {timeout:.0f} s")
        return spawned, run
    run.ready = at - started
    try:
        stats = proc(child.pid)
        run.rss, run.cpu_ready = stats.get("VmRSS"), stats["cpu"]
    except (OSError, ValueError) as exc:
        run.note = f"could not read /proc: {exc}"
    return spawned, run


def stop(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def measured(section: dict[str, Any]) -> str:
    """The line under each RESULTS.md heading: when, how, and how loaded the machine was."""
    return (f"Measured {section['date']}, `bench/run.py {section['command']}`, median of {section['runs']} run(s); "
            f"load average at start / end: {section['load']}.")
