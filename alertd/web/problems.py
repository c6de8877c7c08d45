"""RFC 9457 problem details (`application/problem+json`): how every API error is answered."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aiohttp import web

__all__ = ["PROBLEM_JSON", "problem"]

PROBLEM_JSON = "application/problem+json"


def problem(status: int, detail: str | None = None, *, headers: dict[str, str] | None = None,
            **extra: Any) -> web.Response:
    """`{"type": "about:blank", "title": <the status phrase>, "status", "detail", ...extra}`."""
    body: dict[str, Any] = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status}
    if detail is not None:
        body["detail"] = detail
    body.update(extra)
    return web.Response(status=status, body=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                        headers={"Content-Type": PROBLEM_JSON, **(headers or {})})
