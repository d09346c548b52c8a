"""Screenshots of the main pages for the README, from a fleet with 30 days of history.

``make screenshots`` runs only this module; the PNG files land in docs/screenshots/, one per
page at desktop size (1280×800) and one at phone size (``-phone``, 390×844).
"""

from __future__ import annotations

import struct
from pathlib import Path

from django.conf import settings
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.browser.conftest import DESKTOP, PHONE, log_in, open_page

SHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"
SIZES = {"": DESKTOP, "-phone": PHONE}
HISTORY_DAYS = 30


def png_size(path: Path) -> tuple[int, int]:
    """Return a PNG file's width and height, read from its IHDR chunk."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG file"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def test_screenshots_of_the_main_pages(browser: Browser, live_server, fleet, alice):
    typical = fleet(alice, days=HISTORY_DAYS)["typical"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    written: list[tuple[Path, ViewportSize]] = []
    for suffix, viewport in SIZES.items():
        context = browser.new_context(base_url=live_server.url, viewport=viewport)
        page = context.new_page()

        def shot(name: str, page: Page = page, suffix: str = suffix,
                 viewport: ViewportSize = viewport) -> None:
            path = SHOTS / f"{name}{suffix}.png"
            page.screenshot(path=path, animations="disabled")
            written.append((path, viewport))

        open_page(page, "/login/")
        shot("login")
        log_in(page, "alice")
        open_page(page, "/")
        expect(page.locator("#fleet-table tbody tr")).to_have_count(3)
        shot("overview")
        open_page(page, typical.get_absolute_url())
        shot("scorecard")
        open_page(page, f"/clusters/{typical.pk}/trends/")
        shot("trends")
        open_page(page, f"/clusters/{typical.pk}/checklist/")
        shot("checklist")
        open_page(page, "/clusters/register/")
        shot("register")
        context.close()
    assert len(written) == 12
    for path, viewport in written:
        assert png_size(path) == (viewport["width"], viewport["height"]), path
