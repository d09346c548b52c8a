"""Filters for text from a cluster (or typed by a user) on pages and in mail.

Every template has them (``TEMPLATES`` lists this module as a builtin):

- ``untrusted`` for element content: the visible form (``posture.checks.hidden``: a U+202E shows
  as ``\\u202e``), escaped, inside ``<bdi>`` so that right-to-left text in the value cannot
  reorder the page around it. ``{{ finding.namespace|untrusted }}``.
- ``visible`` where no element may go: attributes that are read (``title``, ``aria-label``),
  ``<option>`` labels, plain-text mail. The visible form only; autoescaping does the rest.
- ``exact`` for attribute values and ``<textarea>`` text that a form sends back, which must stay
  the exact data: escaped, with each hidden character written as a numeric character reference
  (``&#x202e;``), so no hidden character stands raw in the page and the browser still submits it.

Numbers, dates and None pass through unchanged, so Django renders them as it would. Text
already marked safe (``join`` escapes what it joins) is not escaped again: the visible form
only replaces hidden characters and doubles backslashes, which cannot make markup.
"""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeData, SafeString, mark_safe

from posture.checks.hidden import has_hidden, is_hidden
from posture.checks.hidden import visible as visible_form

register = template.Library()

_AS_IS = (int, float, Decimal, date, time)


def _text(value: object) -> str | None:
    if value is None or isinstance(value, _AS_IS):
        return None
    return str(value)


@register.filter(name="untrusted")
def untrusted(value: object) -> object:
    """Return ``value`` visible, escaped and isolated in ``<bdi>`` (element content)."""
    text = _text(value)
    if text is None:
        return value
    if not text:
        return ""
    shown = visible_form(text)
    # mark_safe is sound: the text was safe, and its visible form adds no markup.
    return format_html("<bdi>{}</bdi>", mark_safe(shown) if isinstance(value, SafeData)  # noqa: S308
                       else shown)


@register.filter(name="visible")
def visible(value: object) -> object:
    """Return ``value`` in its visible form, to be escaped as usual (attributes, plain text)."""
    text = _text(value)
    if text is None:
        return value
    # mark_safe is sound: the text was safe, and its visible form adds no markup.
    return mark_safe(visible_form(text)) if isinstance(value, SafeData) else visible_form(text)  # noqa: S308


@register.filter(name="exact")
def exact(value: object) -> object:
    """Return ``value`` escaped with hidden characters as character references (form values)."""
    text = _text(value)
    if text is None:
        return value
    escaped = text if isinstance(value, SafeData) else str(escape(text))
    if has_hidden(escaped):
        escaped = "".join(f"&#x{ord(c):x};" if is_hidden(c) else c for c in escaped)
    # mark_safe is sound: the text was safe or escaped above, and a character reference is inert.
    return mark_safe(escaped)  # noqa: S308


def isolated(value: object) -> SafeString:
    """Return ``untrusted(value)`` as a SafeString, for code that builds HTML (badges, labels)."""
    shown = untrusted(value)
    return shown if isinstance(shown, SafeString) else format_html("{}", shown)
