"""The hostile-input suite: every generated input (tests/hostile/cases.py), through `alertd check` and
through a running daemon's SIGHUP.

For every input `check` exits 0 or 1, prints only `PATH:LINE: message` problems (with a line for
every problem inside a file), never a traceback, within CHECK_CPU seconds of CPU and CHECK_PEAK_MB
of resident memory. One daemon is then fed the same inputs one after the other by SIGHUP: each is a
reload (refused or taken), and after each the daemon still delivers a new alert.

`HOSTILE_SEED` picks the inputs within each class (default 13); a failure names the seed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.daemon.conftest import daemon_factory, notify, receiver  # noqa: F401 - fixtures: a daemon and its peer
from tests.hostile.cases import Case, cases

REPO = Path(__file__).resolve().parents[2]
SEED = int(os.environ.get("HOSTILE_SEED", "13"))
CHECK_CPU = 5.0  # seconds of CPU for one `alertd check`
CHECK_PEAK_MB = 300  # resident memory, MB
WALL_CEILING = 60.0  # a hang, not a slow machine: the worker is killed and the test fails
_PROBLEM = re.compile(r"^(?P<path>/[^:]+?)(?::(?P<line>\d+))?: (?P<message>.+)$")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Case]]:
    root = tmp_path_factory.mktemp("hostile")
    made = cases(SEED)
    for case in made:
        case.write(root / case.name)
    return root, made


def run_worker(root: Path, made: list[Case]) -> tuple[dict[str, dict[str, Any]], str]:
    jobs = "".join(json.dumps({"name": c.name, "dir": str(root / c.name)}) + "\n" for c in made)
    proc = subprocess.Popen([sys.executable, "-m", "tests.hostile.worker"], cwd=REPO, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(jobs, timeout=WALL_CEILING * 3 + 2 * len(made))
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    results: dict[str, dict[str, Any]] = {}
    last_start = ""
    for line in out.splitlines():
        item = json.loads(line)
        if "start" in item:
            last_start = item["start"]
        else:
            results[item["name"]] = item
    died = "" if proc.returncode == 0 else f"worker ended with {proc.returncode} during {last_start!r}: {err[-3000:]}"
    return results, died


def judge(case: Case, result: dict[str, Any], root: Path) -> list[str]:
    """What is wrong with `check`'s answer to one input (empty: nothing)."""
    wrong = []
    if result["traceback"] or "Traceback" in result["stderr"]:
        wrong.append(f"traceback:\n{result['traceback'] or result['stderr'][-2000:]}")
    if result["code"] not in (0, 1):
        wrong.append(f"exit code {result['code']}")
    if result["cpu"] > CHECK_CPU:
        wrong.append(f"{result['cpu']} s of CPU")
    if result["peak_kb"] > CHECK_PEAK_MB * 1000:
        wrong.append(f"{result['peak_kb'] / 1000:.0f} MB resident")
    case_dir = str(root / case.name)
    for line in result["stderr"].splitlines():
        if line.startswith("  hint: ") or re.fullmatch(rf"alertd: \d+ errors? in {re.escape(case_dir)}", line):
            continue
        m = _PROBLEM.match(line)
        if m is None or not m["path"].startswith(case_dir):
            wrong.append(f"not a PATH:LINE problem: {line[:300]!r}")
        elif case.lined and m["path"].endswith(("hostile.yaml", "hostile.toml")) and m["line"] is None:
            wrong.append(f"no line: {line[:300]!r}")
    if result["code"] == 1 and not any(_PROBLEM.match(x) for x in result["stderr"].splitlines()):
        wrong.append("exit 1 with no problem named")
    return wrong


def test_check_answers_every_hostile_input_with_path_line_problems_in_bounds(hostile) -> None:
    root, made = hostile
    results, died = run_worker(root, made)
    failures = [f"{c.name}: " + "; ".join(judge(c, results[c.name], root)) for c in made
                if c.name in results and judge(c, results[c.name], root)]
    missing = [c.name for c in made if c.name not in results]
    worst_cpu = max(results.values(), key=lambda r: r["cpu"])
    worst_mem = max(results.values(), key=lambda r: r["peak_kb"])
    print(f"\nhostile seed {SEED}: {len(results)} inputs; CPU max {worst_cpu['cpu']} s ({worst_cpu['name']}), "
          f"total {sum(r['cpu'] for r in results.values()):.1f} s; peak RSS max {worst_mem['peak_kb'] / 1000:.0f} MB "
          f"({worst_mem['name']}); exit 1: {sum(r['code'] == 1 for r in results.values())}, "
          f"exit 0: {sum(r['code'] == 0 for r in results.values())}")
    assert not died, died
    assert not missing, f"no result for {missing} (seed {SEED})"
    assert not failures, f"seed {SEED}:\n" + "\n".join(failures)


# -- the daemon ------------------------------------------------------------------------------------

class LogTail:
    """The daemon's JSON log, read incrementally (a hostile reload can log a lot)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.events: list[dict[str, Any]] = []
        self.raw_tail = ""

    def poll(self) -> list[dict[str, Any]]:
        with self.path.open("rb") as f:
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self.offset += end
        for line in data[:end].decode("utf-8", "replace").splitlines():
            self.raw_tail = (self.raw_tail + line + "\n")[-20000:]
            try:
                event = json.loads(line)
            except ValueError:
                event = {"event": "<not json>", "line": line}
            if isinstance(event, dict):
                self.events.append(event)
        return self.events

    def count(self, pred: Any) -> int:
        return sum(1 for e in self.poll() if pred(e))


def outcome(event: dict[str, Any]) -> bool:
    return event.get("event") == "config.reloaded" or (event.get("event") == "config.reload_failed"
                                                       and "errors" in event)


def clear(config: Path, keep: str) -> None:
    for entry in list(config.iterdir()):
        if entry.name == keep:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def wait(pred: Any, what: str, timeout: float = WALL_CEILING) -> None:
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what} (seed {SEED})")
        time.sleep(0.02)


def test_a_daemon_fed_every_hostile_input_by_sighup_keeps_sending(hostile, receiver, daemon_factory,  # noqa: F811
                                                                   tmp_path):
    _, made = hostile
    config = tmp_path / "config"
    config.mkdir()
    base = ("channels:\n  hook: {type: webhook, url: '" + receiver.url + "'}\n  out: {type: console}\n"
            "defaults:\n  channels: [hook]\n")
    (config / "00-base.yaml").write_text(base)
    d = daemon_factory()
    tail = LogTail(d.log_path)
    wait(lambda: tail.count(lambda e: e.get("event") == "daemon.ready") == 1, "daemon.ready")
    due = datetime.now(UTC) + timedelta(hours=2)
    good: list[str] = []
    for i, case in enumerate(made):
        clear(config, keep="00-base.yaml")
        case.write(config)
        (config / "00-base.yaml").write_text(base)  # Case.write puts its own base; the daemon's is this one
        before = tail.count(outcome)
        d.signal(signal.SIGHUP)
        wait(lambda b=before: tail.count(outcome) > b or d.proc.poll() is not None, f"the reload of {case.name}")
        assert d.proc.poll() is None, f"the daemon died on {case.name} (seed {SEED}):\n{tail.raw_tail[-5000:]}"
        # ... and it still sends: the hostile files go, a new deadline comes, its reminder is due at once
        clear(config, keep="00-base.yaml")
        good.append(f"  - {{id: ok-{i}, title: OK {i}, due: '{due.isoformat()}', remind: [3h]}}\n")
        (config / "zz-good.yaml").write_text("deadlines:\n" + "".join(good))
        d.signal(signal.SIGHUP)
        receiver.wait_posts(i + 1, timeout=WALL_CEILING)
        sent = [p["json"]["data"]["deadline"]["id"] for p in receiver.posts]
        assert sent[-1] == f"ok-{i}", f"after {case.name}: {sent[-3:]}"
    assert d.stop() == 0
    tail.poll()
    assert "Traceback" not in d.log_path.read_text(errors="replace")
    assert len(receiver.posts) == len(made), "each new deadline's alert was sent once"
