"""A real `alertd run` serving its HTTP surface on a loopback port, and a client for it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.daemon.conftest import (  # noqa: F401 - fixtures used by these tests
    DaemonProcess,
    daemon_config,
    daemon_factory,
    notify,
    receiver,
)

TOKEN = "test-token-" + "4f1c2a9e7b3d5f60a8c1"


@dataclass
class Served:
    daemon: DaemonProcess
    url: str  # http://127.0.0.1:PORT (no trailing slash)
    token: str | None

    def client(self, *, auth: bool = True, **kw: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"} if auth and self.token else {}
        return httpx.Client(base_url=self.url, headers=headers, **({"timeout": 30.0} | kw))


@pytest.fixture
def served(daemon_factory, daemon_config, receiver) -> Callable[..., Served]:  # noqa: F811
    """`served(deadlines, token=TOKEN, env=...)`: write the config, start the daemon with
    ALERTD_HTTP_ADDR=127.0.0.1:0, wait until it is ready and listening."""

    def start(deadlines: list[dict[str, Any]], *, token: str | None = TOKEN,
              env: dict[str, str] | None = None) -> Served:
        daemon_config(receiver.url, deadlines)
        full = {"ALERTD_HTTP_ADDR": "127.0.0.1:0", **({"ALERTD_API_TOKEN": token} if token else {}), **(env or {})}
        d = daemon_factory(env=full)
        d.wait_event("daemon.ready", timeout=60)
        url = d.events("http.listening")[-1]["url"].rstrip("/")
        return Served(d, url, token)

    return start
