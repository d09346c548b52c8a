"""The main pages run without console errors, page errors or CSP violations."""

from __future__ import annotations

from playwright.sync_api import BrowserContext, ConsoleMessage, Error, Page, expect

from tests.browser.conftest import log_in, open_page

# Collect Content-Security-Policy violations as the page reports them to itself.
RECORD_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', event => {
  window.__csp.push(`${event.violatedDirective} blocked ${event.blockedURI || 'inline'}`);
});
"""


def watch(page: Page) -> list[str]:
    """Return a list that fills with the page's console errors and uncaught exceptions."""
    problems: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            source = message.location.get("url") or page.url
            problems.append(f"console error at {page.url}: {message.text} ({source})")

    def page_error(error: Error) -> None:
        problems.append(f"uncaught exception at {page.url}: {error.message}")

    page.on("console", console)
    page.on("pageerror", page_error)
    return problems


def csp_violations(page: Page) -> list[str]:
    return [f"CSP violation at {page.url}: {v}" for v in page.evaluate("() => window.__csp")]


def test_main_pages_log_no_errors_and_break_no_csp_rule(context: BrowserContext, main_pages):
    context.add_init_script(RECORD_CSP)
    page = context.new_page()
    problems = watch(page)
    for name, path in main_pages:
        open_page(page, path)
        problems += csp_violations(page)
        if name == "login":
            log_in(page, "sam")
            expect(page.get_by_role("button", name="Log out")).to_be_visible()
            problems += csp_violations(page)
    # Browsers fetch the page's icon (or /favicon.ico) once per profile and log a console error
    # when it is missing; ask for it directly, as the fetch may have happened in an earlier test.
    icon = page.locator('link[rel~="icon"]')
    href = icon.first.get_attribute("href") if icon.count() else "/favicon.ico"
    if not page.request.get(href or "").ok:
        problems.append(f"the page icon {href} does not load: every first visit logs a "
                        "console error")
    assert not problems, "\n".join(problems)

    # The watchers do notice: an injected inline script is refused and reported.
    page.evaluate("""() => {
      const script = document.createElement('script');
      script.textContent = 'window.__ran = true';
      document.body.append(script);
    }""")
    page.wait_for_function("() => window.__csp.length > 0")
    assert page.evaluate("() => window.__ran === undefined")
    assert any("script-src" in v for v in csp_violations(page))
