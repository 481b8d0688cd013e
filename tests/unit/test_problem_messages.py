"""Every error a caller may meet says in plain Chinese what happened (the problem's
``message``); ``title`` and ``detail`` stay for developers."""
from __future__ import annotations

import re

import engine.definitions.replay  # noqa: F401  (defines CandidateRefused)
from engine import errors

CHINESE = re.compile(r"[\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z]")


def every_error_class(root=errors.OneWindowError):
    for kind in root.__subclasses__():
        yield kind
        yield from every_error_class(kind)


def test_every_error_class_says_what_happened_in_chinese():
    kinds = [errors.OneWindowError, *every_error_class()]
    assert len(kinds) > 15
    for kind in kinds:
        assert CHINESE.search(kind.said) and not LATIN.search(kind.said), kind
