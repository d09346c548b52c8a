"""Keyboard only: Tab reaches every control with a visible focus indicator; Enter submits."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import PASSWORD, open_page

# Mark every control a person could operate, and record each focus the keyboard gives.
# Radio buttons of one group are one stop on the Tab route (arrows move inside the group).
# An indicator counts only if it can be seen: an outline or shadow, on an element whose
# ancestors are not faded out (plotly hides its toolbar with opacity until hovered).
TRACK_FOCUS = """() => {
  const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]';
  // checkVisibility also rules out the content of closed <details>.
  const shown = el => el.checkVisibility({visibilityProperty: true});
  const controls = [...document.querySelectorAll(selector)]
    .filter(el => shown(el) && !el.disabled && el.tabIndex >= 0);
  const seen = el => {
    for (let node = el; node instanceof Element; node = node.parentElement) {
      if (parseFloat(getComputedStyle(node).opacity) === 0) { return false; }
    }
    return true;
  };
  window.__focused = [];
  document.addEventListener('focusin', event => {
    const el = event.target, style = getComputedStyle(el);
    const ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0)
      || style.boxShadow !== 'none';
    window.__focused.push({key: el.dataset.kbKey || null, indicator: ring && seen(el),
                           html: el.outerHTML.slice(0, 120)});
  });
  return controls.map((el, i) => {
    const key = el.type === 'radio' && el.name
      ? `radio ${el.form ? el.form.id : ''} ${el.name}` : String(i);
    el.dataset.kbKey = key;
    return {key, html: el.outerHTML.slice(0, 120)};
  });
}"""


def tab_through(page: Page) -> list[str]:
    """Tab from the top of the page to the end; return the problems found."""
    # Transitions off, so that what focus reveals (plotly's toolbar fades in) is measured
    # in its final state rather than mid-fade.
    page.add_style_tag(content="*, *::before, *::after { transition: none !important; }")
    controls = page.evaluate(TRACK_FOCUS)
    keys = {c["key"] for c in controls}
    # Twice round at most: a page may start with focus half-way down (autofocus).
    for _ in range(2):
        for _ in range(len(controls) + 2):
            page.keyboard.press("Tab")
        focused = page.evaluate("() => window.__focused")
        reached = {f["key"] for f in focused}
        if keys <= reached:
            break
    problems = [f"not reachable with Tab: {c['html']}" for c in controls
                if c["key"] not in reached]
    problems += sorted({f"no visible focus indicator: {f['html']}" for f in focused
                        if not f["indicator"]})
    return problems


def test_tab_reaches_every_control_with_a_visible_focus(page: Page, main_pages):
    problems: list[str] = []
    for name, path in main_pages:
        open_page(page, path)
        problems += [f"{name}: {p}" for p in tab_through(page)]
        if name == "login":
            # Log in with the keyboard alone: the user name field has focus on arrival.
            page.goto(path)
            expect(page.get_by_label("User name")).to_be_focused()
            page.keyboard.type("sam")
            page.keyboard.press("Tab")
            page.keyboard.type(PASSWORD)
            page.keyboard.press("Enter")
            expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert not problems, "keyboard problems:\n" + "\n".join(problems)


def test_enter_submits_the_overview_filter(page: Page, signed_in, sam, fleet):
    fleet(sam, scenarios=("typical", "neglected"))
    page = signed_in(sam)
    page.goto("/")
    page.get_by_label("Label").focus()
    page.keyboard.type("env=staging")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]label=env%3Dstaging(&|$)"))
    expect(page.locator("#fleet-table tbody th[scope=row] > a")).to_have_text(["neglected"])
