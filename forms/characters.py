"""Which characters a text answer may hold.

A name or an address is read back by clerks, printed on certificates and compared with
registries, so characters nobody can see are refused with the field named:

- control characters (Unicode category Cc: C0, DEL and C1), except a line break (LF, or
  CR LF as Windows clients send it) or a tab in a multi-line field (a textarea);
- bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069, the
  "Trojan Source" characters): they make a name display as something else than it is;
- lone UTF-16 surrogates (category Cs), which are no characters at all and cannot be
  stored by either database.

The classes come from the Unicode database (``unicodedata``), not from a list of code
points kept here.
"""
from __future__ import annotations

import unicodedata

__all__ = ["text_problem"]

CONTROL = "Cc"
SURROGATE = "Cs"
DIRECTION_FORMATTING = frozenset({"LRE", "RLE", "PDF", "LRO", "RLO", "LRI", "RLI", "FSI", "PDI"})
MULTILINE_ALLOWED = frozenset("\n\r\t")


def _code_point(char: str) -> str:
    return f"U+{ord(char):04X}"


def _char_problem(char: str, multiline: bool) -> str | None:
    category = unicodedata.category(char)
    if category == CONTROL and not (multiline and char in MULTILINE_ALLOWED):
        return f"不能含有控制字符（{_code_point(char)}） control character {_code_point(char)} is not allowed"
    if unicodedata.bidirectional(char) in DIRECTION_FORMATTING:
        return (f"不能含有文字方向控制字符（{_code_point(char)}）"
                f" bidirectional formatting character {_code_point(char)} is not allowed")
    if category == SURROGATE:
        return f"不能含有无效字符（{_code_point(char)}） a lone surrogate {_code_point(char)} is not a character"
    return None


def text_problem(value: str, multiline: bool = False) -> str | None:
    """Describe the first character a text answer may not hold, or None when all are fine."""
    if value.isprintable():  # every character refused here is non-printable: the common case is quick
        return None
    for char in value:
        problem = _char_problem(char, multiline)
        if problem is not None:
            return problem
    return None
