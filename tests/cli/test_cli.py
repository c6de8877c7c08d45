"""`alertd check` and `alertd plan` as an operator meets them, with the clock frozen where it matters."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from freezegun import freeze_time

from alertd import __version__
from alertd.cli import main

SEED = Path(__file__).resolve().parents[2] / "config"

SEED_PLAN = [
    ("P7D", "2021-05-14T21:00:00Z"),
    ("P1D", "2021-05-20T21:00:00Z"),
    ("PT6H", "2021-05-21T15:00:00Z"),
    ("PT1H", "2021-05-21T20:00:00Z"),
    ("PT0S", "2021-05-21T21:00:00Z"),
]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_seed_plan_json_lists_the_contracts_five_instants(capsys) -> None:
    code, out, _ = run(capsys, "plan", "-c", str(SEED), "--from", "2021-05-14", "--until", "2021-05-23", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [(r["lead"], r["fire_at"]) for r in rows] == SEED_PLAN
    assert rows[1] == {"deadline": "us-diplomats-leave-russia", "lead": "P1D", "fire_at": "2021-05-20T21:00:00Z",
                       "due": "2021-05-21T21:00:00Z", "channels": ["stdout"]}


def test_plan_window_is_half_open(capsys) -> None:
    _, out, _ = run(capsys, "plan", "-c", str(SEED), "--from", "2021-05-14T21:00:00Z",
                    "--until", "2021-05-21T21:00:00Z", "--json")
    assert [r["lead"] for r in json.loads(out)] == ["P7D", "P1D", "PT6H", "PT1H"]


def test_plan_accepts_offsets_and_prints_a_readable_table(capsys) -> None:
    code, out, _ = run(capsys, "plan", "-c", str(SEED), "--from", "2021-05-21T00:00:00+03:00",
                       "--until", "2021-05-22")
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 4  # 00:00 Moscow is 21:00Z the day before: the P1D alert is in
    assert lines[0].startswith("2021-05-20T21:00:00Z  P1D")
    assert "Fri 21 May 2021, 24:00 MSK" in lines[0]


@pytest.mark.parametrize("bad", [["--from", "yesterday"], ["--from", "2021-05-14T00:00:00"],
                                 ["--from", "2021-05-14", "--until", "2021-05-01"], ["--bogus"],
                                 ["--from", "9999-12-31T23:59:59Z"], ["--from", "0001-01-01T00:00:00+14:00"],
                                 ["--from", "2021-05-14", "--until", "0001-01-01T00:00:00+00:01"]])
def test_plan_usage_errors_exit_2(capsys, bad: list[str]) -> None:
    with pytest.raises(SystemExit) if bad == ["--bogus"] else _no_raise() as exc:
        code = main(["plan", "-c", str(SEED), *bad])
    if bad == ["--bogus"]:
        assert exc.value.code == 2
    else:
        assert code == 2
        err = capsys.readouterr().err
        assert err.startswith("usage: alertd plan ")  # the command's usage, not the top-level one
        assert "alertd plan: error:" in err and "Traceback" not in err


class _no_raise:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def test_plan_defaults_to_thirty_days_from_now(capsys) -> None:
    with freeze_time("2021-05-01T00:00:00Z"):
        _, out, _ = run(capsys, "plan", "-c", str(SEED), "--json")
    assert [r["lead"] for r in json.loads(out)] == ["P7D", "P1D", "PT6H", "PT1H", "PT0S"]
    with freeze_time("2021-04-21T21:00:00Z"):  # 30 days before the at-deadline alert: not included
        _, out, _ = run(capsys, "plan", "-c", str(SEED), "--json")
    assert [r["lead"] for r in json.loads(out)] == ["P7D", "P1D", "PT6H", "PT1H"]


@pytest.mark.parametrize(
    ("moscow_now", "utc_now", "leads"),
    [
        # one second before local midnight: the P1D alert (end of 20 May) has not fired yet
        ("2021-05-20 23:59:59", "2021-05-20T20:59:59Z", ["P1D", "PT6H", "PT1H", "PT0S"]),
        # at local midnight it is due now: [from, until) includes it
        ("2021-05-21 00:00:00", "2021-05-20T21:00:00Z", ["P1D", "PT6H", "PT1H", "PT0S"]),
        ("2021-05-21 00:00:01", "2021-05-20T21:00:01Z", ["PT6H", "PT1H", "PT0S"]),
        # around the deadline itself, the end of 21 May
        ("2021-05-21 23:59:59", "2021-05-21T20:59:59Z", ["PT0S"]),
        ("2021-05-22 00:00:01", "2021-05-21T21:00:01Z", []),
    ],
)
def test_plan_around_local_midnight(capsys, moscow_now: str, utc_now: str, leads: list[str]) -> None:
    with freeze_time(utc_now):
        _, out, _ = run(capsys, "plan", "-c", str(SEED), "--json")
    assert [r["lead"] for r in json.loads(out)] == leads, moscow_now


@pytest.mark.parametrize(
    ("utc_now", "next_line"),
    [
        ("2021-05-20T20:59:59Z", "next  P1D at 2021-05-20T21:00:00Z"),
        ("2021-05-20T21:00:01Z", "next  PT6H at 2021-05-21T15:00:00Z"),
        ("2021-05-21T21:00:01Z", "next  none: every alert has fired"),
    ],
)
def test_check_shows_the_resolved_due_and_the_next_alert(capsys, utc_now: str, next_line: str) -> None:
    with freeze_time(utc_now):
        code, out, err = run(capsys, "check", "-c", str(SEED))
    assert code == 0
    assert "due   Fri 21 May 2021, 24:00 MSK (Europe/Moscow) = 2021-05-21T21:00:00Z" in out
    assert next_line in out
    assert "config OK: 1 deadline, 1 channel" in out
    assert ("is already past" in err) == (utc_now > "2021-05-21T21")


def test_check_warns_about_gaps_and_folds_but_passes(write_config, capsys) -> None:
    config = write_config({"a.yaml": """
        channels: {c: {type: console}}
        defaults: {channels: [c], timezone: America/New_York}
        deadlines:
          - {id: gap, title: Spring forward, due: "2031-03-09T02:30"}
          - {id: fold, title: Fall back, due: "2031-11-02T01:30"}
        """})
    with freeze_time("2031-01-01T00:00:00Z"):
        code, _out, err = run(capsys, "check", "-c", str(config))
    assert code == 0
    assert f"{config}/a.yaml:4: warning: deadline 'gap': the local time it names does not exist" in err
    assert "Sun 9 Mar 2031, 03:30 EDT" in err
    assert f"{config}/a.yaml:5: warning: deadline 'fold': the local time it names occurs twice" in err
    assert "2031-11-02T05:30:00Z" in err


def test_check_warns_about_a_day_that_never_happened_and_labels_its_instant(write_config, capsys) -> None:
    """Samoa skipped Friday 30 December 2011 (from UTC-10 to UTC+14): its end is 10:00Z that day."""
    config = write_config({"a.yaml": """
        channels: {c: {type: console}}
        defaults: {channels: [c], timezone: Pacific/Apia}
        deadlines:
          - {id: skipped, title: The Friday Samoa skipped, due: "2011-12-30"}
          - {id: before, title: The Thursday before, due: "2011-12-29T12:00"}
        """})
    with freeze_time("2011-12-01T00:00:00Z"):
        code, out, err = run(capsys, "check", "-c", str(config))
    assert code == 0
    assert err.splitlines() == [
        f"{config}/a.yaml:4: warning: deadline 'skipped': the date it names never happened in Pacific/Apia (a clock "
        "change skipped the whole day); its end is the start of the next day: Fri 30 Dec 2011, 24:00 +14 = "
        "2011-12-30T10:00:00Z",
    ]
    assert "  due   Fri 30 Dec 2011, 24:00 +14 (Pacific/Apia) = 2011-12-30T10:00:00Z" in out.splitlines()


def test_yaml_implicit_typing_does_not_change_meaning(write_config) -> None:
    from alertd.config import load_config  # noqa: PLC0415

    config = write_config({
        "a.yaml": """
            channels: {c: {type: console}}
            deadlines:
              - {id: plain, title: no, due: 2021-05-21, remind: [1d, 0], channels: [c], tags: [yes, 1.0, off]}
              - {id: quoted, title: "no", due: "2021-05-21", remind: ["1d", "0"], channels: [c]}
            """,
        "b.toml": """
            [[deadlines]]
            id = "toml"
            title = "no"
            due = 2021-05-21
            remind = ["1d", 0]
            channels = ["c"]
            """,
    })
    by_id = {d.id: d for d in load_config(config, env={}).deadlines}
    assert by_id["plain"].title == "no"
    assert by_id["plain"].tags == ("yes", "1.0", "off")
    for other in ("quoted", "toml"):
        assert by_id[other].due == by_id["plain"].due
        assert by_id[other].leads == by_id["plain"].leads
        assert by_id[other].written == by_id["plain"].written


def test_defaults_apply_and_files_merge_across_directories(write_config) -> None:
    from alertd.config import load_config  # noqa: PLC0415

    config = write_config({
        "00-defaults.yaml": "defaults: {timezone: Europe/Moscow, remind: [1d, 0], channels: [c]}\n",
        "channels/c.toml": '[channels.c]\ntype = "console"\n',
        "desks/a.yml": "deadlines:\n  - {id: a, title: A, due: 2021-05-21}\n",
        ".hidden/ignored.yaml": "not: [valid\n",
        "notes.txt": "ignored too",
    })
    loaded = load_config(config, env={})
    (d,) = loaded.deadlines
    assert d.timezone == "Europe/Moscow" and [lead.iso for lead in d.leads] == ["P1D", "PT0S"]
    assert d.channels == ("c",)
    assert [p.name for p in loaded.files] == ["00-defaults.yaml", "c.toml", "a.yml"]


def test_version_and_usage_exit_codes() -> None:
    out = subprocess.run([sys.executable, "-m", "alertd.cli", "--version"], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0 and out.stdout.strip() == f"alertd {__version__}"
    out = subprocess.run([sys.executable, "-m", "alertd.cli", "frobnicate"], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 2


def test_check_exits_1_as_a_real_process_with_a_broken_config(write_config) -> None:
    config = write_config({"a.yaml": "deadlines: [{id: x}]\n"})
    out = subprocess.run([sys.executable, "-m", "alertd.cli", "check", "-c", str(config)], capture_output=True,
                         text=True, check=False)
    assert out.returncode == 1
    assert f"{config}/a.yaml:1: deadline 'x': title: missing required key" in out.stderr
    assert "Traceback" not in out.stderr


def test_config_dir_comes_from_the_environment(write_config, capsys, monkeypatch) -> None:
    config = write_config({"a.yaml": "channels: {c: {type: console}}\n"})
    monkeypatch.setenv("ALERTD_CONFIG_DIR", str(config))
    code, out, _ = run(capsys, "check")
    assert code == 0 and "0 deadlines, 1 channel" in out
    monkeypatch.delenv("ALERTD_CONFIG_DIR")
    monkeypatch.setenv("CONFIGURATION_DIRECTORY", str(config))
    code, out, _ = run(capsys, "check")
    assert code == 0 and "0 deadlines, 1 channel" in out
