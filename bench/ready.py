"""Scenario `ready`: start-up, memory, idle cost and reload of `alertd run` and the baseline.

Spawns each program (ALERTD_STATE_DIR, NOTIFY_SOCKET, a config dir) and times it to READY=1 on
a unix datagram socket; then RSS (/proc/PID/status) and CPU (/proc/PID/stat) at READY,
CPU-seconds over an idle window, and for alertd a SIGHUP after one file changed, to READY=1 again.
"""

from __future__ import annotations

import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from harness import (
    Run,
    alertd_command,
    baseline_command,
    fmt,
    measured,
    median,
    prepare,
    proc,
    ratio,
    spawn_until_ready,
)


def alertd_copy(config: Path, command: Callable[[Path], list[str]] = alertd_command) -> Callable[[Path], list[str]]:
    """`command(config dir)` on a scratch copy of `config`, so a reload can change a file of it."""
    def command_for(tmp: Path) -> list[str]:
        return command(Path(shutil.copytree(config, tmp / "config")))
    return command_for


def change_one_file(config: Path) -> None:
    """Retitle the first deadline of the first deadlines file: one file changed, one deadline."""
    path = sorted(config.glob("deadlines-*.yaml"))[0]
    path.write_text(path.read_text(encoding="utf-8").replace("title: ", "title: Changed ", 1), encoding="utf-8")


def measure_ready_idle(command_for: Callable[[Path], list[str]], *, timeout: float, idle_window: float,
                       reload: bool = False) -> Run:
    spawned, run = spawn_until_ready(command_for, timeout)
    child = spawned.child
    try:
        if run.ready is not None and idle_window > 0:
            before = proc(child.pid)["cpu"]
            time.sleep(idle_window)  # the window being measured, not a wait for an event
            if child.poll() is None:
                run.idle_cpu = proc(child.pid)["cpu"] - before
            else:
                run.note = f"exited with {child.returncode} during the idle window"
        if run.ready is not None and reload and child.poll() is None:
            change_one_file(spawned.tmp / "config")
            sent = time.monotonic()
            child.send_signal(signal.SIGHUP)
            at = spawned.listener.wait_for("READY=1", sent + timeout, lambda: child.poll() is None)
            if at is not None:
                run.reload = at - sent
            else:
                code = child.poll()
                run.note = (f"exited with {code} on SIGHUP" if code is not None
                            else f"no READY=1 within {timeout:.0f} s of SIGHUP")
    finally:
        spawned.close()
    return run


def run(sizes: list[int], runs: int, *, idle_window: float, ready_timeout: float,
        baseline_timeout: float) -> dict[str, Any]:
    daemon: dict[str, list[dict[str, Any]]] = {}
    for n in sizes:
        config = prepare(n)
        for program in ("alertd", "baseline"):
            baseline = baseline_command(config / "baseline.yaml")
            command_for = alertd_copy(config / "alertd") if program == "alertd" else lambda _, c=baseline: c
            timeout = ready_timeout if program == "alertd" else baseline_timeout
            spawns = daemon.setdefault(f"{program} {n}", [])
            for i in range(runs):
                print(f"ready/idle: {program}, {n} deadlines, run {i + 1}", flush=True)
                result = measure_ready_idle(command_for, timeout=timeout, idle_window=idle_window,
                                            reload=program == "alertd")
                spawns.append(asdict(result))
                if result.ready is None:
                    break  # it will not get READY on the next try either: say so once
    return {"idle_window": idle_window, "runs_by": daemon}


def render(section: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The section's lines, and its notes for "Not measured, and why"."""
    daemon = {key: [Run(**r) for r in runs] for key, runs in section["runs_by"].items()}
    lines = [
        "## Daemon: READY, memory, idle cost",
        "",
        measured(section),
        "",
        "READY = spawn to READY=1 on $NOTIFY_SOCKET; RSS and CPU from /proc at READY; idle = CPU-seconds "
        f"over {section['idle_window']:.0f} s after READY with nothing due; reload = SIGHUP after one file "
        "changed, to READY=1 again (the baseline cannot reload: its figure is a restart, i.e. its READY). "
        "Ratio = baseline / alertd.",
        "",
        "| deadlines | figure | alertd | baseline | ratio | goal (alertd) |",
        "| ---: | --- | ---: | ---: | ---: | --- |",
    ]
    for n in section["sizes"]:
        a, b = daemon.get(f"alertd {n}", []), daemon.get(f"baseline {n}", [])
        for label, attr, unit, goal in (("READY", "ready", "s", "<= 5 s at 100k"),
                                        ("RSS at READY", "rss", "MB", "<= 300 MB at 100k"),
                                        ("CPU to READY", "cpu_ready", "s", ""),
                                        ("idle CPU", "idle_cpu", "s", "<= 0.1 s per 20 s"),
                                        ("reload", "reload", "s", "<= 2 s at 100k")):
            va = median([getattr(r, attr) for r in a])
            vb = median([getattr(r, "ready" if attr == "reload" else attr) for r in b])
            lines.append(f"| {n:,} | {label} | {fmt(va, unit)} | {fmt(vb, unit)} | {ratio(vb, va)} | {goal} |")
    lines.append("")
    notes = [f"- {key.replace(' ', ' at ')}: {r.note}" for key, runs in daemon.items() for r in runs if r.note]
    return lines, notes
