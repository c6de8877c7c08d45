"""`make bench`: alertd against the naive baseline, side by side, written to bench/RESULTS.md.

    python bench/run.py                 # 1k, 10k, 100k deadlines; 3 runs each; medians
    python bench/run.py --quick         # 1k, 1 run, short windows: a self-check in ~1 minute
    python bench/run.py --only check    # just the config-loading figures (check, phases)

Measures (issue 6):
- check:  wall time of `alertd check` on the generated config, now and at BEFORE_REV (the
          code before the fast config path), next to a bare PyYAML C-loader parse of the same
          files; and that `check` output and `plan --json` are byte-identical before and after;
          where the time of load_config goes (parse, validate, resolve, check output).
- ready:  spawn `alertd run` (ALERTD_STATE_DIR, NOTIFY_SOCKET, a config dir) and the baseline,
          time until READY=1 arrives on a unix datagram socket; then RSS (/proc/PID/status)
          and CPU (/proc/PID/stat) at READY, and CPU-seconds over an idle window.
- burst:  N alerts due at the same instant, delivered to a loopback webhook receiver that
          answers in 50 ms; the first arrival and the last answered delivery after the instant.
A program that never sends READY (or exits) is reported as "not measured", never guessed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORK = BENCH / "work"
BEFORE_REV = "d16cb88"  # the foundation commit: config loading before the fast path
SCALE_START = date(2030, 1, 1)  # generated deadlines fire from here on: nothing is due while we measure
CLK_TCK = os.sysconf("SC_CLK_TCK")

sys.path.insert(0, str(BENCH))
import gen  # noqa: E402 - bench/ is not a package; gen.py sits beside this file

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


def spawn_until_ready(command_for: Callable[[Path], list[str]], timeout: float) -> tuple[Spawned, Run]:
    """Start `command_for(scratch dir)` with a fresh state dir and NOTIFY_SOCKET; wait for READY=1."""
    WORK.mkdir(parents=True, exist_ok=True)  # git-ignored: absent from a fresh clone
    tmp = Path(tempfile.mkdtemp(prefix="alertd-bench-", dir=WORK))
    listener = NotifyListener(tmp)
    env = {**os.environ, "NOTIFY_SOCKET": listener.path, "ALERTD_STATE_DIR": str(tmp / "state"),
           "ALERTD_LOG_FORMAT": "json"}
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


def alertd_copy(config: Path) -> Callable[[Path], list[str]]:
    """`alertd run` on a scratch copy of `config`, so a reload can change a file of it."""
    def command_for(tmp: Path) -> list[str]:
        return alertd_command(Path(shutil.copytree(config, tmp / "config")))
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
            time.sleep(idle_window)
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


# --- the loopback webhook receiver --------------------------------------------------------


class Receiver:
    """An HTTP/1.1 server on 127.0.0.1 that answers every POST after `delay` seconds.

    Keeps the wall-clock time each request arrived and each answer was sent.
    """

    def __init__(self, delay: float = 0.05) -> None:
        self.delay = delay
        self.arrived: list[float] = []
        self.answered: list[float] = []
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    def __enter__(self) -> Receiver:
        self.thread.start()
        self.ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def reset(self) -> None:
        self.arrived.clear()
        self.answered.clear()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=4096))
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()
        server.close()  # stopped: end every open connection before the loop goes away
        tasks = asyncio.all_tasks(self.loop)
        for task in tasks:
            task.cancel()
        self.loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self.loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.arrived.append(time.time())
                length, close = 0, False
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                    elif name.strip().lower() == "connection" and value.strip().lower() == "close":
                        close = True
                await reader.readexactly(length)
                await asyncio.sleep(self.delay)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
                await writer.drain()
                self.answered.append(time.time())
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()


def measure_burst(program: str, n: int, receiver: Receiver, *, lead: float, ready_timeout: float,
                  settle: float) -> Run:
    """N alerts due `lead` seconds after spawn; when did they reach the receiver?"""
    receiver.reset()
    instant = datetime.fromtimestamp(int(time.time() + lead) + 1, UTC)
    directory = gen.generate_burst(WORK / f"burst-{program}", n, at=instant, url=receiver.url)
    command = alertd_command(directory / "alertd") if program == "alertd" else baseline_command(
        directory / "baseline.yaml")
    spawned, run = spawn_until_ready(lambda _: command, min(ready_timeout, instant.timestamp() - time.time()))
    child = spawned.child
    try:
        if run.ready is None:
            run.note += " (before the burst instant)"
            return run
        t = instant.timestamp()
        end = t + settle
        while time.time() < end and len(receiver.answered) < n and child.poll() is None:
            time.sleep(0.05)
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


# --- config loading -------------------------------------------------------------------------

BEFORE_BOOT = """
import sys
before = sys.argv.pop(1)
sys.meta_path[:] = [f for f in sys.meta_path if not type(f).__module__.startswith("__editable__")]
sys.path.insert(0, before)
from alertd.cli import main
import alertd
assert alertd.__file__.startswith(before), alertd.__file__
sys.exit(main())
"""


def before_tree() -> Path | None:
    """The alertd package as it was at BEFORE_REV, unpacked under bench/work/before."""
    target = WORK / f"before-{BEFORE_REV}"
    if (target / "alertd" / "cli.py").exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", BEFORE_REV, "alertd"], capture_output=True,
                             check=False)
    if archive.returncode != 0:
        return None
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


def cli_command(version: str, args: list[str]) -> list[str]:
    if version == "before":
        tree = before_tree()
        assert tree is not None
        return [sys.executable, "-c", BEFORE_BOOT, str(tree), *args]
    return [sys.executable, "-m", "alertd.cli", *args]


def timed(command: list[str], out: Path | None = None) -> tuple[float, int]:
    sink = out.open("wb") if out else subprocess.DEVNULL
    started = time.monotonic()
    code = subprocess.run(command, stdout=sink, stderr=subprocess.DEVNULL, check=False, cwd=ROOT).returncode
    return time.monotonic() - started, code


PYYAML_ONLY = """
import sys, time, glob, yaml
files = sorted(glob.glob(sys.argv[1] + "/*.yaml"))
t = time.monotonic()
for f in files:
    with open(f) as fh:
        yaml.load(fh, Loader=yaml.CSafeLoader)
print(time.monotonic() - t)
"""

PHASES = """
import gc, io, json, sys, time
from datetime import UTC, datetime
from pathlib import Path
from alertd import config as C, fastyaml
from alertd.cli import cmd_check
from alertd.config.schema import DeadlineEntry
from alertd.config.secretrefs import expand_tree
from alertd.config.sources import find_config_files, read_source
directory = Path(sys.argv[1])
files = find_config_files(directory)
gc.disable()  # as load_config does
out = {}
t = time.monotonic(); docs = [read_source(p, str(p)) for p in files]; out["parse (fast path)"] = time.monotonic() - t
fastyaml.ENABLED = False
t = time.monotonic(); [read_source(p, str(p)) for p in files]; out["parse (PyYAML path)"] = time.monotonic() - t
fastyaml.ENABLED = True
t = time.monotonic(); [expand_tree(d.data, {}, set(), []) for d in docs]
out["expand secrets (skipped when no $)"] = time.monotonic() - t
items = [i for d in docs for i in (d.data.get("deadlines") or [])]
t = time.monotonic(); [DeadlineEntry.model_validate(i) for i in items]
out["validate (pydantic)"] = time.monotonic() - t
from alertd.config.filepart import read_part
from alertd.config.resolve import resolve_part
pool = {}
t = time.monotonic(); parts = [read_part(p, {}, pool) for p in files]
out["read all files (parse + validate)"] = time.monotonic() - t
ctx = C._Merged(directory, parts).context()
t = time.monotonic(); [resolve_part(p, ctx) for p in parts]; out["resolve due and leads"] = time.monotonic() - t
gc.enable(); gc.collect()
t = time.monotonic(); loaded = C.load_config(directory, env={}); out["load_config total"] = time.monotonic() - t
import alertd.cli
alertd.cli.load_config = lambda *args, **kwargs: loaded  # time the output alone, on the config just loaded
t = time.monotonic(); cmd_check(directory, now=datetime.now(UTC), out=io.StringIO(), err=io.StringIO())
out["check output (next alert, formatting)"] = time.monotonic() - t
print(json.dumps(out))
"""


@dataclass
class CheckResult:
    n: int
    before: float | None
    after: float | None
    pyyaml: float | None
    identical: str
    phases: dict[str, float] = field(default_factory=dict)


def measure_check(n: int, config: Path, runs: int, *, compare_plan: bool) -> CheckResult:
    after, before, pyyaml = [], [], []
    identical = "not compared"
    has_before = before_tree() is not None
    for i in range(runs):
        out_after = WORK / f"check-after-{n}.txt" if i == 0 else None
        t, code = timed(cli_command("after", ["check", "--config", str(config)]), out_after)
        after.append(t if code == 0 else None)
        if has_before:
            out_before = WORK / f"check-before-{n}.txt" if i == 0 else None
            t, code = timed(cli_command("before", ["check", "--config", str(config)]), out_before)
            before.append(t if code == 0 else None)
        res = subprocess.run([sys.executable, "-c", PYYAML_ONLY, str(config)], capture_output=True, text=True,
                             check=False)
        pyyaml.append(float(res.stdout) if res.returncode == 0 else None)
    if has_before:
        same_check = _same(WORK / f"check-before-{n}.txt", WORK / f"check-after-{n}.txt")
        identical = f"check output {'identical' if same_check else 'DIFFERS'}"
        if compare_plan:
            window = ["plan", "--json", "--from", "2000-01-01", "--until", "2100-01-01", "--config", str(config)]
            timed(cli_command("before", window), WORK / f"plan-before-{n}.json")
            timed(cli_command("after", window), WORK / f"plan-after-{n}.json")
            same_plan = _same(WORK / f"plan-before-{n}.json", WORK / f"plan-after-{n}.json")
            identical += f"; plan --json {'identical' if same_plan else 'DIFFERS'}"
    res = subprocess.run([sys.executable, "-c", PHASES, str(config)], capture_output=True, text=True, check=False,
                         cwd=ROOT)
    phases = json.loads(res.stdout) if res.returncode == 0 else {}
    return CheckResult(n, median(before), median(after), median(pyyaml), identical, phases)


def _same(a: Path, b: Path) -> bool:
    return a.exists() and b.exists() and a.read_bytes() == b.read_bytes()


# --- the report -------------------------------------------------------------------------------


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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="1k deadlines, 1 run, short windows")
    p.add_argument("--sizes", default="1000,10000,100000")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--only", default="check,ready,burst",
                   help="comma list of: check, ready, burst (the others are kept from the last full run)")
    p.add_argument("--idle-window", type=float, default=20.0)
    p.add_argument("--burst", type=int, default=2000)
    p.add_argument("--ready-timeout", type=float, default=60.0, help="seconds alertd gets to send READY")
    p.add_argument("--baseline-timeout", type=float, default=600.0, help="seconds the baseline gets")
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.runs, args.idle_window, args.burst = "1000", 1, 2.0, 200
        args.ready_timeout, args.baseline_timeout = 10.0, 60.0
    out = args.out or (WORK / "RESULTS-quick.md" if args.quick else BENCH / "RESULTS.md")
    store = out.with_suffix(".json") if args.out else (WORK / ("results-quick.json" if args.quick else "results.json"))
    sizes = [int(s) for s in args.sizes.split(",")]
    only = set(args.only.split(","))
    WORK.mkdir(exist_ok=True)
    results: dict[str, Any] = json.loads(store.read_text()) if store.exists() else {}
    results = {k: v for k, v in results.items() if k not in only}  # what this run measures is replaced

    def meta(started: datetime, load: str, **extra: Any) -> dict[str, Any]:
        return {"date": f"{started:%Y-%m-%d %H:%M} UTC", "runs": args.runs, "sizes": sizes,
                "load": f"{load} / {loadavg()}", "command": " ".join(sys.argv[1:]) or "(defaults)", **extra}

    if "check" in only:
        started, load = datetime.now(UTC), loadavg()
        rows = []
        for n in sizes:
            print(f"check: {n} deadlines", flush=True)
            rows.append(asdict(measure_check(n, prepare(n) / "alertd", args.runs,
                                             compare_plan=n <= 10000 or not args.quick)))
        results["check"] = {**meta(started, load), "rows": rows}
    if "ready" in only:
        started, load = datetime.now(UTC), loadavg()
        daemon: dict[str, list[dict[str, Any]]] = {}
        for n in sizes:
            config = prepare(n)
            for program in ("alertd", "baseline"):
                baseline = baseline_command(config / "baseline.yaml")
                command_for = alertd_copy(config / "alertd") if program == "alertd" else lambda _, c=baseline: c
                timeout = args.ready_timeout if program == "alertd" else args.baseline_timeout
                runs = daemon.setdefault(f"{program} {n}", [])
                for i in range(args.runs):
                    print(f"ready/idle: {program}, {n} deadlines, run {i + 1}", flush=True)
                    run = measure_ready_idle(command_for, timeout=timeout, idle_window=args.idle_window,
                                             reload=program == "alertd")
                    runs.append(asdict(run))
                    if run.ready is None:
                        break  # it will not get READY on the next try either: say so once
        results["ready"] = {**meta(started, load, idle_window=args.idle_window), "runs_by": daemon}
    if "burst" in only:
        started, load = datetime.now(UTC), loadavg()
        bursts: dict[str, list[dict[str, Any]]] = {}
        with Receiver(delay=0.05) as receiver:
            for program in ("alertd", "baseline"):
                runs = bursts.setdefault(program, [])
                for i in range(args.runs):
                    print(f"burst: {program}, {args.burst} alerts, run {i + 1}", flush=True)
                    timeout = args.ready_timeout if program == "alertd" else args.baseline_timeout
                    run = measure_burst(program, args.burst, receiver, lead=10.0 if args.quick else 20.0,
                                        ready_timeout=timeout, settle=30.0 if args.quick else 60.0)
                    runs.append(asdict(run))
                    if run.ready is None:
                        break
        results["burst"] = {**meta(started, load, burst=args.burst), "runs_by": bursts}
    store.write_text(json.dumps(results, indent=1), encoding="utf-8")
    report = render(results)
    out.write_text(report, encoding="utf-8")
    print(report)
    print(f"written to {out}")
    return 0


def _measured(section: dict[str, Any]) -> str:
    return (f"Measured {section['date']}, `bench/run.py {section['command']}`, median of {section['runs']} run(s); "
            f"load average at start / end: {section['load']}.")


def render(results: dict[str, Any]) -> str:
    m = machine()
    lines = [
        "# alertd benchmark results",
        "",
        "Written by `bench/run.py` (`make bench`); do not edit by hand.",
        "",
        f"- machine: {m['nproc']} cores, {m['cpu']}; Python {m['python']}; other work was running on it too "
        "(see each section's load average)",
        f"- configs: bench/gen.py, N deadlines x 5 leads over a year from {SCALE_START}, 8 zones, 1,000 deadlines"
        " per file, one webhook channel",
        "",
    ]
    if "check" in results:
        section = results["check"]
        checks = [CheckResult(**row) for row in section["rows"]]
        lines += [
            "## Config loading: `alertd check`",
            "",
            _measured(section),
            "",
            f"before = alertd at {BEFORE_REV} (PyYAML compose), after = this tree; PyYAML = a bare "
            "`yaml.load(CSafeLoader)` of the same files, the naive baseline's parser.",
            "",
            "| deadlines | check before | check after | speed-up | PyYAML load alone | same results |",
            "| ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for c in checks:
            lines.append(f"| {c.n:,} | {fmt(c.before)} | {fmt(c.after)} | {ratio(c.before, c.after)} | "
                         f"{fmt(c.pyyaml)} | {c.identical} |")
        lines += ["", "Where the time goes (one run, this tree, in one process; parse and validate with the GC "
                  "paused as load_config does):", ""]
        names = list(checks[-1].phases)
        lines += ["| phase | " + " | ".join(f"{c.n:,}" for c in checks) + " |",
                  "| --- | " + " | ".join("---:" for _ in checks) + " |"]
        for name in names:
            lines.append(f"| {name} | " + " | ".join(fmt(c.phases.get(name)) for c in checks) + " |")
        lines.append("")
    notes: list[str] = []
    if "ready" in results:
        section = results["ready"]
        daemon = {key: [Run(**r) for r in runs] for key, runs in section["runs_by"].items()}
        lines += [
            "## Daemon: READY, memory, idle cost",
            "",
            _measured(section),
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
        notes += [f"- {key.replace(' ', ' at ')}: {r.note}" for key, runs in daemon.items() for r in runs if r.note]
    if "burst" in results:
        section = results["burst"]
        bursts = {key: [Run(**r) for r in runs] for key, runs in section["runs_by"].items()}
        n = section["burst"]
        lines += [
            f"## Midnight burst: {n:,} alerts due at one instant",
            "",
            _measured(section),
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
        notes += [f"- burst, {program}: {r.note}" for program, runs in bursts.items() for r in runs if r.note]
    if notes:
        lines += ["## Not measured, and why", "", *dict.fromkeys(notes), ""]
    return "\n".join(lines)

if __name__ == "__main__":
    sys.exit(main())
