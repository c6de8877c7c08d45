"""Scenario `burst`: N alerts due at the same instant, delivered to a loopback webhook receiver
that answers in 50 ms; the first arrival and the last answered delivery after the instant."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gen
from harness import WORK, Run, alertd_command, baseline_command, fmt, measured, median, ratio, spawn_until_ready
from receiver import Receiver

PROGRAMS: dict[str, Callable[[Path], list[str]]] = {  # what to run on a generated burst directory
    "alertd": lambda directory: alertd_command(directory / "alertd"),
    "baseline": lambda directory: baseline_command(directory / "baseline.yaml"),
}


def measure_burst(name: str, command: Callable[[Path], list[str]], n: int, receiver: Receiver, *, lead: float,
                  ready_timeout: float, settle: float) -> Run:
    """N alerts due `lead` seconds after spawn; when did they reach the receiver?

    `command(directory)` starts the program on the burst config generated in `directory`
    (alertd/ and baseline.yaml, see gen.py).
    """
    receiver.reset()
    instant = datetime.fromtimestamp(int(time.time() + lead) + 1, UTC)
    directory = gen.generate_burst(WORK / f"burst-{name}", n, at=instant, url=receiver.url)
    argv = command(directory)
    spawned, run = spawn_until_ready(lambda _: argv, min(ready_timeout, instant.timestamp() - time.time()))
    child = spawned.child
    try:
        if run.ready is None:
            run.note += " (before the burst instant)"
            return run
        t = instant.timestamp()
        end = t + settle
        while time.time() < end and len(receiver.answered) < n and child.poll() is None:
            time.sleep(0.05)  # polling the receiver's count, up to `settle` after the instant
        arrived = sorted(a for a in receiver.arrived if a >= t - 1)
        answered = sorted(receiver.answered)
        run.burst = {
            "delivered": len(answered),
            "last": (answered[-1] - t) if answered else None,
            "first": (arrived[0] - t) if arrived else None,
            "all_within": (answered[n - 1] - t) if len(answered) >= n else None,
            "early": sum(1 for a in receiver.arrived if a < t),
        }
        if len(answered) < n:
            run.note = f"{len(answered)} of {n} delivered within {settle:.0f} s"
    finally:
        spawned.close()
    return run


def run(runs: int, n: int, *, quick: bool, ready_timeout: float, baseline_timeout: float) -> dict[str, Any]:
    bursts: dict[str, list[dict[str, Any]]] = {}
    with Receiver(delay=0.05) as receiver:
        for program, command in PROGRAMS.items():
            spawns = bursts.setdefault(program, [])
            for i in range(runs):
                print(f"burst: {program}, {n} alerts, run {i + 1}", flush=True)
                timeout = ready_timeout if program == "alertd" else baseline_timeout
                result = measure_burst(program, command, n, receiver, lead=10.0 if quick else 20.0,
                                       ready_timeout=timeout, settle=30.0 if quick else 60.0)
                spawns.append(asdict(result))
                if result.ready is None:
                    break
    return {"burst": n, "runs_by": bursts}


def render(section: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The section's lines, and its notes for "Not measured, and why"."""
    bursts = {key: [Run(**r) for r in runs] for key, runs in section["runs_by"].items()}
    n = section["burst"]
    lines = [
        f"## Midnight burst: {n:,} alerts due at one instant",
        "",
        measured(section),
        "",
        "A loopback webhook receiver answers each POST after 50 ms. first = first request's arrival after the "
        "instant; all = the last delivery answered, after the instant (goal: all <= 2.5 s, first <= 50 ms). "
        "The baseline runs APScheduler's defaults: a job that waits more than its 1 s misfire grace for a "
        "free thread of the 10 is dropped, so it may never deliver them all; 'last' is its last delivery.",
        "",
        "| figure | alertd | baseline | ratio |",
        "| --- | ---: | ---: | ---: |",
    ]
    for label, key in (("first delivery", "first"), ("all delivered within", "all_within"),
                       ("delivered (of all)", "delivered"), ("last delivery", "last")):
        va = median([r.burst.get(key) for r in bursts.get("alertd", [])])
        vb = median([r.burst.get(key) for r in bursts.get("baseline", [])])
        if key == "delivered":
            lines.append(f"| {label} | {'not measured' if va is None else f'{va:.0f} of {n}'} | "
                         f"{'not measured' if vb is None else f'{vb:.0f} of {n}'} | |")
            continue
        unit = "ms" if key == "first" else "s"
        lines.append(f"| {label} | {fmt(va, unit)} | {fmt(vb, unit)} | {ratio(vb, va)} |")
    lines.append("")
    notes = [f"- burst, {program}: {r.note}" for program, runs in bursts.items() for r in runs if r.note]
    return lines, notes
