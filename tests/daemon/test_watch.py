"""The config watch: which files a poll sees, and when a change counts (real files, polls at given times)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from alertd.config.sources import find_config_files
from alertd.daemon.watch import ConfigWatch, snapshot
from alertd.settings import parse_interval

EVERY = timedelta(seconds=1)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    directory = tmp_path / "config"
    directory.mkdir()
    (directory / "a.yaml").write_text("deadlines: []\n")
    return directory


def test_a_poll_sees_exactly_the_files_the_loader_reads(tmp_path: Path, config: Path) -> None:
    for name in ("b.yml", "c.toml", "team/d.yaml", "team/deep/e.yaml", "notes.txt", "f.yaml~", ".hidden.yaml",
                 ".git/x.yaml", "team/.swp/y.yaml"):
        (config / name).parent.mkdir(parents=True, exist_ok=True)
        (config / name).write_text("deadlines: []\n")
    (config / "dir.yaml").mkdir()  # a directory with a config suffix is not a file
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "linked.yaml").write_text("deadlines: []\n")
    (config / "link.yaml").symlink_to(outside / "linked.yaml")  # a linked file is read ...
    (config / "linkdir").symlink_to(outside, target_is_directory=True)  # ... a linked directory is not walked
    (config / "dangling.yaml").symlink_to(tmp_path / "gone.yaml")

    expected = sorted(str(p.relative_to(config)) for p in find_config_files(config))
    assert sorted(snapshot(config)) == expected
    assert "link.yaml" in expected and "team/deep/e.yaml" in expected


def test_a_missing_directory_is_an_empty_snapshot(tmp_path: Path) -> None:
    assert snapshot(tmp_path / "nowhere") == {}


def test_nothing_changed_never_asks_for_a_reload(config: Path) -> None:
    watch = ConfigWatch(config, EVERY, now=0)
    assert [watch.poll(t) for t in (1, 2, 3, 4)] == [None] * 4


def test_a_change_is_reported_once_it_held_still_for_one_poll(config: Path) -> None:
    watch = ConfigWatch(config, EVERY, now=0)
    (config / "new.yaml").write_text("deadlines: []\n")
    assert watch.poll(1) is None, "just changed: it may still be being written"
    assert watch.poll(2) == {"added": ["new.yaml"], "removed": [], "modified": []}


def test_a_poll_before_the_interval_is_up_does_not_look(config: Path) -> None:
    watch = ConfigWatch(config, EVERY, now=0)
    (config / "new.yaml").write_text("deadlines: []\n")
    assert watch.poll(0.5) is None
    assert watch.poll(0.9) is None
    assert watch.poll(1.0) is None  # the first look: changed
    assert watch.poll(1.5) is None
    assert watch.poll(2.0) is not None  # the second look: settled


def test_a_file_that_keeps_growing_is_not_reloaded_halfway(config: Path) -> None:
    watch = ConfigWatch(config, EVERY, now=0)
    path = config / "big.yaml"
    with path.open("w") as f:
        for t in (1, 2, 3):
            f.write(f"# part {t}\n")
            f.flush()
            assert watch.poll(t) is None
        f.write("deadlines: []\n")
    assert watch.poll(4) is None
    assert watch.poll(5) == {"added": ["big.yaml"], "removed": [], "modified": []}


def test_a_change_undone_before_it_settled_asks_for_nothing(config: Path) -> None:
    watch = ConfigWatch(config, EVERY, now=0)
    (config / "tmp.yaml").write_text("x: 1\n")
    assert watch.poll(1) is None
    (config / "tmp.yaml").unlink()
    assert watch.poll(2) is None
    assert watch.poll(3) is None


def test_modified_and_removed_files_are_named(config: Path) -> None:
    (config / "b.yaml").write_text("deadlines: []\n")
    watch = ConfigWatch(config, EVERY, now=0)
    (config / "a.yaml").write_text("deadlines: []\n# edited\n")
    (config / "b.yaml").unlink()
    watch.poll(1)
    assert watch.poll(2) == {"added": [], "removed": ["b.yaml"], "modified": ["a.yaml"]}


def test_an_atomic_replace_with_the_same_size_and_time_is_seen(config: Path) -> None:
    """Editors and config tools write a temporary file and rename it over: the inode changes."""
    path = config / "a.yaml"
    st = path.stat()
    watch = ConfigWatch(config, EVERY, now=0)
    tmp = config / ".a.yaml.tmp"
    tmp.write_text("deadlines: [] \n"[: st.st_size])
    os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
    tmp.replace(path)
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    watch.poll(1)
    assert watch.poll(2) == {"added": [], "removed": [], "modified": ["a.yaml"]}


def test_a_reload_for_another_reason_absorbs_the_change(config: Path) -> None:
    """SIGHUP after an edit: the reload read the edit, so the watch must not reload again."""
    watch = ConfigWatch(config, EVERY, now=0)
    (config / "new.yaml").write_text("deadlines: []\n")
    assert watch.poll(1) is None
    watch.rebase()  # what the daemon calls as it reloads
    assert watch.poll(2) is None
    assert watch.poll(3) is None


def test_after_a_reported_change_the_next_one_is_new(config: Path) -> None:
    watch = ConfigWatch(config, EVERY, now=0)
    (config / "one.yaml").write_text("x: 1\n")
    watch.poll(1)
    assert watch.poll(2) is not None
    watch.rebase()
    assert watch.poll(3) is None
    (config / "two.yaml").write_text("x: 1\n")
    watch.poll(4)
    assert watch.poll(5) == {"added": ["two.yaml"], "removed": [], "modified": []}


@pytest.mark.parametrize(("text", "seconds"), [
    ("2s", 2), ("500ms", 0.5), ("0.25s", 0.25), ("1m", 60), ("1h", 3600), ("3", 3), (" 2S ", 2),
    ("0", None), ("0s", None), ("off", None), ("", None),
])
def test_watch_intervals_parse(text: str, seconds: float | None) -> None:
    value = parse_interval(text)
    assert (value.total_seconds() if value is not None else None) == seconds


@pytest.mark.parametrize(("text", "message"), [
    ("2x", "is not a duration"), ("fast", "is not a duration"), ("-1s", "is not a duration"),
    ("50ms", "from 100ms to 1 day"), ("2d", "is not a duration"), ("25h", "from 100ms to 1 day"),
])
def test_bad_watch_intervals_are_named(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_interval(text)
