"""Hidden characters are declared once and shown as escapes, two strings never alike."""

from __future__ import annotations

import json
import re
import sys
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posture.checks.hidden import has_hidden, is_hidden, visible, visible_json

# What the pages must never draw as nothing: controls, bidi, zero-width, fillers, selectors, tags.
LISTED = [
    *range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), 0x00AD, 0x034F, 0x061C, 0x115F, 0x1160,
    0x17B4, 0x17B5, *range(0x180B, 0x1810), *range(0x200B, 0x2010), *range(0x202A, 0x202F),
    *range(0x2060, 0x2065), *range(0x2066, 0x2070), 0x3164, *range(0xFE00, 0xFE10), 0xFEFF,
    0xFFA0, *range(0xFFF9, 0xFFFC), *range(0xE0000, 0xE1000), 0x2028, 0x2029,
]
# What they must show as it is: text in any script, spaces, symbols, private use.
SHOWN = "admin ÄÖÜ é ñ ß Ωμέγα Кириллица שלום مرحبا हिन्दी 日本語 한국어 😀 \u00a0 \u3000 \u2800 \ue000 ~!@#$%^&*()"


def read_back(shown: str) -> str:
    """Invert ``visible`` as its docstring says: ``\\\\`` is one backslash, escapes are characters."""
    def one(match: re.Match[str]) -> str:
        token = match.group()
        return "\\" if token == "\\\\" else chr(int(token[2:], 16))
    return re.sub(r"\\\\|\\u[0-9a-fA-F]{4}|\\U[0-9a-fA-F]{8}", one, shown)


def test_every_listed_code_point_is_hidden() -> None:
    missed = [f"U+{c:04X}" for c in LISTED if not is_hidden(chr(c))]
    assert missed == []


def test_every_control_format_and_separator_character_is_hidden() -> None:
    categories = {"Cc", "Cf", "Zl", "Zp", "Cs"}
    missed = [f"U+{c:04X}" for c in range(sys.maxunicode + 1)
              if unicodedata.category(chr(c)) in categories and not is_hidden(chr(c))]
    assert missed == []


def test_text_of_every_script_is_shown_as_it_is() -> None:
    assert [c for c in SHOWN if is_hidden(c)] == []
    assert visible(SHOWN) == SHOWN
    assert not has_hidden(SHOWN)


def test_hidden_characters_become_escapes() -> None:
    assert visible("User \u202enimda") == "User \\u202enimda"
    assert visible("a\u200bb\ufeffc\u2066d") == "a\\u200bb\\ufeffc\\u2066d"
    assert visible("tag\U000e0041") == "tag\\U000e0041"
    assert visible("line\nforged\tcell\x1b[31m") == "line\\u000aforged\\u0009cell\\u001b[31m"


def test_a_typed_escape_is_told_apart_from_a_real_one() -> None:
    assert visible("\\u202e") == "\\\\u202e"
    assert visible("\\u202e") != visible("\u202e")
    assert visible("\\\u202e") == "\\\\\\u202e"
    # A backslash that cannot start an escape is left alone.
    assert visible("C:\\Users\\x") == "C:\\Users\\x"


hidden_or_tricky = st.sampled_from(
    ["\\", "u", "U", "0", "e", "2", "f", "\u202e", "\u200b", "\U000e0041", "\n", "a", "ש"])


@pytest.mark.threat("Bidi controls or invisible characters in cluster text disguise names "
                    "(U+202E shows a subject reversed)",
                    "One definition of hidden characters (`posture/checks/hidden.py`: controls, "
                    "format characters, separators, default-ignorables, tags), shown as escapes "
                    "such as `\\u202e` on pages, charts, CSV, mail and `posture scan` output; each "
                    "value isolated in `bdi` and by CSS; the JSON API keeps the exact data, since "
                    "it is data, not display")
@given(st.lists(hidden_or_tricky, max_size=30).map("".join) | st.text(max_size=40))
def test_the_visible_form_hides_nothing_and_reads_back(text: str) -> None:
    shown = visible(text)
    assert not has_hidden(shown)
    assert read_back(shown) == text


@given(st.text(max_size=40), st.text(max_size=40))
def test_two_strings_never_look_the_same(a: str, b: str) -> None:
    assert (visible(a) == visible(b)) == (a == b)


@given(st.text(max_size=40))
def test_the_quick_check_agrees_with_the_character_check(text: str) -> None:
    assert has_hidden(text) == any(is_hidden(c) for c in text)


def test_evidence_json_reads_back_exactly_and_shows_its_hidden_characters() -> None:
    evidence = {"subject": "\u202enimda", "tag": "x\U000e0041", "line": "a\u2028b", "n": 3}
    text = visible_json(evidence)
    assert json.loads(text) == evidence
    assert "\\u202e" in text and "\\udb40\\udc41" in text and "\\u2028" in text
    assert not has_hidden(text.replace("\n", ""))
