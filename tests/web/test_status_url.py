"""`alertd status --url URL`: the status of a daemon on another host, through its HTTP API."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.daemon.conftest import REPO, just_passed
from tests.web.conftest import TOKEN
from tests.web.test_api import _deadlines


def _status(url: str, *args: str, token: str | None = TOKEN) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTD_")}
    if token:
        env["ALERTD_API_TOKEN"] = token
    return subprocess.run([sys.executable, "-m", "alertd.cli", "status", "--url", url, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_status_from_another_host(served):
    s = served(_deadlines())
    s.daemon.wait_event("alert.sent", timeout=60)
    with s.client() as c:
        c.post("/api/v1/deadlines/late/ack", json={"by": "alice"})
    done = _status(s.url)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"alertd at {s.url}"
    assert any(line.startswith("  late  acknowledged by alice at ") for line in lines)
    assert "recent deliveries:" in done.stdout and "-> hook" in done.stdout
    assert "failures: none" in done.stdout
    as_json = json.loads(_status(s.url, "--json").stdout)
    assert {d["id"] for d in as_json["deadlines"]} == {"report", "late", "later", "soon"}
    assert as_json["next"][0]["deadline"] == "soon" and as_json["recent"]
    one = json.loads(_status(s.url, "--json", "later").stdout)
    assert [d["id"] for d in one["deadlines"]] == ["later"]


def test_clear_errors_for_a_bad_token_an_unknown_id_or_no_daemon(served):
    s = served([just_passed("report")])
    refused = _status(s.url, token="not-the-token-at-all")
    assert refused.returncode == 1
    assert refused.stderr.strip() == f"alertd: error: {s.url} refused the token: set ALERTD_API_TOKEN to the " \
                                     "daemon's token"
    unknown = _status(s.url, "nope")
    assert unknown.returncode == 1 and "has no deadline 'nope'" in unknown.stderr
    gone = _status("http://127.0.0.1:9")
    assert gone.returncode == 1 and gone.stderr.startswith("alertd: error: cannot reach http://127.0.0.1:9")
