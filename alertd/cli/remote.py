"""`alertd status --url URL`: the same view as `alertd status`, from another host, through the HTTP API.

Reads `GET /api/v1/deadlines` (or each `deadlines/{id}`) and `GET /api/v1/deliveries` (recent,
failed and missed) with the token of ALERTD_API_TOKEN (or the credential `api-token`). The next
alerts are the deadlines' next alerts (the ledger's retries are not in the API). Exit 1 with one
line when the daemon cannot be reached, refuses the token, or does not know an ID.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

import httpx

from alertd.cli.status import render
from alertd.core.display import printable
from alertd.exitcodes import EX_FAIL, EX_OK
from alertd.settings import Settings
from alertd.web.auth import TokenError, resolve_token

__all__ = ["cmd_status_url"]

TIMEOUT = 30.0


class _Refused(Exception):
    pass


def _get(client: httpx.Client, path: str, **params: Any) -> Any:
    resp = client.get(path, params=params)
    if resp.status_code == 401:
        raise _Refused("refused the token: set ALERTD_API_TOKEN to the daemon's token")
    if resp.status_code == 404 and path.startswith("/api/v1/deadlines/"):
        raise _Refused(f"has no deadline {path.rsplit('/', 1)[1]!r}")
    if resp.status_code != 200:
        detail = resp.json().get("detail", "") if "json" in resp.headers.get("content-type", "") else ""
        raise _Refused(f"answered {resp.status_code} to {path}{': ' + detail if detail else ''}")
    return resp.json()


def cmd_status_url(url: str, settings: Settings, *, as_json: bool, limit: int, ids: list[str] | None,
                   out: TextIO, err: TextIO) -> int:
    base = url.rstrip("/")
    try:
        token = resolve_token(settings)
    except TokenError as exc:
        print(f"alertd: error: {exc}", file=err)
        return EX_FAIL
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=TIMEOUT) as client:
            if ids:
                deadlines = [_get(client, f"/api/v1/deadlines/{i}") for i in ids]
            else:
                deadlines = _get(client, "/api/v1/deadlines", limit=min(limit, 1000))["deadlines"]
            recent = _get(client, "/api/v1/deliveries", limit=min(limit, 1000))["deliveries"]
            failures = [d for state in ("failed", "missed")
                        for d in _get(client, "/api/v1/deliveries", state=state, limit=min(limit, 1000))["deliveries"]]
    except httpx.HTTPError as exc:
        print(f"alertd: error: cannot reach {printable(base)}: {printable(str(exc)) or type(exc).__name__}", file=err)
        return EX_FAIL
    except _Refused as exc:
        print(f"alertd: error: {printable(base)} {printable(str(exc))}", file=err)
        return EX_FAIL
    if ids:
        wanted = set(ids)
        recent = [r for r in recent if r["deadline"] in wanted]
        failures = [r for r in failures if r["deadline"] in wanted]
    failures = sorted(failures, key=lambda r: r["updated_at"], reverse=True)[:limit]
    upcoming = sorted(({"deadline": d["id"], "lead": d["next_alert"]["lead"], "fire_at": d["next_alert"]["fire_at"],
                        "due": d["due"], "channels": d["next_alert"]["channels"], "state": "planned", "attempts": 0,
                        "next_retry_at": None, "last_error": None} for d in deadlines if d["next_alert"]),
                      key=lambda i: (i["fire_at"], i["deadline"]))[:limit]
    deadlines = deadlines[:limit]
    if as_json:
        print(json.dumps({"deadlines": deadlines, "next": upcoming, "recent": recent[:limit], "failures": failures},
                         ensure_ascii=False), file=out)
        return EX_OK
    text = render(upcoming, recent[:limit], failures, {}, ledger=Path("-"), deadlines=deadlines)  # line 1 replaced
    print(f"alertd at {printable(base)}" + text.split("\n", 1)[1], file=out)
    return EX_OK
