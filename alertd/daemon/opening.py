"""Which store `alertd run` opens: the SQLite ledger in the state directory (locked while in use), or
a shared PostgreSQL.

The shared part (daemon/shared.py, psycopg) is imported only when ALERTD_DATABASE_URL is set:
psycopg is the optional extra `alertd[postgres]`, and a SQLite daemon never loads it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

from alertd.daemon.notify import Notifier
from alertd.settings import Settings
from alertd.store.base import Store, StoreError
from alertd.store.ledger import Ledger
from alertd.store.lock import StateLock

__all__ = ["StateDirLock", "open_store"]


def open_store(settings: Settings, path: Path, notifier: Notifier) -> tuple[Store, ModuleType | None]:
    """The store, and daemon/shared.py when it is shared (else None). Raises StoreError naming why not."""
    if settings.database_url is None:
        return Ledger.open(path), None
    try:
        from alertd.daemon import shared  # noqa: PLC0415 - only with ALERTD_DATABASE_URL (above)
    except ImportError as exc:
        raise StoreError(f"ALERTD_DATABASE_URL is set but the PostgreSQL driver is missing ({exc.name}): "
                         "install alertd[postgres]") from None
    return shared.open_shared(settings, notifier), shared


class StateDirLock:
    """The state directory's lock, held while a daemon uses the SQLite ledger in it."""

    def __init__(self, state_dir: Path, *, shared: bool = False) -> None:
        self.dir, self.shared = state_dir, shared  # (a shared database: nothing in the directory to lock)
        self.held: StateLock | None = None

    def take(self) -> bool:
        """Hold the state directory's lock; False (the reason printed) when another daemon has it."""
        if self.held is None and not self.shared:
            try:
                self.held = StateLock.acquire(self.dir)
            except StoreError as exc:
                print(f"alertd: error: {exc}", file=sys.stderr)
                return False
        return True

    def release(self) -> None:
        if self.held is not None:
            self.held.release()
