"""The status page over real HTTP (the browser tests are in test_browser.py): order, states, tags,
pages, hostile text rendered as text, and the token on a non-loopback address."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import httpx

from alertd.store.base import Row
from alertd.store.pages import delivery_item
from alertd.web.context import templates
from tests.daemon.conftest import iso, just_passed
from tests.web.conftest import TOKEN

HOSTILE = "<script>alert('x')</script> \"quoted\" & 'single' \u202eRTL\u202c שלום"


class _Scripts(HTMLParser):
    """Counts <script> elements and collects the text of the page."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts = 0
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.scripts += tag == "script"

    def handle_data(self, data):
        self.text.append(data)


def _deadlines():
    now = datetime.now(UTC)
    return [
        {"id": "late", "title": "Already late", "due": iso(now - timedelta(minutes=5)), "remind": ["1h"],
         "tags": ["desk:sport"]},
        {"id": "soon", "title": "Soon", "due": iso(now + timedelta(minutes=50)), "remind": ["30m", "0"],
         "tags": ["desk:politics"]},
        {"id": "later", "title": "Next week", "due": iso(now + timedelta(days=7)), "remind": ["1d"],
         "tags": ["desk:politics", HOSTILE]},
        {**just_passed("hostile", HOSTILE), "notes": HOSTILE},
    ]


def test_the_page_lists_deadlines_in_order_with_states_and_deliveries(served):
    s = served(_deadlines())
    s.daemon.wait_event("alert.sent", timeout=60)
    with s.client(auth=False) as c:  # loopback: the page needs no token
        c.post("/api/v1/deadlines/soon/ack", json={"by": "alice"}, headers={"Authorization": f"Bearer {TOKEN}"})
        resp = c.get("/")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in resp.headers["content-security-policy"]
    html = resp.text
    order = re.findall(r'data-id="([^"]+)"', html)
    assert order == ["late", "soon", "later", "hostile"]
    assert 'class="dl overdue"' in html and "b-overdue" in html
    assert "by <bdi>alice</bdi>" in html
    assert "Recent deliveries" in html and "hostile" in html.split("Recent deliveries")[1]
    assert "<link" not in html and "src=" not in html  # self-contained: loads nothing
    assert len(resp.content) < 40_000


def test_hostile_text_is_text(served):
    s = served(_deadlines())
    with s.client(auth=False) as c:
        html = c.get("/").text
    parser = _Scripts()
    parser.feed(html)
    assert parser.scripts == 1  # the page's own
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &#34;quoted&#34; &amp;" in html
    assert HOSTILE in "".join(parser.text)  # shown as written, RTL marks included, inside <bdi>


def test_filter_by_tag_and_pages(served):
    start = datetime.now(UTC) + timedelta(days=1)
    deadlines = [{"id": f"d{i:03d}", "title": f"Deadline {i}", "due": iso(start + timedelta(minutes=i)),
                  "remind": ["1h"], "tags": ["even" if i % 2 == 0 else "odd"]} for i in range(120)]
    s = served(deadlines)
    with s.client(auth=False) as c:
        first = c.get("/").text
        assert re.findall(r'data-id="([^"]+)"', first) == [f"d{i:03d}" for i in range(50)]
        assert "page 1 of 3" in first and 'rel="next"' in first
        third = c.get("/", params={"page": 3}).text
        assert re.findall(r'data-id="([^"]+)"', third) == [f"d{i:03d}" for i in range(100, 120)]
        odd = c.get("/", params={"tag": "odd"}).text
        assert re.findall(r'data-id="([^"]+)"', odd) == [f"d{i:03d}" for i in range(1, 100, 2)]
        assert "page 1 of 2" in odd
        assert c.get("/", params={"page": "x"}).status_code == 400
        assert re.findall(r'data-id="([^"]+)"', c.get("/", params={"page": 99}).text)[0] == "d100"  # the last page


def test_on_a_non_loopback_address_the_page_needs_the_token(served):
    s = served([just_passed("report")], env={"ALERTD_HTTP_ADDR": "0.0.0.0:0"})
    url = s.url.replace("0.0.0.0", "127.0.0.1")
    with httpx.Client(base_url=url, timeout=30) as c:
        for path in ("/", "/metrics", "/api/v1/deadlines", "/api/v1/openapi.json"):
            resp = c.get(path)
            assert resp.status_code == 401, path
            assert "report" not in resp.text and TOKEN not in resp.text
        assert c.get("/").headers["www-authenticate"].startswith("Basic")
        assert c.get("/healthz").status_code == 200
        page = c.get("/", auth=("wall", TOKEN))
        assert page.status_code == 200 and 'data-id="report"' in page.text
        assert TOKEN not in page.text
        assert c.get("/", auth=("wall", "not-the-token-at-all")).status_code == 401
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        assert c.get("/metrics", headers=bearer).status_code == 200  # pages take Bearer as well (Prometheus)
        assert c.get("/metrics", auth=("prometheus", TOKEN)).status_code == 200
        api = c.get("/api/v1/deadlines", auth=("wall", TOKEN))  # the API takes Bearer only
        assert api.status_code == 401 and api.headers["www-authenticate"].startswith("Bearer")
        assert c.get("/api/v1/deadlines", headers=bearer).status_code == 200


def test_without_a_token_only_loopback_host_names_are_answered(served):
    s = served([just_passed("report")], token=None)
    with httpx.Client(base_url=s.url, timeout=30) as c:
        assert c.get("/").status_code == 200
        assert c.get("/api/v1/deadlines").status_code == 200
        assert c.get("/", headers={"Host": "localhost:1"}).status_code == 200
        rebound = c.get("/api/v1/deadlines", headers={"Host": "evil.example:80"})
        assert rebound.status_code == 421 and "report" not in rebound.text
        assert c.get("/", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 421


def test_behind_a_reverse_proxy_the_page_needs_the_token(served):
    s = served([just_passed("report")])
    with httpx.Client(base_url=s.url, timeout=30) as c:
        assert c.get("/").status_code == 200  # a local browser
        for header in ("Forwarded", "X-Forwarded-For", "X-Real-IP"):
            assert c.get("/", headers={header: "for=203.0.113.9"}).status_code == 401
        assert c.get("/", headers={"X-Forwarded-For": "203.0.113.9"}, auth=("wall", TOKEN)).status_code == 200


def _render_deliveries(rows):
    items = [delivery_item(r) for r in rows]
    return templates().get_template("status.html").render(
        csp_nonce="n", rows=[], total=0, all_total=0, tags=[], tag=None, page=1, pages=1, per_page=50,
        counts={"overdue": 0, "hour": 0}, failures=[i for i in items if i["state"] == "failed"], recent=items,
        link=lambda **_: "/", now="", now_ms=0, poll_ms=15000)


def test_deliveries_on_a_shared_database_show_the_instance_that_sent_them():
    at = datetime(2030, 1, 1, tzinfo=UTC)

    def row(key, state, by):
        return Row(key, "report", "PT0S", at, "hook", at, state, "permanent" if state == "failed" else None, 1,
                   at, at, at if state == "sent" else None, None, None, at, claimed_by=by)

    html = _render_deliveries([row("k1", "sent", "desk-2 <b>"), row("k2", "failed", "desk-1"),
                               row("k3", "sent", None)])  # one database's instance, or an older row: no `by`
    recent = html.split("Recent deliveries")[1]
    failed = html.split("Failed deliveries")[1].split("Recent deliveries")[0]
    assert recent.count('class="by"') == 2 and 'by <bdi>desk-2 &lt;b&gt;</bdi>' in recent
    assert 'class="by">by <bdi>desk-1</bdi>' in failed
    assert "by <bdi>None</bdi>" not in html and html.count('class="by"') == 3
