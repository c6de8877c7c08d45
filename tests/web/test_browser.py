"""The status page in a real browser: Debian's headless Chromium driven by Playwright.

`executable_path` is always /usr/bin/chromium (tests/hostdeps.py names the `chromium` package when
it is missing; `playwright install` is never used). With ALERTD_SCREENSHOTS=docs the screenshots
for the README are written to docs/ (otherwise to the test's temporary directory).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from tests.daemon.conftest import REPO, iso, just_passed
from tests.hostdeps import CHROMIUM
from tests.web.conftest import TOKEN


@pytest.fixture
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


def _shots(tmp_path: Path) -> Path:
    return REPO / "docs" if os.environ.get("ALERTD_SCREENSHOTS") == "docs" else tmp_path


def _newsroom() -> list[dict]:
    now = datetime.now(UTC)
    at = lambda **kw: iso(now + timedelta(**kw))  # noqa: E731
    return [
        {"id": "budget-embargo", "title": "Budget statement: embargo lifts", "due": at(minutes=-7),
         "remind": ["1h", "10m"], "tags": ["politics", "economy"], "timezone": "Europe/London",
         "notes": "Copy is on the politics desk"},
        {"id": "court-ruling", "title": "Supreme Court ruling on the data case", "due": at(minutes=38),
         "remind": ["1h", "15m"], "tags": ["legal"], "timezone": "America/New_York"},
        {**just_passed("election-results", "Regional election: first results expected"), "tags": ["politics"],
         "timezone": "Europe/Berlin"},
        {"id": "match-report", "title": "Cup final match report", "due": at(hours=3, minutes=20),
         "remind": ["1h", "0"], "tags": ["sport"], "timezone": "Europe/Madrid"},
        {"id": "quarterly-figures", "title": "Quarterly GDP figures", "due": at(days=1, hours=2),
         "remind": ["1d", "1h"], "tags": ["economy"], "timezone": "Asia/Tokyo"},
        {"id": "climate-summit", "title": "Climate summit: closing statement", "due": at(days=3),
         "remind": ["1d"], "tags": ["science", "politics"], "timezone": "America/Sao_Paulo"},
        {"id": "hebrew-edition", "title": "מהדורת ערב: סגירת עמודים", "due": at(days=5),
         "remind": ["1d"], "tags": ["international"], "timezone": "Asia/Jerusalem"},
    ]


def test_countdown_ticks_tag_filter_and_an_ack_shows_up(served, browser, tmp_path):
    s = served(_newsroom())
    s.daemon.wait_event("alert.sent", timeout=60)
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.goto(s.url + "/")
    first = page.locator("li.dl").first
    expect(first).to_have_attribute("data-id", "budget-embargo")
    expect(first).to_have_class("dl overdue")
    count = first.locator(".count")
    before = count.inner_text()
    expect(count).not_to_have_text(before, timeout=5000)  # ticks every second
    assert "ago" in count.inner_text() and "s" in count.inner_text()
    assert page.locator("li.dl").count() == 7
    page.screenshot(path=str(_shots(tmp_path) / "status-page.png"), full_page=True)
    with httpx.Client(base_url=s.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as c:
        c.post("/api/v1/deadlines/court-ruling/snooze", json={"by": "night editor", "duration": "20m"})
    page.get_by_role("link", name="politics", exact=True).click()
    expect(page).to_have_url(s.url + "/?tag=politics")
    ids = page.locator("li.dl").evaluate_all("els => els.map(e => e.dataset.id)")
    assert ids == ["budget-embargo", "climate-summit", "election-results"]
    state = page.locator('li.dl[data-id="budget-embargo"] .badge')
    expect(state).to_have_text("overdue")
    with httpx.Client(base_url=s.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as c:
        assert c.post("/api/v1/deadlines/budget-embargo/ack", json={"by": "Maya (politics desk)"}).json()["recorded"]
    # no reload: the page fetches itself and swaps its content in place
    expect(state).to_have_text("acknowledged", timeout=45_000)
    expect(page.locator('li.dl[data-id="budget-embargo"] .who').first).to_contain_text("Maya (politics desk)")
    expect(page.locator("#live")).to_have_text("live")
    page.screenshot(path=str(_shots(tmp_path) / "status-page-tag.png"), full_page=True)


def test_readable_without_javascript(served, browser):
    s = served([just_passed("report", "Report <b>bold</b>")])
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(s.url + "/")
    expect(page.locator("li.dl .title bdi").first).to_have_text("Report <b>bold</b>")
    assert page.locator("li.dl .count").inner_text().startswith("in ")
    assert page.locator('noscript').count() == 1
