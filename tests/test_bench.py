"""The benchmark's own pieces on small input: the generator and the harness's pure parts.

The benchmark itself never runs here (`make bench` does that); these stay fast.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from types import ModuleType

import httpx
import yaml

from alertd.config import fastyaml, load_config
from alertd.core.display import rfc3339
from alertd.core.planner import plan

BENCH = Path(__file__).resolve().parent.parent / "bench"


def load(name: str) -> ModuleType:
    sys.path.insert(0, str(BENCH))  # run.py imports gen.py from beside it
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


gen = load("gen")
run = load("run")


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
    stat = run.parse_proc_stat(line)
    assert stat["cpu"] == 350 / run.CLK_TCK
    assert stat["threads"] == 7


def test_proc_stat_and_status_of_this_process() -> None:
    pid = os.getpid()
    stat = run.parse_proc_stat(Path(f"/proc/{pid}/stat").read_text())
    status = run.parse_proc_status(Path(f"/proc/{pid}/status").read_text())
    assert stat["cpu"] > 0
    assert stat["threads"] >= 1
    assert status["VmRSS"] > 1_000_000
    assert status["VmHWM"] >= status["VmRSS"]


def test_medians_skip_what_was_not_measured() -> None:
    assert run.median([3.0, None, 1.0, 2.0]) == 2.0
    assert run.median([None, None]) is None
    assert run.ratio(10.0, 2.0) == "5.0x"
    assert run.ratio(None, 2.0) == "n/a"
    assert run.fmt(None) == "not measured"


def test_the_cpu_model_comes_from_cpuinfo() -> None:
    assert run.cpu_model("processor\t: 0\nmodel name\t: Example CPU @ 2GHz\n") == "Example CPU @ 2GHz"


def test_the_notify_listener_hears_ready_and_gives_up_on_silence(tmp_path: Path) -> None:
    listener = run.NotifyListener(tmp_path)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"STATUS=loading\nREADY=1", listener.path)
        assert listener.wait_for("READY=1", time.monotonic() + 5, lambda: True) is not None
        assert listener.wait_for("READY=1", time.monotonic() + 0.1, lambda: True) is None
        assert listener.wait_for("READY=1", time.monotonic() + 5, lambda: False) is None  # the process exited
    finally:
        listener.close()


def test_the_receiver_answers_after_its_delay_and_records_times() -> None:
    with run.Receiver(delay=0.05) as receiver, httpx.Client() as client:
        started = time.time()
        for _ in range(2):
            assert client.post(receiver.url, json={"n": 1}).status_code == 200
        assert len(receiver.arrived) == 2
        assert len(receiver.answered) == 2
        assert receiver.answered[0] - receiver.arrived[0] >= 0.045
        assert receiver.arrived[0] >= started


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

    result = run.measure_ready_idle(command_for, timeout=10, idle_window=0.3, reload=True)
    assert result.ready is not None
    assert result.ready < 10
    assert result.rss > 1_000_000
    assert result.idle_cpu is not None
    assert result.idle_cpu < 0.3
    assert result.reload is not None
    assert result.note == ""
    assert "Changed" not in (tmp_path / "alertd" / "deadlines-0000.yaml").read_text()  # only the copy changed


def test_a_daemon_that_never_signals_ready_is_reported_not_measured() -> None:
    result = run.measure_ready_idle(fake("silent"), timeout=0.5, idle_window=0.3, reload=True)
    assert result.ready is None
    assert result.rss is None
    assert result.idle_cpu is None
    assert result.note == "no READY=1 within 0 s"


def test_a_daemon_that_exits_is_reported_with_its_exit_code() -> None:
    result = run.measure_ready_idle(lambda _tmp: [sys.executable, "-c", "raise SystemExit(78)"], timeout=10,
                                    idle_window=0.3)
    assert result.ready is None
    assert result.note == "exited with 78 before READY"
