"""Runs `alertd check` on config directories named on standard input, one after the other, in this
one process, and reports each as a JSON line: exit code, output, CPU seconds, peak memory.

`python -m tests.hostile.worker` — a line `{"name": ..., "dir": ...}` in, a result line out. One
process for a hundred inputs costs one interpreter start-up instead of a hundred. The peak resident
memory of each run is the kernel's high-water mark (VmHWM), reset before the run by writing 5 to
/proc/self/clear_refs; it includes the interpreter and what earlier runs left allocated, so it is
an upper bound of what `alertd check` on that input alone would use. Before each run the worker
writes `{"start": name}`: should the process die (a segfault), the last start names the input.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import resource
import sys
import time
import traceback
from pathlib import Path


def peak_rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return -1


def reset_peak() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def run_one(config_dir: str) -> dict:
    from alertd.cli import main  # noqa: PLC0415 - imported once, on the first input

    out, err = io.StringIO(), io.StringIO()
    gc.collect()
    reset_peak()
    cpu, wall = time.process_time(), time.monotonic()
    crashed = ""
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["check", "-c", config_dir])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # what the test is looking for: reported, not raised
        code, crashed = -1, traceback.format_exc()
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    text = out.getvalue()
    return {"code": code, "stderr": err.getvalue(), "stdout_tail": text[-2000:], "stdout_chars": len(text),
            "traceback": crashed, "cpu": round(cpu, 3), "wall": round(wall, 3), "peak_kb": peak_rss_kb()}


def main() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))  # a memory bomb fails this process, not the machine
    for line in sys.stdin:
        job = json.loads(line)
        print(json.dumps({"start": job["name"]}), flush=True)
        result = run_one(job["dir"])
        print(json.dumps({"name": job["name"], **result}), flush=True)


if __name__ == "__main__":
    main()
