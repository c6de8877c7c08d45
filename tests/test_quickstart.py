"""Every command of the README's quickstart, run as written, in order, against the shipped config.

How the section is read (from `## Quickstart` to the next `## ` heading):

- a ```yaml block whose first line is `# config/NAME` is a file the reader is told to write;
  it is written at that point;
- every line of an indented block is a command (a trailing `# comment` is the README's
  explanation). The kinds this test knows how to run are below; any other command fails the
  test, so a new kind of command in the quickstart cannot go unrun.

How each kind runs:

- `make demo` and `make run` run with the repository's Makefile, in the repository, whose
  `config/` is the shipped config (`ALERTD_STATE_DIR` points into tmp, so the checkout gets no
  `state/`). `make demo` (about 20 s) is started when it comes and runs while the other commands
  do; it must have exited 0 at the end. `make run` is started, its `daemon.ready` event awaited,
  and its process group sent SIGTERM, as Ctrl-C on a terminal would.
- `make test` is not run: this test is part of it.
- `.venv/bin/alertd ...` runs in a scratch directory holding a copy of `config/` and a link to the
  repository's `.venv`, so the files the reader writes land in the copy; each must exit 0.
- `export NAME=VALUE` sets NAME for the commands after it. A value ending in `...` is a
  placeholder the reader replaces with their own (a Slack webhook URL); the test gives a
  loopback receiver's URL, which answers as Slack does.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.peers import Receiver

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
NOT_RUN = {"make test"}  # this test is part of it


@dataclass(frozen=True)
class Step:
    command: str | None = None  # a command line, as written
    path: str | None = None  # or a file to write, relative to the working directory
    text: str = ""


def quickstart() -> list[Step]:
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index("## Quickstart") + 1
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("## "))
    steps: list[Step] = []
    i = start
    while i < end:
        line = lines[i]
        if line.startswith("```"):
            close = lines.index(line[:3], i + 1)
            body = lines[i + 1:close]
            m = re.fullmatch(r"# (config/\S+)", body[0]) if line == "```yaml" and body else None
            if m:
                steps.append(Step(path=m[1], text="\n".join(body) + "\n"))
            i = close + 1
            continue
        if line.startswith("    ") and not lines[i - 1].strip():  # an indented block
            while i < end and lines[i].startswith("    "):
                command = re.sub(r"\s+# .*$", "", lines[i].strip())
                steps.append(Step(command=command))
                i += 1
            continue
        i += 1
    return steps


def test_the_quickstart_is_read_as_the_reader_sees_it() -> None:
    """The parser finds the commands and files the section shows (a guard against reading nothing)."""
    steps = quickstart()
    commands = [s.command for s in steps if s.command]
    assert commands[:3] == ["make demo", "make run", "make test"]
    assert ".venv/bin/alertd test ops-slack -c config" in commands
    assert [s.path for s in steps if s.path] == ["config/team.yaml", "config/slack.yaml"]


def _env() -> dict[str, str]:
    drop = ("ALERTD_", "CREDENTIALS_", "CONFIGURATION_", "STATE_DIRECTORY", "NOTIFY_", "WATCHDOG_", "JOURNAL_",
            "SLACK_")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def _wait_for_event(log: Path, name: str, proc: subprocess.Popen[bytes], timeout: float) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("{") and json.loads(line).get("event") == name:
                return json.loads(line)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    pytest.fail(f"no {name} event (exit status {proc.poll()}):\n{log.read_text(errors='replace')}")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_every_quickstart_command_works_as_written(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    shutil.copytree(ROOT / "config", scratch / "config")
    (scratch / ".venv").symlink_to(ROOT / ".venv")
    env = _env() | {"ALERTD_STATE_DIR": str(tmp_path / "state")}
    # Two `make` at once must not both install the virtualenv: set it up first if it is not.
    if subprocess.run(["make", "-q", ".venv/.installed"], cwd=ROOT, check=False).returncode != 0:
        subprocess.run(["make", ".venv/.installed"], cwd=ROOT, check=True, timeout=600)
    slack = Receiver()
    slack.thread.start()
    demo: subprocess.Popen[bytes] | None = None
    ran: list[str] = []
    try:
        for step in quickstart():
            if step.path is not None:
                (scratch / step.path).write_text(step.text, encoding="utf-8")
                continue
            command = step.command
            assert command is not None
            if command in NOT_RUN:
                continue
            ran.append(command)
            if command == "make demo":
                demo = subprocess.Popen(["bash", "-c", command], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, start_new_session=True)
            elif command == "make run":
                _make_run(command, env, tmp_path)
            elif m := re.fullmatch(r"export (\w+)=(\S+)", command):
                env[m[1]] = slack.url("/services/T000/B000/quickstart") if m[2].endswith("...") else m[2]
            elif command.startswith(".venv/bin/alertd "):
                result = subprocess.run(["bash", "-c", command], cwd=scratch, env=env, capture_output=True,
                                        text=True, timeout=60, check=False)
                assert result.returncode == 0, f"`{command}` exited {result.returncode}:\n{result.stderr}"
                _check_output(command, result.stdout, scratch)
            else:
                pytest.fail(f"the quickstart shows `{command}`, which this test does not know how to run")
        assert demo is not None, "the quickstart lost `make demo`"
        out, err = demo.communicate(timeout=200)
        assert demo.returncode == 0, f"`make demo` exited {demo.returncode}:\n{out.decode()}\n{err.decode()}"
        leads = [json.loads(line)["lead"] for line in err.decode().splitlines()
                 if line.startswith("{") and json.loads(line)["event"] == "alert.console"]
        assert leads == ["PT10S", "PT0S"]
    finally:
        if demo is not None and demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
        slack.release.set()
        slack.server.shutdown()
        slack.server.server_close()
    assert [json.loads(s.body)["blocks"][0]["text"]["text"] for s in slack.seen] == [
        "alertd test notification for channel ops-slack"]
    assert "make run" in ran and ".venv/bin/alertd test stdout -c config" in ran
    assert not (ROOT / "config" / "team.yaml").exists()


def _make_run(command: str, env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "make-run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(["bash", "-c", command], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            ready = _wait_for_event(log, "daemon.ready", proc, 60)
            assert ready["summary"].startswith("1 deadline and 1 channel from config (1 file); nothing ahead")
            assert (ready["config"], ready["next"], ready["next_at"]) == ("config", None, None)
            os.killpg(proc.pid, signal.SIGTERM)  # Ctrl-C signals the whole foreground group
            _wait_for_event(log, "daemon.stopped", proc, 30)
            proc.wait(30)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _check_output(command: str, out: str, scratch: Path) -> None:
    """What the README says a command shows, where it says so."""
    if command == ".venv/bin/alertd plan -c config --from 2021-05-14 --until 2021-05-23":
        said = re.search(r"prints the five alert instants\s+(.*?)\.\n", README.read_text(encoding="utf-8"), re.S)
        assert said, "the README no longer says what this plan prints"
        instants = re.findall(r"\d{4}-\d\d-\d\dT[\d:]+Z", said[1])
        assert [line.split()[0] for line in out.splitlines()] == instants
    if command == ".venv/bin/alertd check -c config" and (scratch / "config" / "team.yaml").exists():
        assert "quarterly-report: Quarterly report to the board" in out
    if command.startswith(".venv/bin/alertd test "):
        assert out.endswith("accepted\n")
