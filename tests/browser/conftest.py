"""Browser fixtures: Debian's Chromium driven by Playwright against a live Posture.

Pages come from pytest-django's ``live_server`` on the test database; polls run on a real Celery
worker thread on the Redis broker; clusters are emulated Kubernetes API servers over HTTPS.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)

from clusters.models import Cluster
from emulator.server import Emulator
from posture.domain.models import Trigger
from posture.domain.polling import poll
from tests.emulated import register
from tests.factories import UserFactory

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium reaches out to Google's services at start-up;
# the machines running the suite have no such network, and the tests need none.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DESKTOP = ViewportSize(width=1280, height=800)
PHONE = ViewportSize(width=390, height=844)
PASSWORD = "correct-horse-battery"  # every UserFactory user's password
SCENARIOS = ("well-kept", "typical", "neglected")
# Labels a realistic fleet carries, for the label filter and the screenshots.
FLEET_LABELS = {
    "well-kept": {"env": "prod", "team": "payments"},
    "typical": {"env": "prod", "team": "web"},
    "neglected": {"env": "staging", "team": "legacy"},
}
# Generous for a 2-core machine running the rest of the suite; a passing step takes far less.
ACTION_TIMEOUT_MS = 10_000
expect.set_options(timeout=ACTION_TIMEOUT_MS)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Start headless Chromium once for the browser tests."""
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is missing: the browser tests need {CHROMIUM}. Install it with "
                    "`make setup` (Debian's `apt-get install chromium`).", pytrace=False)
    # Playwright's sync API leaves its asyncio loop marked as running in this thread while test
    # code runs between browser calls, and Django refuses ORM calls inside a running loop. No
    # coroutine runs while a test queries the database, so the guard does not apply here.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(autouse=True)
def _static_from_finders(settings: Any) -> None:
    """Serve static files under their source names.

    The live server finds static files with the staticfiles finders, which know only source
    names; the manifest storage of production would link to hashed names that only
    ``collectstatic`` output has.
    """
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def sam(transactional_db):
    """A security-team member; the group is recreated because live-server tests flush tables."""
    from django.contrib.auth.models import Group

    from clusters.access import SECURITY_TEAM

    user = UserFactory(username="sam")
    user.groups.add(Group.objects.get_or_create(name=SECURITY_TEAM)[0])
    return user


@pytest.fixture
def context(browser: Browser, live_server) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) at desktop size, pointed at the live server."""
    ctx = browser.new_context(base_url=live_server.url, viewport=DESKTOP)
    ctx.set_default_timeout(ACTION_TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def sign_in(context: BrowserContext, base_url: str, user: Any) -> None:
    """Give a browser context a logged-in session for ``user``, skipping the login form."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": base_url}])


@pytest.fixture
def signed_in(context: BrowserContext, live_server) -> Callable[..., Page]:
    """Return a function that signs a user in and returns the context's page."""

    def sign_in_as(user: Any) -> Page:
        sign_in(context, live_server.url, user)
        return context.pages[0] if context.pages else context.new_page()

    return sign_in_as


def log_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Log in through the login form, as a person would."""
    page.goto("/login/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def open_page(page: Page, path: str) -> None:
    """Go to ``path`` and wait until the page is complete, its charts drawn."""
    page.goto(path)
    page.wait_for_load_state("load")
    for plot in page.locator(".plot[data-figure]").all():
        expect(plot.locator(".main-svg").first).to_be_visible()


@pytest.fixture
def worker(settings: Any) -> Iterator[None]:
    """A Celery worker thread consuming this run's queue on the real Redis broker."""
    from celery.contrib.testing.worker import start_worker

    from posture.site.celery import app

    assert app.conf.broker_url.startswith("redis://"), "the suite must run on Redis"
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(app.conf.task_default_queue)
    settings.POSTURE_POLL_RETRY_SECONDS = 0
    settings.POSTURE_POLL_CONNECT_TIMEOUT = 2
    settings.POSTURE_POLL_READ_TIMEOUT = 5
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        yield


def replay(emulator: Emulator, cluster: Cluster, days: int) -> None:
    """Poll ``cluster`` once a day for the last ``days`` days, then today, as the demo does."""
    now = timezone.now()
    for day in range(-days, 0):
        emulator.set_day(day)
        poll(cluster.pk, Trigger.REPLAY, taken_at=now + timedelta(days=day))
    emulator.set_day(0)
    poll(cluster.pk, Trigger.SCHEDULE)


@pytest.fixture
def fleet(emulate) -> Callable[..., dict[str, Cluster]]:
    """Register and poll the shipped scenarios for an owner; ``days`` of history replayed."""

    def build(owner: Any, days: int = 0, scenarios: tuple[str, ...] = SCENARIOS) -> dict[str, Cluster]:
        clusters = {}
        for name in scenarios:
            emulator = emulate(name)
            cluster = register(emulator, name, labels=FLEET_LABELS.get(name, {}))
            cluster.owners.add(owner)
            replay(emulator, cluster, days)
            clusters[name] = cluster
        return clusters

    return build


@pytest.fixture
def main_pages(fleet, sam) -> list[tuple[str, str]]:
    """Return (name, path) of every main page, on a small fleet with a few days of history.

    ``sam`` (security team) sees every page and every control; the login page is first and is
    meant to be opened logged out.
    """
    from posture.domain.models import Finding

    typical = fleet(sam, days=2, scenarios=("typical", "neglected"))["typical"]
    finding = Finding.objects.filter(cluster=typical).order_by("pk").first()
    assert finding is not None
    return [
        ("login", "/login/"),
        ("overview", "/"),
        ("clusters", "/clusters/"),
        ("register", "/clusters/register/"),
        ("scorecard", typical.get_absolute_url()),
        ("trends", f"/clusters/{typical.pk}/trends/"),
        ("checklist", f"/clusters/{typical.pk}/checklist/"),
        ("who can", f"/clusters/{typical.pk}/who-can/"),
        ("frameworks", f"/clusters/{typical.pk}/frameworks/cis/"),
        ("fleet frameworks", "/frameworks/nsa/"),
        ("finding", f"/findings/{finding.pk}/"),
        ("fleet findings", "/fleet/findings/"),
        ("fleet check", f"/fleet/findings/{finding.check_id}/"),
        ("settings", f"/clusters/{typical.pk}/settings/"),
        ("policy", "/policy/"),
        ("audit log", "/audit/"),
        ("digest", "/digest/"),
    ]
