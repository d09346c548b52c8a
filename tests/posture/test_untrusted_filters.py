"""The untrusted, visible and exact template filters: what each writes, and where."""

from __future__ import annotations

from datetime import date

from django.template import Context, Template

from posture.web.templatetags.untrusted import exact, untrusted, visible


def render(source: str, **context: object) -> str:
    return Template(source).render(Context(context))


def test_untrusted_shows_escapes_escapes_markup_and_isolates() -> None:
    assert render("{{ v|untrusted }}", v="User \u202enimda <b>") == (
        "<bdi>User \\u202enimda &lt;b&gt;</bdi>")
    assert render("{{ v|untrusted }}", v="") == ""


def test_numbers_dates_and_none_render_as_django_renders_them() -> None:
    day = date(2026, 3, 1)
    assert untrusted(7) == 7 and untrusted(None) is None and visible(day) == day
    assert render("{{ v|untrusted }}", v=day) == render("{{ v }}", v=day)


def test_text_already_escaped_by_join_is_not_escaped_twice() -> None:
    errors = ["'x\u202e' is not key=value", "<b>"]
    assert render('{{ v|join:" "|untrusted }}', v=errors) == (
        "<bdi>&#x27;x\\u202e&#x27; is not key=value &lt;b&gt;</bdi>")


def test_visible_fits_attributes_and_exact_keeps_form_values() -> None:
    assert render('<a title="{{ v|visible }}">', v='"\u202e') == '<a title="&quot;\\u202e">'
    assert render('<input value="{{ v|exact }}">', v='"ns\u202e\U000e0041') == (
        '<input value="&quot;ns&#x202e;&#xe0041;">')
    assert exact("plain") == "plain"
