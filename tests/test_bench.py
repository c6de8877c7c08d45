"""The benchmark's own pieces on small input: the generator, the harness's pure parts, the
receiver, the spawn-and-measure path on stand-in daemons, the compare rules and RESULTS.md.

The benchmark itself never runs here (`make bench` does that); these stay fast.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import shutil
import socket
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from types import ModuleType

import httpx
import pytest
import yaml

from alertd.config import fastyaml, load_config
from alertd.core.display import rfc3339
from alertd.core.planner import plan

BENCH = Path(__file__).resolve().parent.parent / "bench"


def load(name: str) -> ModuleType:
    """A bench/ file as the bench runs it: bench/ on sys.path, so its files import each other."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    return importlib.import_module(name)


gen = load("gen")
harness = load("harness")
receiver = load("receiver")
ready = load("ready")
compare = load("compare")
run = load("run")


def wait_until(condition: Callable[[], bool], ceiling: float = 30.0) -> bool:
    """Poll `condition` until it holds; the ceiling only stops a broken test from hanging."""
    end = time.monotonic() + ceiling
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.005)
    return True


def test_the_generator_is_deterministic_and_splits_files(tmp_path: Path) -> None:
    gen.generate(tmp_path / "a", 250, start=date(2030, 1, 1), per_file=100)
    gen.generate(tmp_path / "b", 250, start=date(2030, 1, 1), per_file=100)
    names = sorted(p.name for p in (tmp_path / "a" / "alertd").iterdir())
    assert names == ["00-channels.yaml", "deadlines-0000.yaml", "deadlines-0001.yaml", "deadlines-0002.yaml"]
    for name in [*names]:
        assert (tmp_path / "a" / "alertd" / name).read_bytes() == (tmp_path / "b" / "alertd" / name).read_bytes()
    assert (tmp_path / "a" / "baseline.yaml").read_bytes() == (tmp_path / "b" / "baseline.yaml").read_bytes()


def test_the_baseline_schedules_exactly_what_alertd_plans(tmp_path: Path) -> None:
    gen.generate(tmp_path, 300, start=date(2030, 1, 1))
    config = load_config(tmp_path / "alertd", env={})
    assert len(config.deadlines) == 300
    assert {d.timezone for d in config.deadlines} >= {"Europe/Moscow", "Asia/Tokyo", "UTC"}
    planned = sorted((a.deadline.id, rfc3339(a.fire_at)) for a in plan(config.deadlines, start=datetime.min.replace(
        tzinfo=UTC)))
    baseline = yaml.safe_load((tmp_path / "baseline.yaml").read_text())
    scheduled = sorted((d["id"], rfc3339(t)) for d in baseline["deadlines"] for t in d["alerts"])
    assert planned == scheduled
    assert len(scheduled) == 1500
    assert min(t for _, t in scheduled) >= "2029-12-24"  # a week before the start: nothing due while measuring


def test_the_burst_config_puts_every_alert_at_one_instant(tmp_path: Path) -> None:
    at = datetime(2031, 1, 1, tzinfo=UTC)
    gen.generate_burst(tmp_path, 50, at=at, url="http://127.0.0.1:1/hook", per_file=20)
    config = load_config(tmp_path / "alertd", env={})
    alerts = plan(config.deadlines, start=datetime(2030, 1, 1, tzinfo=UTC))
    assert len(alerts) == 50
    assert {a.fire_at for a in alerts} == {at}


def test_proc_stat_is_read_past_a_process_name_with_spaces_and_parens() -> None:
    # utime, stime, cutime, cstime (fields 14-17); threads (20)
    fields = ["S", *["0"] * 10, "250", "50", "30", "20", *["0"] * 2, "7"]
    line = "1234 (my (odd) name) " + " ".join(fields) + " 0 0"
    stat = harness.parse_proc_stat(line)
    assert stat["cpu"] == 350 / harness.CLK_TCK
    assert stat["threads"] == 7


def test_proc_stat_and_status_of_this_process() -> None:
    pid = os.getpid()
    stat = harness.parse_proc_stat(Path(f"/proc/{pid}/stat").read_text())
    status = harness.parse_proc_status(Path(f"/proc/{pid}/status").read_text())
    assert stat["cpu"] > 0
    assert stat["threads"] >= 1
    assert status["VmRSS"] > 1_000_000
    assert status["VmHWM"] >= status["VmRSS"]


def test_medians_skip_what_was_not_measured() -> None:
    assert harness.median([3.0, None, 1.0, 2.0]) == 2.0
    assert harness.median([None, None]) is None
    assert harness.ratio(10.0, 2.0) == "5.0x"
    assert harness.ratio(None, 2.0) == "n/a"
    assert harness.fmt(None) == "not measured"


def test_the_cpu_model_comes_from_cpuinfo() -> None:
    assert harness.cpu_model("processor\t: 0\nmodel name\t: Example CPU @ 2GHz\n") == "Example CPU @ 2GHz"


def test_the_notify_listener_hears_ready_and_gives_up_on_silence(tmp_path: Path) -> None:
    listener = harness.NotifyListener(tmp_path)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"STATUS=loading\nREADY=1", listener.path)
        assert listener.wait_for("READY=1", time.monotonic() + 5, lambda: True) is not None
        assert listener.wait_for("READY=1", time.monotonic() + 0.1, lambda: True) is None
        assert listener.wait_for("READY=1", time.monotonic() + 5, lambda: False) is None  # the process exited
    finally:
        listener.close()


def test_the_receiver_answers_after_its_delay_and_records_times() -> None:
    with receiver.Receiver(delay=0.05) as server, httpx.Client(timeout=30) as client:
        started = time.time()
        for _ in range(2):
            assert client.post(server.url, json={"n": 1}).status_code == 200
        # the receiver notes an answer after sending it: the client may have it a moment before
        assert wait_until(lambda: len(server.answered) == 2)
        assert len(server.arrived) == 2
        assert started <= server.arrived[0] <= server.answered[0] <= server.arrived[1] <= server.answered[1]
        for arrived, answered in zip(server.arrived, server.answered, strict=True):
            assert answered - arrived >= 0.045  # its delay (wall clock; a little slack for clock granularity)
            assert answered - arrived < 10  # and not stuck: a generous ceiling, for a loaded machine


def test_the_generated_config_loads_the_same_with_and_without_the_fast_path(tmp_path: Path) -> None:
    gen.generate(tmp_path, 400, start=date(2030, 1, 1), per_file=150)
    fast = load_config(tmp_path / "alertd", env={})
    assert all(fastyaml.load(p.read_text())[0] for p in (tmp_path / "alertd").iterdir())  # the path is taken
    slow = load_config(tmp_path / "alertd", env={}, fast_yaml=False)
    assert fast.deadlines == slow.deadlines
    assert fast.warnings == slow.warnings
    assert fast.channels == slow.channels


FAKE_DAEMON = """
import os, signal, socket, sys, time
def notify(msg):
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(msg.encode(), os.environ["NOTIFY_SOCKET"])
signal.signal(signal.SIGHUP, lambda *_: notify("RELOADING=1\\nREADY=1"))
if sys.argv[1] == "ready":
    notify("READY=1")
while True:
    time.sleep(0.05)
"""


def fake(mode: str):
    return lambda _tmp: [sys.executable, "-c", FAKE_DAEMON, mode]


def test_a_daemon_that_signals_ready_is_measured_reload_included(tmp_path: Path) -> None:
    gen.generate(tmp_path, 10, start=date(2030, 1, 1))
    copies: list[Path] = []

    def command_for(scratch: Path) -> list[str]:
        copies.append(Path(shutil.copytree(tmp_path / "alertd", scratch / "config")))
        return fake("ready")(scratch)

    result = ready.measure_ready_idle(command_for, timeout=10, idle_window=0.3, reload=True)
    assert result.ready is not None
    assert result.ready < 10
    assert result.rss > 1_000_000
    assert result.idle_cpu is not None
    assert result.idle_cpu < 0.3
    assert result.reload is not None
    assert result.note == ""
    assert "Changed" not in (tmp_path / "alertd" / "deadlines-0000.yaml").read_text()  # only the copy changed


def test_a_daemon_that_never_signals_ready_is_reported_not_measured() -> None:
    result = ready.measure_ready_idle(fake("silent"), timeout=0.5, idle_window=0.3, reload=True)
    assert result.ready is None
    assert result.rss is None
    assert result.idle_cpu is None
    assert result.note == "no READY=1 within 0 s"


def test_a_daemon_that_exits_is_reported_with_its_exit_code() -> None:
    result = ready.measure_ready_idle(lambda _tmp: [sys.executable, "-c", "raise SystemExit(78)"], timeout=10,
                                    idle_window=0.3)
    assert result.ready is None
    assert result.note == "exited with 78 before READY"


def test_versions_to_compare_are_labelled_revisions_in_order() -> None:
    assert compare.parse_versions("before=ddfb0f6,after=.") == [("before", "ddfb0f6"), ("after", ".")]
    assert compare.parse_versions(compare.DEFAULT_VERSIONS)[-1] == ("after", ".")
    for bad in ("ddfb0f6", "before=", "=x", "a=x,a=y"):
        with pytest.raises(ValueError, match=r"LABEL=REV|repeat"):
            compare.parse_versions(bad)


def test_a_goal_holds_by_its_stated_rule() -> None:
    assert compare.held("within 10% of before", [4.0, 4.2, 4.4], [4.5, 4.6, 4.7]) == "held"  # 4.6 <= 4.62
    assert compare.held("within 10% of before", [4.0, 4.2, 4.4], [4.7, 4.7, 4.7]) == "NOT held"
    assert compare.held("<= 200 MB", [None], [199e6]) == "held"
    assert compare.held("<= 200 MB", [150e6], [201e6]) == "NOT held"
    assert compare.held("no worse", [0.03, 0.04, 0.05], [0.05, 0.05, 0.04]) == "held"  # within before's runs
    assert compare.held("no worse", [0.03, 0.04, 0.05], [0.06, 0.06, 0.04]) == "NOT held"
    assert compare.held("no worse", [0.03], [None]) == ""  # not measured: no verdict
    assert compare.held("", [1.0], [2.0]) == ""


def section(**extra: object) -> dict:
    return {"date": "2030-01-01 00:00 UTC", "runs": 2, "sizes": [1000], "load": "0.5 0.5 0.5 / 0.6 0.6 0.6",
            "command": "--quick", **extra}


def spawn(**fields: object) -> dict:
    return dataclasses.asdict(harness.Run(**fields))


def test_results_md_has_every_section_in_its_format() -> None:
    results = {
        "check": section(rows=[{"n": 1000, "before": 0.66, "after": 0.5, "pyyaml": 0.19, "identical": "check output "
                                "identical", "phases": {"parse (fast path)": 0.02}}]),
        "ready": section(idle_window=20.0, runs_by={
            "alertd 1000": [spawn(ready=0.6, rss=70e6, cpu_ready=0.6, idle_cpu=0.04, reload=0.05)] * 2,
            "baseline 1000": [spawn(note="no READY=1 within 600 s")]}),
        "burst": section(burst=2000, runs_by={"alertd": [spawn(ready=1.0, burst={"first": 0.019, "all_within": 1.87,
                                                                                  "delivered": 2000, "last": 1.87})]}),
        "compare": section(versions=[["before", "ddfb0f6"], ["after", "."]], size=100000, burst=2000,
                           idle_window=20.0, identical="after vs before: check output identical", notes=[],
                           rounds=[{"load": load, "check": {"before": 4.4, "after": c},
                                    "ready": {"before": spawn(ready=4.5, rss=138e6, idle_cpu=0.04),
                                              "after": spawn(ready=r, rss=170e6, idle_cpu=0.04)},
                                    "burst": {"before": spawn(burst={"first": 0.02, "all_within": 1.9}),
                                              "after": spawn(burst={"first": 0.02, "all_within": 1.8})}}
                                   for load, c, r in (("1.0 0.9 0.8", 4.0, 4.2), ("1.5 1.2 1.0", 4.2, 4.0))]),
    }
    text = run.render(results)
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == ["## Config loading: `alertd check`", "## Daemon: READY, memory, idle cost",
                        "## Midnight burst: 2,000 alerts due at one instant",
                        "## Before and after a change: before = ddfb0f6, after = .", "## Not measured, and why"]
    assert "| 1,000 | 0.66 s | 0.50 s | 1.3x | 0.19 s | check output identical |" in text
    assert "| 1,000 | RSS at READY | 70 MB | not measured | n/a | <= 300 MB at 100k |" in text
    assert "| first delivery | 19 ms | not measured | n/a |" in text
    assert "- baseline at 1000: no READY=1 within 600 s" in text
    assert "the machine was shared" in text
    assert "1.0 0.9 0.8, 1.5 1.2 1.0" in text  # each round's load average
    assert ("| READY | 4.50 s | 4.10 s | before 4.50 s, 4.50 s; after 4.20 s, 4.00 s | within 10% of before | held |"
            in text)
    assert "| RSS at READY | 138 MB | 170 MB |" in text
    assert "| `alertd check` | 4.40 s | 4.10 s |" in text


http_load = load("http_load")


def test_the_http_section_replaces_itself_or_goes_before_not_measured() -> None:
    load = {"requests": 1234, "errors": 0, "loris_connections": 500}
    section, _ = http_load.render({"burst": 2, "date": "d", "command": "c", "runs": 1, "load": "l", "runs_by": [
        {"quiet": http_load.lateness([100.01, 100.02], datetime.fromtimestamp(100, UTC), 2),
         "contention": http_load.lateness([150.01, 151.0], datetime.fromtimestamp(150, UTC), 2) | {"load": load},
         "loaded": http_load.lateness([200.05, 200.5], datetime.fromtimestamp(200, UTC), 2) | {"load": load}}]})
    assert "| 1 | quiet | 2/2 | 0.010 s | 0.015 s | 0.020 s | - | - |" in section
    assert "| 1 | loaded | 2/2 | 0.050 s | 0.275 s | 0.500 s | 1,234 (0) | 500 |" in section
    doc = "# r\n\n## Burst\n\nx\n\n## Not measured, and why\n\n- y\n"
    once = http_load.splice(doc, section)
    assert once.index(http_load.HEADING) < once.index("## Not measured") and once.count(http_load.HEADING) == 1
    again = http_load.splice(once, [http_load.HEADING, "", "new", ""])
    assert again.count(http_load.HEADING) == 1 and "new" in again and "1,234" not in again
    assert again.startswith("# r\n\n## Burst\n\nx\n\n")
