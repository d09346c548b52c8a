"""The ``markdown`` filter: the catalog's why/fix text (Markdown) as safe inline HTML.

markdown-it-py with raw HTML disabled escapes every character of the source it does not turn
into markup, and refuses ``javascript:``-style link targets, so neither the catalog nor anything
interpolated into advice can put HTML on a page. Images are off: a page never loads one from
text.
"""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

register = template.Library()

_MARKDOWN = MarkdownIt("commonmark", {"html": False}).disable("image")


def render_inline(text: str) -> SafeString:
    """Render one paragraph of Markdown as inline HTML, escaping everything else."""
    # mark_safe is sound here: with html disabled, markdown-it escapes all text it emits.
    return mark_safe(_MARKDOWN.renderInline(text))  # noqa: S308


@register.filter(name="markdown")
def markdown(value: object) -> SafeString:
    """Render ``value`` (Markdown) as inline HTML."""
    return render_inline("" if value is None else str(value))
