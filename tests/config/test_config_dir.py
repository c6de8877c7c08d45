"""Entries of the config directory that would be lost silently are errors naming their path."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from alertd.cli import main

GOOD = "channels:\n  c: {type: console}\ndeadlines:\n  - {id: d, title: T, due: 2031-05-21, channels: [c]}\n"


def check(config: Path) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["check", "-c", str(config)])
    return code, err.getvalue()


def test_links_that_lead_nowhere_loop_or_leave_the_tree_and_fifos_are_errors(tmp_path: Path) -> None:
    config = tmp_path / "config"
    (config / "team").mkdir(parents=True)
    (config / "a.yaml").write_text(GOOD)
    (config / "README.md").write_text("not a config file: ignored\n")
    (config / "team" / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")
    (config / "loop.yml").symlink_to("loop.yml")
    (config / "shared").symlink_to(tmp_path, target_is_directory=True)
    os.mkfifo(config / "pipe.toml")
    (config / ".ignored.yaml").symlink_to(tmp_path / "nowhere.yaml")  # a leading dot: left out on purpose
    (config / "dangling-notes.txt").symlink_to(tmp_path / "nowhere.txt")  # not a config name
    code, err = check(config)
    assert code == 1
    lines = [line for line in err.splitlines() if not line.startswith(("  hint:", "alertd:"))]
    assert lines == [
        f"{config}/loop.yml: symbolic link loop",
        f"{config}/pipe.toml: not a regular file",
        f"{config}/shared: symbolic link to a directory: alertd does not follow these; link the files instead",
        f"{config}/team/gone.yaml: broken symbolic link (No such file or directory)",
    ], err
    assert "alertd: 4 errors" in err


@contextlib.contextmanager
def shared_tmp() -> Iterator[Path]:
    """A directory another user can traverse (pytest's are private to root)."""
    path = Path(tempfile.mkdtemp(prefix="alertd-test-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        for p in path.rglob("*"):
            with contextlib.suppress(OSError):
                p.chmod(0o755)
        shutil.rmtree(path, ignore_errors=True)


def check_as_another_user(config: Path) -> tuple[int, str]:
    """`alertd check` in a forked child that gave up root (root reads any directory), else as is."""
    if os.geteuid() != 0:
        return check(config)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        code = 99
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            code, err = check(config)
            os.write(w, err.encode())
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as pipe:
        err = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), err


def test_an_unreadable_subdirectory_is_an_error_not_zero_deadlines() -> None:
    with shared_tmp() as root:
        config = root / "config"
        (config / "locked").mkdir(parents=True)
        (config / "a.yaml").write_text(GOOD)
        (config / "locked" / "b.yaml").write_text(GOOD.replace("id: d", "id: e"))
        (config / "locked").chmod(0)
        code, err = check_as_another_user(config)
        assert code == 1, err
        assert f"{config}/locked: cannot read directory: Permission denied" in err
        assert "alertd: 1 error" in err


def test_an_unreadable_file_is_an_error_naming_it() -> None:
    with shared_tmp() as root:
        config = root / "config"
        config.mkdir()
        (config / "a.yaml").write_text(GOOD)
        (config / "a.yaml").chmod(0)
        code, err = check_as_another_user(config)
        assert code == 1 and f"{config}/a.yaml: cannot read file: Permission denied" in err, err


@pytest.mark.parametrize("size", [2 * 1024 * 1024 + 1, 10 * 1024 * 1024])
def test_a_file_over_the_size_limit_is_an_error_at_the_line_past_it(tmp_path: Path, size: int) -> None:
    config = tmp_path / "config"
    config.mkdir()
    line = "# " + "x" * 97 + "\n"
    (config / "a.yaml").write_text(GOOD + line * (size // len(line) + 1))
    code, err = check(config)
    assert code == 1
    limit_line = (GOOD + line * 30000)[: 2 * 1024 * 1024].count("\n") + 1
    assert f"a.yaml:{limit_line}: the file is larger than 2 MiB, the limit for one config file" in err, err
