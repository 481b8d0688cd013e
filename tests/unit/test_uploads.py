"""Uploads without the API: what the bytes are (engine/uploads/sniffing.py), the name kept
(engine/uploads/names.py), the ``upload:<id>`` notation and the upload settings."""
from __future__ import annotations

import time

import pytest

from engine.config import SettingsError, load_settings
from engine.store.models import UploadKind
from engine.uploads.names import MAX_NAME, safe_name
from engine.uploads.references import MALFORMED, reference_problem, upload_id
from engine.uploads.sniffing import sniff
from tests.files import archive


@pytest.mark.parametrize(("content", "kind"), [
    (b"%PDF-1.7\n", UploadKind.PDF), (b"\xff\xd8\xff\xdb\x00", UploadKind.JPEG),
    (b"\x89PNG\r\n\x1a\n\x00", UploadKind.PNG), (archive({"OFD.xml": b"<ofd:OFD/>"}), UploadKind.OFD),
    (archive({"OFD.xml": b"\xef\xbb\xbf<?xml version='1.0'?><ofd:OFD/>"}), UploadKind.OFD),
    (b"GIF89a", None), (b"MZ\x90\x00", None), (b"<html>", None), (b"", None), (b" %PDF-1.7", None),
    (archive({"OFD.xml": b"not xml"}), None), (archive({"a/OFD.xml": b"<ofd:OFD/>"}), None),
    (archive({"OFD.xml/": b""}), None), (b"PK\x03\x04" + b"\x00" * 100, None),
])
def test_the_kind_is_what_the_bytes_say(content, kind):
    assert sniff(content) == kind


def test_a_compressed_bomb_named_ofd_xml_is_read_only_as_far_as_its_head():
    bomb = archive({"OFD.xml": b"<" + b" " * 50_000_000})  # 50 MB inflated, ~50 KB deflated
    started = time.perf_counter()
    assert sniff(bomb) == UploadKind.OFD
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize(("given", "kind", "kept"), [
    ("营业执照.pdf", UploadKind.PDF, "营业执照.pdf"),
    ("证明.PDF", UploadKind.PNG, "证明.png"),
    ("C:\\Users\\王\\身份证.jpeg", UploadKind.JPEG, "身份证.jpg"),
    ("../../etc/passwd", UploadKind.PDF, "passwd.pdf"),
    ("evil\u202eFDP.exe", UploadKind.PDF, "evilFDP.exe.pdf"),
    ("a\x00b\tc.png", UploadKind.PNG, "ab c.png"),
    ("", UploadKind.OFD, "材料.ofd"), (None, UploadKind.PDF, "材料.pdf"), ("...", UploadKind.PDF, "材料.pdf"),
])
def test_the_name_kept_is_safe_and_ends_as_the_kind(given, kind, kept):
    assert safe_name(given, kind) == kept


def test_a_long_name_is_cut_keeping_its_ending():
    name = safe_name("长" * 500 + ".pdf", UploadKind.PDF)
    assert len(name) == MAX_NAME and name.endswith(".pdf")


def test_a_reference_names_an_upload_only_with_the_prefix():
    assert upload_id("upload:Yk3pQ0sV9xT2bN7wA5Pg1h") == "Yk3pQ0sV9xT2bN7wA5Pg1h"
    assert upload_id("电子证照 460100-2026-0001") is None and upload_id(None) is None
    assert reference_problem("upload:has space") == MALFORMED and reference_problem("upload:") == MALFORMED
    assert reference_problem("upload:ok_id-1") is None and reference_problem("纸质材料") is None


@pytest.mark.parametrize(("name", "value"), [
    ("ONEWINDOW_UPLOAD_MAX_BYTES", "10MB"), ("ONEWINDOW_UPLOAD_MAX_BYTES", "0"),
    ("ONEWINDOW_UPLOAD_MAX_PER_APPLICATION", "-1"), ("ONEWINDOW_UPLOAD_DIR", "relative/dir"),
    ("ONEWINDOW_UPLOAD_SCAN_COMMAND", "clamdscan 'unclosed"),
])
def test_a_malformed_upload_setting_is_refused_naming_it(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings()


def test_upload_settings_are_read(monkeypatch, tmp_path):
    monkeypatch.setenv("ONEWINDOW_UPLOAD_DIR", str(tmp_path))
    monkeypatch.setenv("ONEWINDOW_UPLOAD_SCAN_COMMAND", "clamdscan --no-summary -")
    monkeypatch.setenv("ONEWINDOW_UPLOAD_MAX_BYTES", "2048")
    monkeypatch.setenv("ONEWINDOW_UPLOAD_MAX_PER_APPLICATION", "5")
    settings = load_settings()
    assert (settings.upload_dir, settings.upload_scan_command) == (str(tmp_path), "clamdscan --no-summary -")
    assert (settings.upload_max_bytes, settings.upload_max_per_application) == (2048, 5)
