"""Hidden characters in untrusted text, and the visible form that shows them.

Text from a cluster (names, labels, images, messages) may carry characters that a reader never
sees but that change what they read: U+202E RIGHT-TO-LEFT OVERRIDE turns ``User admin`` into
``nimda resU`` on screen, U+200B ZERO WIDTH SPACE makes two different names look the same, tag
characters (U+E0020–U+E007F) hide a message inside a name, a newline forges a line in a plain
text mail, an escape sequence drives a terminal. Posture shows every such character as an escape
instead (``\\u202e``), on pages, in CSV exports, chart labels, mail and the ``posture scan``
text output. The JSON API keeps the exact data: it is data, not display.

A character is *hidden* when either holds:

- its Unicode general category is Cc (C0 and C1 controls, tab and newline included: every value
  shown is one line), Cf (format characters: bidirectional embeddings, overrides and isolates
  U+202A–U+202E and U+2066–U+2069, the Arabic letter mark U+061C, zero-width space, joiners and
  marks U+200B–U+200F, word joiner and invisible operators U+2060–U+2064, the byte order mark
  U+FEFF, interlinear annotation U+FFF9–U+FFFB, tag characters, soft hyphen U+00AD), Zl or Zp
  (U+2028 and U+2029 break lines like a newline) or Cs (a lone surrogate cannot even be encoded
  in UTF-8);
- it is a Default_Ignorable_Code_Point of Unicode's DerivedCoreProperties.txt, which renderers
  draw as nothing even where its category is a letter or a mark: U+034F, the Hangul fillers
  U+115F, U+1160, U+3164 and U+FFA0, U+17B4–U+17B5, the Mongolian variation selectors
  U+180B–U+180F, the variation selectors U+FE00–U+FE0F and U+E0100–U+E01EF, the reserved
  U+2065 and U+FFF0–U+FFF8, U+1BCA0–U+1BCA3, U+1D173–U+1D17A, and all of U+E0000–U+E0FFF.
  ``unicodedata`` has no such property, so the ranges are listed here (Unicode 15).

Left as they are: letters of right-to-left scripts (the pages isolate each value, so an Arabic
or Hebrew name cannot reorder the text around it), spaces of category Zs and blank-looking
symbols such as U+2800 (they take up room, so a reader sees that something is there), and
private-use characters (drawn as a box or a glyph). The price: an emoji built with a zero-width
joiner or a variation selector shows its escapes (``\\u200d``, ``\\ufe0f``); names in Kubernetes
cannot hold either.

The visible form (``visible``) writes a hidden character as ``\\u`` and four lowercase hex
digits, or ``\\U`` and eight beyond U+FFFF (``\\U000e0041``). It is injective — two different
strings never look the same — because a backslash that could be read as the start of an escape
is doubled: a backslash followed by another backslash, by ``u`` and four hex digits, by ``U``
and eight, or by a hidden character. So a name typed as the six characters ``\\u202e`` shows as
``\\\\u202e``, never as the escape of a real U+202E, while an ordinary backslash
(``C:\\Users``) shows as it is. Reading back: ``\\\\`` is one backslash, ``\\uXXXX`` and
``\\UXXXXXXXX`` are the character, any other backslash is itself.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache

# Categories whose every character is hidden (see the module docstring).
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
# Default_Ignorable_Code_Point (DerivedCoreProperties.txt, Unicode 15), inclusive ranges.
DEFAULT_IGNORABLE: tuple[tuple[int, int], ...] = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160),
    (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E),
    (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)

# str.isprintable() is False for every character of HIDDEN_CATEGORIES; these are the ignorable
# ones it calls printable (letters and marks), so text that is printable and has none of them
# (and no backslash) is its own visible form, which is the common case and costs no loop.
_PRINTABLE_IGNORABLE = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180d\u180f\u3164\ufe00-\ufe0f\uffa0"
    "\U000e0100-\U000e01ef]")
# After a backslash: what the reading-back would take for an escape.
_LOOKS_ESCAPED = re.compile(r"\\|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}")


@lru_cache(maxsize=4096)
def is_hidden(char: str) -> bool:
    """Say whether ``char`` (one character) is drawn as nothing or changes what is drawn."""
    if unicodedata.category(char) in HIDDEN_CATEGORIES:
        return True
    code = ord(char)
    return any(low <= code <= high for low, high in DEFAULT_IGNORABLE)


def escape_of(char: str) -> str:
    """Return the escape that shows ``char``: ``\\u202e``, or ``\\U000e0041`` past U+FFFF."""
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def has_hidden(text: str) -> bool:
    """Say whether ``text`` holds a hidden character."""
    return not (text.isprintable() and not _PRINTABLE_IGNORABLE.search(text)) and any(
        is_hidden(c) for c in text)


def visible(text: str) -> str:
    """Return ``text`` with every hidden character written as its escape (injective)."""
    if "\\" not in text and not has_hidden(text):
        return text
    out = []
    for index, char in enumerate(text):
        if char == "\\":
            following = text[index + 1:index + 10]
            doubled = bool(following) and (bool(_LOOKS_ESCAPED.match(following))
                                           or is_hidden(following[0]))
            out.append("\\\\" if doubled else "\\")
        elif is_hidden(char):
            out.append(escape_of(char))
        else:
            out.append(char)
    return "".join(out)


def _json_escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000  # JSON spells characters past U+FFFF as a UTF-16 surrogate pair
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def visible_json(value: object) -> str:
    """Return ``value`` as indented JSON whose hidden characters are JSON escapes.

    The result is still JSON and reads back to exactly ``value``; only the layout's newlines
    are raw (inside strings ``json`` escapes controls itself).
    """
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    if not has_hidden(text.replace("\n", "")):
        return text
    return "".join(_json_escape(c) if c != "\n" and is_hidden(c) else c for c in text)
