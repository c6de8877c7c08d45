"""The config cache: a reload re-reads only changed files, and its result is a fresh load's.

Every test compares a load through a cache that saw the previous state of the directory with a
load without one: deadlines (with their sources), channels, warnings and error texts must be equal.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from alertd.config import Config, ConfigCache, load_config
from alertd.config.problems import ConfigError

CHANNELS = """\
defaults:
  timezone: Europe/Moscow
  channels: [ops]
channels:
  ops:
    type: console
  desk:
    type: console
"""


def deadlines_file(prefix: str, n: int, *, due: str = "2031-05-21", extra: str = "") -> str:
    lines = ["deadlines:"]
    for i in range(n):
        lines += [f"  - id: {prefix}-{i}", f"    title: {prefix} number {i}", f"    due: {due}"]
        if extra:
            lines.append(f"    {extra}")
    return "\n".join(lines) + "\n"


def outcome(config_dir: Path, env: dict[str, str], cache: ConfigCache | None, *, fast_yaml: bool = True) -> tuple:
    """What a load gives, in comparable form: the config's content or the error texts."""
    try:
        config = load_config(config_dir, env=env, cache=cache, fast_yaml=fast_yaml)
    except ConfigError as exc:
        return ("error", [str(p) for p in exc.problems], sorted(exc.secrets))
    return ("ok", _content(config))


def _content(config: Config) -> tuple:
    return ([(d, str(d.source)) for d in config.deadlines], dict(config.channels),
            [str(p) for p in config.warnings], sorted(config.secrets), config.files)


def assert_same_as_fresh(config_dir: Path, cache: ConfigCache, env: dict[str, str] | None = None) -> tuple:
    """A load through `cache` equals a fresh load, and a fresh load with PyYAML alone (no fast path)."""
    env = env or {}
    cached = outcome(config_dir, env, cache)
    assert cached == outcome(config_dir, env, None)
    assert cached == outcome(config_dir, env, None, fast_yaml=False)
    return cached


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "00-channels.yaml").write_text(CHANNELS)
    for k in range(4):
        (tmp_path / f"d{k}.yaml").write_text(deadlines_file(f"d{k}", 20))
    return tmp_path


def test_reload_reuses_unchanged_files_and_their_deadline_objects(tree: Path) -> None:
    cache = ConfigCache()
    first = load_config(tree, env={}, cache=cache)
    assert cache.reused == 0
    (tree / "d2.yaml").write_text(deadlines_file("d2", 20, due="2031-06-01"))
    second = load_config(tree, env={}, cache=cache)
    assert cache.reused == 4  # the channels file and three deadline files
    old = {d.id: d for d in first.deadlines}
    for d in second.deadlines:
        if d.id.startswith("d2-"):
            assert d != old[d.id]
        else:
            assert d is old[d.id]
    assert _content(second) == _content(load_config(tree, env={}))


def test_changed_defaults_re_resolve_unchanged_files(tree: Path) -> None:
    cache = ConfigCache()
    load_config(tree, env={}, cache=cache)
    (tree / "00-channels.yaml").write_text(CHANNELS.replace("Europe/Moscow", "Asia/Tokyo"))
    result = assert_same_as_fresh(tree, cache)
    assert {d.timezone for d, _ in result[1][0]} == {"Asia/Tokyo"}
    load_config(tree, env={}, cache=cache)
    assert cache.reused == 5  # nothing changed since
    tokyo = {d.id: d for d in load_config(tree, env={}, cache=cache).deadlines}
    (tree / "00-channels.yaml").write_text(CHANNELS.replace("Europe/Moscow", "Asia/Seoul"))
    seoul = load_config(tree, env={}, cache=cache)
    assert cache.reused == 4  # the deadline files are not read again: their entries meet the new defaults
    assert {d.timezone for d in seoul.deadlines} == {"Asia/Seoul"}
    assert all(d != tokyo[d.id] for d in seoul.deadlines)  # new deadlines, not the ones resolved in Tokyo


def test_removed_channel_reports_the_unchanged_files_lines(tree: Path) -> None:
    (tree / "d1.yaml").write_text(deadlines_file("d1", 3, extra="channels: [desk]"))
    cache = ConfigCache()
    load_config(tree, env={}, cache=cache)
    (tree / "00-channels.yaml").write_text(CHANNELS.replace("  desk:\n    type: console\n", ""))
    result = assert_same_as_fresh(tree, cache)
    assert result[0] == "error"
    assert any(p.startswith(f"{tree / 'd1.yaml'}:5: deadline 'd1-0': channel 'desk' is not defined")
               for p in result[1])


def test_duplicate_id_against_an_unchanged_file_names_both_lines(tree: Path) -> None:
    cache = ConfigCache()
    load_config(tree, env={}, cache=cache)
    (tree / "d3.yaml").write_text(deadlines_file("d3", 2) + "  - id: d0-7\n    title: again\n    due: 2031-01-01\n")
    result = assert_same_as_fresh(tree, cache)
    assert result[0] == "error"
    assert f"{tree / 'd3.yaml'}:8: deadline 'd0-7' is defined twice: here and at {tree / 'd0.yaml'}:23" in \
        result[1][0]


def test_files_with_references_are_read_again(tree: Path) -> None:
    (tree / "d0.yaml").write_text("deadlines:\n  - id: ref\n    title: for ${WHO}\n    due: 2031-05-21\n")
    cache = ConfigCache()
    assert assert_same_as_fresh(tree, cache, {"WHO": "the desk"})[0] == "ok"
    result = assert_same_as_fresh(tree, cache, {"WHO": "the minister"})
    assert [d.title for d, _ in result[1][0] if d.id == "ref"] == ["for the minister"]
    assert cache.reused == 4  # every file but the one with a reference


def test_broken_then_fixed_then_removed(tree: Path) -> None:
    cache = ConfigCache()
    load_config(tree, env={}, cache=cache)
    good = (tree / "d1.yaml").read_text()
    (tree / "d1.yaml").write_text(good.replace("title: d1 number 3", "title: [unclosed"))
    assert assert_same_as_fresh(tree, cache)[0] == "error"
    (tree / "d1.yaml").write_text(good)
    assert assert_same_as_fresh(tree, cache)[0] == "ok"
    (tree / "d1.yaml").unlink()
    result = assert_same_as_fresh(tree, cache)
    assert not [d for d, _ in result[1][0] if d.id.startswith("d1-")]


EDITS = ("retime", "retitle", "break", "dup", "zone", "drop-channel", "restore", "add-file", "remove-file")


@pytest.mark.parametrize("seed", range(12))
def test_random_edit_sequences_match_fresh_loads(tree: Path, seed: int) -> None:
    rng = random.Random(seed)
    cache = ConfigCache()
    assert_same_as_fresh(tree, cache)
    for _ in range(8):
        edit = rng.choice(EDITS)
        k = rng.randrange(4)
        target = tree / f"d{k}.yaml"
        if edit == "retime":
            target.write_text(deadlines_file(f"d{k}", 20, due=f"2031-0{rng.randrange(1, 10)}-1{rng.randrange(10)}"))
        elif edit == "retitle":
            target.write_text(deadlines_file(f"d{k}", rng.randrange(1, 25)))
        elif edit == "break":
            target.write_text(deadlines_file(f"d{k}", 5) + "  - id: Bad Id\n    due: someday\n")
        elif edit == "dup":
            target.write_text(deadlines_file(f"d{(k + 1) % 4}", 3))
        elif edit == "zone":
            (tree / "00-channels.yaml").write_text(CHANNELS.replace("Europe/Moscow", rng.choice(
                ("UTC", "America/New_York", "Europe/Moscow"))))
        elif edit == "drop-channel":
            (tree / "00-channels.yaml").write_text(CHANNELS.replace("channels: [ops]", "channels: [gone]"))
        elif edit == "restore":
            (tree / "00-channels.yaml").write_text(CHANNELS)
        elif edit == "add-file":
            (tree / f"extra{k}.yaml").write_text(deadlines_file(f"extra{k}", 4, extra="remind: [2d, 0]"))
        elif edit == "remove-file" and target.exists():
            target.unlink()
        assert_same_as_fresh(tree, cache)
