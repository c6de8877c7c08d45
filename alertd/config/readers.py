"""Reading many config files: in this process, or half of them in a forked helper.

Parsing and validating 100,000 deadlines is pure Python work bound to one core. When there is
a lot to read (`PARALLEL_BYTES`), more than one CPU, and this process runs no other thread,
`read_parts` forks once: the child reads the last files (55% by size) and sends its `FilePart`s
back pickled through a pipe while the parent reads the first ones, then does the caller's
`meanwhile` work on them (load.py resolves them) until the child is done: the parent has the
resolving of the child's parts still to do after the join, hence the uneven split. The results
are the parts a single process would have made, in the same order; if the helper fails in any
way (cannot fork, killed, short or bad data), the parent reads its share itself. A fork with
other threads alive could deadlock the child on a lock one of them held, hence the
single-thread rule.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alertd.config.filepart import FilePart, read_part

__all__ = ["PARALLEL_BYTES", "PARENT_SHARE", "ReadStats", "read_parts"]

PARALLEL_BYTES = 4 * 1024 * 1024  # below this much YAML, a fork costs more than it saves
PARENT_SHARE = 0.45  # of the bytes, read by the parent. At 100k deadlines (CPU on the critical path,
# 4 interleaved runs): 0.45 matched resolving in both processes; 0.5 and 0.4 left one side waiting


@dataclass
class ReadStats:
    """How a `read_parts` call went (for the tests and the benchmark): the caller passes one in."""

    forked: bool = False
    helper_files: int = 0  # files the helper read, when it was used
    helper_failed: str = ""  # why the parent read the helper's half itself, when it had to


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def read_parts(paths: list[Path], env: Mapping[str, str], pool: dict[Any, Any], *, parallel: bool | None = None,
               fast_yaml: bool = True, stats: ReadStats | None = None,
               meanwhile: Callable[[list[FilePart]], None] | None = None) -> list[FilePart]:
    """The parts of the files at `paths`, in order (see filepart.read_part for `pool`, `fast_yaml`).

    `parallel=None` decides by size, CPUs and threads; True forks whenever there are two files
    or more and no other thread (tests); False never forks. `stats`, when given, is filled in.
    `meanwhile(parts)` runs in this process on the parts it read itself, while a helper reads
    the rest (not at all when there is no helper).
    """
    stats = stats if stats is not None else ReadStats()

    def read(some: list[Path], pool: dict[Any, Any]) -> list[FilePart]:
        return [read_part(path, env, pool, fast_yaml=fast_yaml) for path in some]

    sizes = [_size(path) for path in paths]
    if parallel is None:
        parallel = sum(sizes) >= PARALLEL_BYTES and _cpus() > 1
    if not parallel or len(paths) < 2 or threading.active_count() > 1 or not hasattr(os, "fork"):
        return read(paths, pool)
    split = _split(sizes)
    mine, theirs = paths[:split], paths[split:]
    helper = _Helper.start(lambda: read(theirs, {}), stats)
    if helper is None:
        return read(paths, pool)
    parts = read(mine, pool)
    if meanwhile is not None:
        meanwhile(parts)
    got = helper.collect(stats)
    if got is None or len(got) != len(theirs):
        stats.helper_failed = stats.helper_failed or "short result"
        got = read(theirs, pool)
    else:
        stats.forked, stats.helper_files = True, len(got)
    return parts + got


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _split(sizes: list[int]) -> int:
    """The index before which files of these sizes hold about PARENT_SHARE of the bytes (each side
    non-empty)."""
    total, acc = sum(sizes), 0
    for i, size in enumerate(sizes):
        acc += size
        if acc >= total * PARENT_SHARE:
            return min(max(i + 1, 1), len(sizes) - 1)
    return len(sizes) - 1


class _Helper:
    def __init__(self, pid: int, fd: int) -> None:
        self.pid = pid
        self.fd = fd

    @classmethod
    def start(cls, work: Callable[[], list[FilePart]], stats: ReadStats) -> _Helper | None:
        try:
            r, w = os.pipe()
        except OSError as exc:
            stats.helper_failed = f"pipe: {exc}"
            return None
        try:
            pid = os.fork()
        except OSError as exc:
            os.close(r)
            os.close(w)
            stats.helper_failed = f"fork: {exc}"
            return None
        if pid == 0:  # pragma: no cover - the child; its work is checked by what the parent gets
            code = 1
            try:
                os.close(r)
                parts = work()  # read_part let each file's text and line marks go (a closure)
                data = pickle.dumps(parts, protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(w, "wb") as out:
                    out.write(data)
                code = 0
            finally:
                os._exit(code)  # no atexit handlers, no flushing of the parent's buffers
        os.close(w)
        return cls(pid, r)

    def collect(self, stats: ReadStats) -> list[FilePart] | None:
        chunks = []
        try:
            with os.fdopen(self.fd, "rb") as pipe:
                while chunk := pipe.read(1 << 20):
                    chunks.append(chunk)
        finally:
            _, status = os.waitpid(self.pid, 0)
        if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            stats.helper_failed = f"helper ended with status {status}"
            return None
        with contextlib.suppress(Exception):
            parts = pickle.loads(b"".join(chunks))  # noqa: S301 - our own child's data, through our own pipe
            if isinstance(parts, list) and all(isinstance(p, FilePart) for p in parts):
                return parts
        stats.helper_failed = "unreadable result"
        return None
