"""An application's history reads in Chinese: every kind of event has its words."""
from __future__ import annotations

import re

import engine.uploads.receiving  # noqa: F401  (adds the upload kinds' words)
from engine.events import EventKind, label_of
from engine.uploads.receiving import UploadEvent


def test_every_event_kind_has_chinese_words():
    for kind in [*EventKind, *UploadEvent]:
        words = label_of(str(kind))  # as stored: the plain string
        assert words and re.search(r"[\u4e00-\u9fff]", words) and not re.search(r"[A-Za-z]", words), kind


def test_a_kind_no_person_reads_has_none():
    assert label_of("account.created") is None
