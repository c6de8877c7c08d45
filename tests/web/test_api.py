"""The JSON API against the real daemon: every route, its errors, and `alertd plan --json` parity."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from tests.daemon.conftest import REPO, iso, just_passed, wait_until
from tests.web.conftest import TOKEN

ROUTES = [("GET", "/api/v1/deadlines"), ("GET", "/api/v1/deadlines/report"), ("GET", "/api/v1/alerts"),
          ("GET", "/api/v1/deliveries"), ("POST", "/api/v1/deadlines/report/ack"),
          ("POST", "/api/v1/deadlines/report/snooze"), ("POST", "/api/v1/deadlines/report/done"),
          ("POST", "/api/v1/deadlines/report/reopen"), ("GET", "/api/v1/openapi.json")]


def _deadlines():
    now = datetime.now(UTC)
    return [
        {**just_passed("report"), "tags": ["desk:politics"]},
        {"id": "late", "title": "Already late", "due": iso(now - timedelta(minutes=5)), "remind": ["1h"],
         "tags": ["desk:sport"]},
        {"id": "later", "title": "Next week", "due": iso(now + timedelta(days=7)), "remind": ["1d"],
         "tags": ["desk:politics"]},
        {"id": "soon", "title": "Soon", "due": iso(now + timedelta(minutes=50)), "remind": ["30m", "0"]},
    ]


@pytest.fixture
def api(served):
    s = served(_deadlines())
    s.daemon.wait_event("alert.sent", timeout=60)  # report's reminder: a delivery in the ledger
    return s


def _problem(resp, status: int) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert body["status"] == status and body["type"] == "about:blank" and body["title"]
    return body


def test_every_route_needs_the_token(api):
    with api.client(auth=False) as c:
        for method, path in ROUTES:
            basic = "Basic " + base64.b64encode(f"anyone:{TOKEN}".encode()).decode()  # a page's form, not the API's
            for headers in ({}, {"Authorization": "Bearer not-" + TOKEN}, {"Authorization": "Basic !!"},
                            {"Authorization": basic}):
                resp = c.request(method, path, headers=headers, json={})
                _problem(resp, 401)
                assert resp.headers["www-authenticate"].startswith("Bearer")
                assert TOKEN not in resp.text
    with api.client() as c:
        assert c.get("/api/v1/deadlines").status_code == 200


def test_deadlines_in_status_order_with_their_states(api):
    with api.client() as c:
        body = c.get("/api/v1/deadlines").json()
    ids = [d["id"] for d in body["deadlines"]]
    assert ids == ["late", "soon", "later", "report"]  # overdue first, then by next alert, then nothing ahead
    assert body["total"] == 4 and body["next"] is None
    late = body["deadlines"][0]
    assert late["state"] == "overdue" and late["by"] is None
    assert set(late) >= {"id", "title", "due", "timezone", "tags", "next_alert", "state", "by", "at", "until"}
    assert body["deadlines"][1]["next_alert"]["lead"] == "PT30M"
    assert body["deadlines"][3]["next_alert"] is None  # its one reminder was sent


def test_filters_and_pages(api):
    with api.client() as c:
        tagged = c.get("/api/v1/deadlines", params={"tag": "desk:politics"}).json()
        assert [d["id"] for d in tagged["deadlines"]] == ["later", "report"]
        overdue = c.get("/api/v1/deadlines", params={"state": "overdue"}).json()
        assert [d["id"] for d in overdue["deadlines"]] == ["late"]
        first = c.get("/api/v1/deadlines", params={"limit": 3}).json()
        assert len(first["deadlines"]) == 3 and first["next"]
        second = c.get(first["next"]).json()
        assert [d["id"] for d in second["deadlines"]] == ["report"] and second["next"] is None
        for params in ({"limit": "0"}, {"limit": "x"}, {"offset": "-1"}, {"state": "sleeping"}):
            body = _problem(c.get("/api/v1/deadlines", params=params), 422)
            assert body["errors"][0]["name"] == next(iter(params))


def test_one_deadline_and_unknown_ids(api):
    with api.client() as c:
        one = c.get("/api/v1/deadlines/report").json()
        assert one["id"] == "report" and one["tags"] == ["desk:politics"] and one["state"] == "open"
        assert "nope" in _problem(c.get("/api/v1/deadlines/nope"), 404)["detail"]
        _problem(c.post("/api/v1/deadlines/nope/ack", json={}), 404)
        _problem(c.get("/api/v1/nothing-here"), 404)
        _problem(c.delete("/api/v1/deadlines/report"), 405)


def test_alerts_are_the_objects_of_plan_json(api, tmp_path):
    start, end = iso(datetime.now(UTC) - timedelta(days=1)), iso(datetime.now(UTC) + timedelta(days=30))
    with api.client() as c:
        body = c.get("/api/v1/alerts", params={"from": start, "until": end}).json()
        for params in ({"from": "yesterday"}, {"from": "2030-01-01T00:00:00"},
                       {"from": end, "until": start}, {"from": start, "until": "2099-01-01T00:00:00Z"}):
            _problem(c.get("/api/v1/alerts", params=params), 422)
    planned = subprocess.run([sys.executable, "-m", "alertd.cli", "plan", "-c", str(tmp_path / "config"),
                              "--from", start, "--until", end, "--json"], cwd=REPO, capture_output=True,
                             text=True, check=True)
    assert body["alerts"] == json.loads(planned.stdout)
    assert body["truncated"] is False and len(body["alerts"]) >= 4


def test_deliveries_filtered_and_paged(api):
    api.daemon.wait_event("alert.sent", n=1, timeout=60)
    with api.client() as c:
        body = c.get("/api/v1/deliveries").json()
        assert body["deliveries"] and body["deliveries"][0]["deadline"] == "report"
        assert body["deliveries"][0]["state"] == "sent"
        assert c.get("/api/v1/deliveries", params={"deadline": "later"}).json()["deliveries"] == []
        assert c.get("/api/v1/deliveries", params={"state": "failed"}).json()["deliveries"] == []
        since = c.get("/api/v1/deliveries", params={"since": iso(datetime.now(UTC) + timedelta(hours=1))})
        assert since.json()["deliveries"] == []
        page = c.get("/api/v1/deliveries", params={"limit": 1}).json()
        assert len(page["deliveries"]) == 1 and page["next"]
        rest = c.get(page["next"]).json()
        assert page["deliveries"][0]["alert_id"] not in {d["alert_id"] for d in rest["deliveries"]}
        for params in ({"state": "lost"}, {"before": "%%%"}, {"since": "now"}, {"limit": "5000"}):
            _problem(c.get("/api/v1/deliveries", params=params), 422)


def test_acting_through_the_api_is_what_alertd_ack_records(api, tmp_path):
    with api.client() as c:
        first = c.post("/api/v1/deadlines/late/ack", json={"by": "alice", "note": "on it"})
        assert first.status_code == 200, first.text
        assert first.json()["recorded"] is True
        assert first.json()["deadline"]["state"] == "acknowledged"
        assert first.json()["deadline"]["by"] == "alice" and first.json()["deadline"]["note"] == "on it"
        again = c.post("/api/v1/deadlines/late/ack", json={})
        assert again.json()["recorded"] is False
        listed = c.get("/api/v1/deadlines", params={"state": "acknowledged"}).json()
        assert [d["id"] for d in listed["deadlines"]] == ["late"]
        snoozed = c.post("/api/v1/deadlines/soon/snooze", json={"duration": "2h"}).json()
        assert snoozed["deadline"]["state"] == "snoozed" and snoozed["deadline"]["by"] == "api"
        until = iso(datetime.now(UTC) + timedelta(days=1))
        assert c.post("/api/v1/deadlines/later/snooze", json={"until": until}).json()["deadline"]["until"]
        assert c.post("/api/v1/deadlines/report/done", json={}).json()["deadline"]["state"] == "done"
        assert c.post("/api/v1/deadlines/report/reopen", json={}).json()["deadline"]["state"] == "open"
    # The daemon applied them at once, and the CLI reads the same records from the store.
    applied = api.daemon.wait_event("state.applied", n=5, timeout=30)
    assert {e["deadline"] for e in applied} == {"late", "soon", "later", "report"}
    status = subprocess.run([sys.executable, "-m", "alertd.cli", "status", "-c", str(tmp_path / "config"), "--json"],
                            cwd=REPO, capture_output=True, text=True, check=True,
                            env={"ALERTD_STATE_DIR": str(tmp_path / "state"), "PATH": "/usr/bin:/bin"})
    late = next(d for d in json.loads(status.stdout)["deadlines"] if d["id"] == "late")
    assert late["state"] == "acknowledged" and late["by"] == "alice"


def test_bad_bodies(api):
    with api.client() as c:
        url = "/api/v1/deadlines/soon/snooze"
        for body, name in (({}, "duration"), ({"duration": "2h", "until": "2030-01-01T00:00:00Z"}, "duration"),
                           ({"duration": "soon"}, "duration"), ({"duration": "0"}, "duration"),
                           ({"until": "2001-01-01T00:00:00Z"}, "until"), ({"until": 5}, "until"),
                           ({"duration": "1h", "by": 5}, "by"), ({"duration": "1h", "by": "x" * 201}, "by"),
                           ({"duration": "1h", "note": "x" * 2001}, "note"), ({"duration": "1h", "who": "x"}, "who"),
                           ([], "body")):
            problem = _problem(c.post(url, json=body), 422)
            assert problem["errors"][0]["name"] == name, (body, problem)
        _problem(c.post("/api/v1/deadlines/soon/ack", json={"until": "2030-01-01T00:00:00Z"}), 422)
        _problem(c.post(url, content=b"{not json", headers={"Content-Type": "application/json"}), 422)
        _problem(c.post(url, content=b"duration=1h", headers={"Content-Type": "application/x-www-form-urlencoded"}),
                 415)
        _problem(c.post(url, content=b"{" + b" " * 200_000 + b"}", headers={"Content-Type": "application/json"}), 413)
        wait_until(lambda: c.get("/api/v1/deadlines/soon").json()["state"] == "open", what="no state change")


def test_a_deadline_closed_in_its_config_is_a_conflict(served):
    s = served([{**just_passed("old"), "status": "cancelled"}])
    with s.client() as c:
        assert "cancelled in its config" in _problem(c.post("/api/v1/deadlines/old/ack", json={}), 409)["detail"]
