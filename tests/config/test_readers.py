"""The forked config reader: same parts as one process, in order, and a failing helper is harmless.

Each case runs in a fresh interpreter: the helper forks only when no other thread runs, which a
test process (with servers of other tests in threads) cannot promise.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    from alertd.config import load_config, readers, resolve
    from alertd.config.problems import ConfigError

    directory, mode = Path(sys.argv[1]), sys.argv[2]
    parent = os.getpid()
    if mode == "helper-fails":
        real = readers.read_part
        def failing(*args, **kwargs):
            if os.getpid() != parent:
                raise RuntimeError("the helper breaks")
            return real(*args, **kwargs)
        readers.read_part = failing

    def outcome(parallel, stats=None, fast_yaml=True):
        try:
            config = load_config(directory, env={}, parallel=parallel, stats=stats, fast_yaml=fast_yaml)
        except ConfigError as exc:
            return ["error", [str(p) for p in exc.problems]]
        return ["ok", [[repr(d), str(d.source)] for d in config.deadlines], [str(p) for p in config.warnings]]

    resolved = []  # (process, file) of each resolution
    real_resolve = resolve.resolve_part
    def counting(part, *args, **kwargs):
        resolved.append([os.getpid() == parent, part.path.name])
        return real_resolve(part, *args, **kwargs)
    resolve.resolve_part = counting

    stats = readers.ReadStats()
    together = outcome(True, stats)
    resolved_together = list(resolved)
    alone = readers.ReadStats()
    same = together == outcome(False, alone) and not alone.forked
    same = same and together == outcome(False, fast_yaml=False)  # one process, PyYAML alone: the plainest reading
    print(json.dumps({"same": same, "stats": [stats.forked, stats.helper_files, stats.helper_failed],
                      "outcome": together[0], "resolved": resolved_together}))
""")


def write_config(directory: Path, *, files: int, broken: int | None = None, last: str = "") -> None:
    (directory / "00-channels.yaml").write_text("channels:\n  ops:\n    type: console\n")
    for k in range(files):
        lines = ["deadlines:"]
        for i in range(30):
            due = "2031-03-30T02:30" if i == 3 else f"2031-0{1 + i % 9}-1{k % 10}"  # one in a DST gap: a warning
            lines += [f"  - id: f{k}-{i}", f"    title: File {k} item {i}", f"    due: {due}",
                      "    timezone: Europe/Berlin", "    channels: [ops]"]
        if k == broken:
            lines += ["  - id: f-bad", "    title: broken", "    due: someday"]
        (directory / f"d{k:02d}.yaml").write_text("\n".join(lines) + "\n")
    if last:
        (directory / "zz-last.yaml").write_text(last)  # sorted last: read by the helper


def run(directory: Path, mode: str = "plain") -> dict:
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(directory), mode], capture_output=True, text=True,
                         check=True, timeout=60)
    return json.loads(out.stdout)


def test_the_helper_reads_half_and_the_result_is_one_processs(tmp_path: Path) -> None:
    write_config(tmp_path, files=12)
    result = run(tmp_path)
    assert result["stats"][0] is True and result["stats"][1] > 0, result
    assert result["outcome"] == "ok"
    assert result["same"]
    # the parent resolved its own files while the helper read, and those results were kept:
    # every file was resolved once, in this process
    assert sorted(name for _, name in result["resolved"]) == ["00-channels.yaml"] + [f"d{k:02d}.yaml"
                                                                                      for k in range(12)]
    assert all(in_parent for in_parent, _ in result["resolved"])


@pytest.mark.parametrize("last", [
    "defaults:\n  remind: [2d, 0]\n",  # a default every deadline takes: the early resolutions are stale
    "channels:\n  desk:\n    type: console\n",  # one more channel name: the context differs
])
def test_the_helpers_files_changing_the_context_give_the_plain_result(tmp_path: Path, last: str) -> None:
    write_config(tmp_path, files=12, last=last)
    result = run(tmp_path)
    assert result["stats"][0] is True, result
    assert result["same"]
    again = [name for _, name in result["resolved"]]
    assert len(again) > len(set(again))  # files resolved early were resolved again in the real context


def test_errors_in_the_helpers_half_keep_their_lines(tmp_path: Path) -> None:
    write_config(tmp_path, files=12, broken=11)  # the last file: the helper's half
    result = run(tmp_path)
    assert result["stats"][0] is True, result
    assert result["outcome"] == "error"
    assert result["same"]


@pytest.mark.parametrize("mode", ["helper-fails"])
def test_a_failing_helper_costs_time_not_results(tmp_path: Path, mode: str) -> None:
    write_config(tmp_path, files=12)
    result = run(tmp_path, mode)
    assert result["stats"][0] is False
    assert "status" in result["stats"][2]
    assert result["same"]


def test_an_id_twice_skips_its_repeat_and_gives_the_plain_result(tmp_path: Path) -> None:
    again = "  - id: f0-1\n    title: again\n    due: 2031-01-01\n    channels: [ops]\n"
    write_config(tmp_path, files=12, last="deadlines:\n" + again)  # the repeat in the helper's files
    (tmp_path / "d01.yaml").write_text((tmp_path / "d01.yaml").read_text() + again)  # ... and in this process's
    result = run(tmp_path)
    assert result["stats"][0] is True, result
    assert result["outcome"] == "error"
    assert result["same"]
    names = [name for _, name in result["resolved"]]
    assert names.count("d01.yaml") == 2  # resolved early without the skip, then again with it
    assert names.count("d00.yaml") == 1  # the first one is kept, and so is its early resolution
