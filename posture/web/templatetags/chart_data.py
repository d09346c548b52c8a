"""A chart's data on the page, written in one pass: its figure's JSON and its table's rows.

The figure goes out as ``json_script`` writes it (a ``<script type="application/json">`` with
``<``, ``>`` and ``&`` as Unicode escapes), but encoded with orjson and escaped with three
replacements: the fleet chart's figure holds a point per cluster and day, and the standard
encoder with ``str.translate`` took longer than the rest of the chart.

A chart's table can hold thousands of cells (one line per cluster, one column per sampled day);
rendered cell by cell through template tags, each cell pays for variable lookups, filters and
localisation, which made most of the fleet overview's time. The tag writes the same markup the
loop did: the first cell a row header, every other ``—`` for no value, each text through
``untrusted`` (visible, escaped, isolated) and every other value as the template would show it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from django import template
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.template.base import render_value_in_context
from django.template.context import Context
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe

from posture.web.templatetags.untrusted import untrusted

register = template.Library()


def _plain_numbers() -> bool:
    """Say whether a float shows as ``str(float)`` on pages: no thousands separator and a dot
    for the decimals (what Django's localisation then gives, for floats without an exponent)."""
    return not settings.USE_THOUSAND_SEPARATOR and settings.DECIMAL_SEPARATOR == "."


def cell(value: object, context: Context, plain_numbers: bool) -> str:
    """Return one cell's content as the template ``{{ value|untrusted }}`` would render it."""
    if isinstance(value, str):
        shown = untrusted(value)
        return str(shown) if isinstance(shown, SafeString) else str(conditional_escape(str(shown)))
    kind = type(value)
    if plain_numbers and (kind is int or (kind is float and "e" not in repr(value))):
        # Numbers need no escaping; this skips the localisation machinery, whose result is the
        # same under _plain_numbers().
        return str(value)
    return str(render_value_in_context(untrusted(value), context))


@register.simple_tag(takes_context=True)
def data_rows(context: Context, rows: Iterable[tuple[Any, ...]]) -> SafeString:
    """Render a data table's body rows: ``<th scope="row">`` first, ``—`` for no value."""
    plain = _plain_numbers()
    parts: list[str] = []
    for row in rows:
        parts.append("<tr>")
        for index, value in enumerate(row):
            if index == 0:
                parts.append(f'<th scope="row">{cell(value, context, plain)}</th>')
            else:
                # default_if_none:"—" before untrusted, as the loop had it.
                shown = cell("—" if value is None else value, context, plain)
                parts.append(f"<td>{shown}</td>")
        parts.append("</tr>\n")
    # mark_safe is sound: every cell went through untrusted() or Django's own escaping above.
    return mark_safe("".join(parts))  # noqa: S308


# What orjson does not write itself goes through Django's encoder, as json_script's would:
# datetimes (Django shortens them to milliseconds and writes UTC as Z), Decimals, lazy text.
_DJANGO = DjangoJSONEncoder()
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


@register.filter
def figure_json(value: Any, element_id: str) -> SafeString:
    """Return ``value`` as JSON in a ``<script type="application/json" id=...>`` element, escaped
    like Django's ``json_script`` so that no text in it can close the element."""
    text = (orjson.dumps(value, default=_DJANGO.default, option=_OPTIONS).decode()
            .replace(">", "\\u003E").replace("<", "\\u003C").replace("&", "\\u0026"))
    # mark_safe is sound: the JSON has no <, > or & left, so it cannot end the script element.
    return format_html('<script id="{}" type="application/json">{}</script>', element_id,
                       mark_safe(text))  # noqa: S308
