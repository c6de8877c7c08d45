"""Shared fixtures: config directories written from text, a scripted loopback HTTP receiver.

The daemon tests have their own `receiver` (tests/daemon/conftest.py), which records arrival times."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.peers import Receiver


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write {relative path: text} into a fresh config directory and return it."""

    def write(files: dict[str, str | bytes], name: str = "config") -> Path:
        root = tmp_path / name
        root.mkdir(exist_ok=True)
        for rel, text in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(text, bytes):
                path.write_bytes(text)
            else:
                path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return root

    return write


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    yield r
    r.release.set()
    r.server.shutdown()
    r.server.server_close()


pytest_plugins = ["tests.pgserver"]  # `pg_url`: a fresh database on a real PostgreSQL (found or started)
