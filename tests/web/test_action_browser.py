"""The action link in a real browser (Debian's headless Chromium, Playwright): open the link from the
webhook, press Acknowledge, see the state change here and on the status page, and the repeats stop.

With ALERTD_SCREENSHOTS=docs the screenshot of the action page goes to docs/action-page.png.
"""

from __future__ import annotations

import time

from playwright.sync_api import expect

from tests.daemon.conftest import wait_until
from tests.web.conftest import TOKEN
from tests.web.test_action_links import _actions_recorded, _of, start  # noqa: F401 - `start` is a fixture
from tests.web.test_browser import _shots, browser  # noqa: F401 - `browser` is a fixture


def test_open_the_link_press_acknowledge_and_the_repeats_stop(start, receiver, browser, tmp_path):  # noqa: F811
    s, _ = start(title="Budget statement: embargo lifts", timezone="Europe/London")
    repeat = wait_until(lambda: _of(receiver.posts, "deadline.overdue"), 30, "a repeat")[0]["json"]["data"]
    ack = repeat["actions"][0]["url"]
    page = browser.new_page(viewport={"width": 900, "height": 640})
    page.goto(ack)
    expect(page.get_by_role("heading", name="Budget statement: embargo lifts")).to_be_visible()
    expect(page.get_by_test_id("state")).to_have_text("overdue")
    expect(page.get_by_text("(Europe/London)")).to_be_visible()
    button = page.get_by_role("button", name="Acknowledge")
    expect(button).to_be_focused()  # ?do=ack chose it
    page.screenshot(path=str(_shots(tmp_path) / "action-page.png"))
    assert _actions_recorded(tmp_path / "state") == 0  # opening the link changed nothing

    page.get_by_label("Your name (optional)").fill("Maya (politics desk)")
    button.click()
    expect(page.get_by_role("status")).to_have_text("Acknowledged by Maya (politics desk).")
    expect(page.get_by_test_id("state")).to_have_text("acknowledged")
    assert _actions_recorded(tmp_path / "state") == 1

    acked_at = time.time()
    count = len(_of(receiver.posts, "deadline.overdue"))
    wait_until(lambda: _of(receiver.posts, "deadline.acknowledged"), 20, "the ack notice")
    wait_until(lambda: time.time() > acked_at + 4.5, 10, "two repeat periods to pass")
    assert len(_of(receiver.posts, "deadline.overdue")) <= count + 1  # at most one already in flight

    status = browser.new_page(extra_http_headers={"Authorization": f"Bearer {TOKEN}"})
    status.goto(s.url + "/")
    expect(status.locator('li.dl[data-id="late-report"] .badge')).to_have_text("acknowledged")
    expect(status.locator('li.dl[data-id="late-report"] .who').first).to_contain_text("Maya (politics desk)")
