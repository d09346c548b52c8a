"""Logging in through the form."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import log_in


def test_wrong_password_shows_an_error_and_keeps_the_user_out(page: Page, alice):
    log_in(page, "alice", "not-her-password")
    expect(page.get_by_role("alert")).to_contain_text("correct")
    expect(page).to_have_url("/login/")
    page.goto("/")
    expect(page).to_have_url("/login/?next=/")


def test_logging_in_lands_on_the_clusters_and_shows_who_is_logged_in(page: Page, alice):
    log_in(page, "alice")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.locator(".who")).to_have_text("alice")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
