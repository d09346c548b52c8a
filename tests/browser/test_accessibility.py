"""axe-core finds no serious or critical accessibility violation on the main pages."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.browser.axe import blocking_violations, describe
from tests.browser.conftest import DESKTOP, PHONE, log_in, open_page


def test_main_pages_have_no_serious_axe_violations(browser: Browser, live_server, main_pages):
    problems: list[str] = []
    for viewport in (DESKTOP, PHONE):
        # axe goes in as an inline script, which the pages' CSP rightly refuses.
        ctx = browser.new_context(base_url=live_server.url, viewport=viewport, bypass_csp=True)
        page = ctx.new_page()
        for name, path in main_pages:
            open_page(page, path)
            problems += describe(f"{name} {viewport['width']}px", blocking_violations(page))
            if name == "login":
                log_in(page, "sam")
                expect(page.get_by_role("button", name="Log out")).to_be_visible()
        ctx.close()
    assert not problems, "axe found serious or critical violations:\n" + "\n".join(problems)
