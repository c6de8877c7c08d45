"""Which key signs the action links, and whether messages carry them: the daemon's side of links.

ALERTD_PUBLIC_URL unset: no links. The key is derived from ALERTD_LINK_SECRET (which `alertd run`
fills from the systemd credential `link-secret` when the variable is unset) when one is given, so
several instances given the same secret agree without sharing a store; else it is the key the
state store made and keeps (`Store.link_key`). The web page checks links with the same key.
"""

from __future__ import annotations

import structlog

from alertd.core.links import Linker, derive_key
from alertd.redact import Redactor
from alertd.settings import Settings
from alertd.store.base import Store

__all__ = ["link_key", "linker"]

log = structlog.get_logger("alertd.daemon.links")


def link_key(settings: Settings, store: Store, redact: Redactor | None = None) -> bytes:
    """The action-link key: derived from the secret given (then added to `redact`), else the store's.

    Raises StoreError when the store cannot make or read its key.
    """
    if settings.link_secret is None:
        return store.link_key()
    secret = settings.link_secret.get_secret_value()
    if redact is not None:
        redact.update([secret])
    return derive_key(secret)


def linker(settings: Settings, store: Store, redact: Redactor) -> Linker | None:
    """What makes the links messages carry; None when ALERTD_PUBLIC_URL is unset."""
    if settings.public_url is None:
        return None
    key = link_key(settings, store, redact)
    # Never the key: only where it comes from.
    log.info("links.enabled", public_url=settings.public_url,
             key="given" if settings.link_secret is not None else "kept in the state store")
    return Linker(settings.public_url, key)
