"""Material uploads (engine/uploads/, api/uploads.py): files taken by what their bytes are,
within their size limit, scanned by a real (fake) scanner process, kept in the database or
a directory once per content; read by their owner and, once part of an application, by
whoever may read that application — each staff view recorded; attached by a submission's
``uploads`` or a 补正 answer's ``materials[].reference`` (``upload:<id>``)."""
from __future__ import annotations

import io
import shlex
import struct
import sys
import zlib
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from api import create_app
from engine.store.models import Upload, UploadBlob
from tests.files import archive
from tests.integration.helpers import ApiClient, with_silent_source
from tests.integration.test_comprehensive_window import (
    MATERIALS,
    complete,
    open_task,
    submit,
)


def minimal_pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
            b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def one_pixel_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b""))


def jpeg() -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(64) + b"\xff\xd9"


OFD_XML = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
           b'<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0"><ofd:DocBody/></ofd:OFD>')
EICAR_MARK = b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE"  # what the fake scanner looks for
KINDS = {"pdf": minimal_pdf(), "png": one_pixel_png(), "jpeg": jpeg(),
         "ofd": archive({"OFD.xml": OFD_XML, "Doc_0/Document.xml": b"<ofd:Document/>"})}
REFUSED = {
    "exe": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(64),
    "html": b"<!DOCTYPE html><html><script>alert(1)</script></html>",
    "zip without OFD.xml": archive({"readme.txt": b"hello"}),
    "OFD.xml not at the root": archive({"docs/OFD.xml": OFD_XML}),
    "a broken zip": b"PK\x03\x04" + bytes(40),
    "empty": b"",
}


def send(client: ApiClient, user: str | None, content: bytes, name: str = "材料.pdf",
         content_type: str = "application/pdf"):
    return client.post("/api/uploads", user, data={"file": (io.BytesIO(content), name, content_type)},
                       content_type="multipart/form-data")


def uploaded(client: ApiClient, user: str, content: bytes, name: str = "材料.pdf") -> dict:
    reply = send(client, user, content, name)
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()


@pytest.fixture
def configured(services, settings):
    """An API on the suite's services with other upload settings."""
    def make(**changes) -> ApiClient:
        return ApiClient(create_app(services, replace(settings, **changes)))
    return make


@pytest.fixture
def fake_scanner(tmp_path) -> str:
    """A real scanner process: it keeps what it was fed and exits 1 when the bytes hold the
    EICAR test string, 0 otherwise (ClamAV's convention)."""
    script = tmp_path / "fake_scanner.py"
    script.write_text("import sys, pathlib\n"
                      "data = sys.stdin.buffer.read()\n"
                      f"pathlib.Path({str(tmp_path / 'scanned.bin')!r}).write_bytes(data)\n"
                      f"sys.exit(1 if {EICAR_MARK!r} in data else 0)\n")
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}"


# --- what is taken ------------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_is_taken_by_its_bytes(api, new_user, kind):
    applicant = new_user()
    content = KINDS[kind]
    body = uploaded(api, applicant, content, f"证明材料.{kind}")
    assert body["kind"] == kind and body["size"] == len(content)
    assert body["scan"] == "not_scanned" and body["attached"] is False
    assert body["reference"] == f"upload:{body['id']}" and len(body["id"]) >= 22
    assert len(body["sha256"]) == 64
    assert api.get(f"/api/uploads/{body['id']}/content", applicant).get_data() == content


def test_the_bytes_decide_not_the_name_or_the_content_type(api, new_user):
    applicant = new_user()
    body = uploaded(api, applicant, one_pixel_png(), "../../身份证明.pdf")
    assert (body["kind"], body["name"]) == ("png", "身份证明.png")
    reply = api.get(f"/api/uploads/{body['id']}/content", applicant)
    assert reply.headers["Content-Type"] == "image/png"


@pytest.mark.parametrize("what", list(REFUSED))
def test_anything_else_is_refused_in_words_the_applicant_reads(api, new_user, what):
    reply = send(api, new_user(), REFUSED[what], "证明.pdf")
    assert reply.status_code == 422, reply.get_json()
    assert reply.headers["Content-Type"].startswith("application/problem+json")
    message = reply.get_json()["errors"]["file"][0]
    assert "文件" in message


def test_no_file_field_is_422(api, new_user):
    reply = api.post("/api/uploads", new_user(), data={"other": "x"}, content_type="multipart/form-data")
    assert reply.status_code == 422 and "file" in reply.get_json()["errors"]


# --- size -----------------------------------------------------------------------------------

def test_a_file_over_the_limit_is_413_with_a_problem(configured, new_user):
    small = configured(upload_max_bytes=1000)
    applicant = new_user()
    just = minimal_pdf() + b"%" * (1000 - len(minimal_pdf()))
    assert send(small, applicant, just).status_code == 201
    over = send(small, applicant, just + b"%")
    assert over.status_code == 413 and over.headers["Content-Type"].startswith("application/problem+json")
    assert "MB" in over.get_json()["detail"]
    huge = send(small, applicant, just * 200)  # past the request's own limit: refused before it is read
    assert huge.status_code == 413 and huge.headers["Content-Type"].startswith("application/problem+json")


def test_uploads_may_be_larger_than_any_other_request(api, new_user):
    """The app takes 4 MB bodies; its upload route takes files up to ONEWINDOW_UPLOAD_MAX_BYTES (10 MB)."""
    applicant = new_user()
    big = minimal_pdf() + b"%" * (5 * 1024 * 1024)
    assert uploaded(api, applicant, big)["size"] == len(big)
    other = api.post("/api/applications", applicant, data=b"{" + b" " * (5 * 1024 * 1024) + b"}",
                     content_type="application/json")
    assert other.status_code == 413


# --- the virus-scan hook ------------------------------------------------------------------

def test_a_scanner_command_is_fed_each_file_and_refuses_an_infected_one(configured, new_user, fake_scanner,
                                                                      tmp_path, services):
    scanned = configured(upload_scan_command=fake_scanner)
    applicant = new_user()
    clean = uploaded(scanned, applicant, minimal_pdf())
    assert clean["scan"] == "clean"
    assert (tmp_path / "scanned.bin").read_bytes() == minimal_pdf()
    infected = minimal_pdf() + b"% " + EICAR_MARK + b"\n"
    before = _count(services)
    reply = send(scanned, applicant, infected)
    assert reply.status_code == 422 and "病毒" in reply.get_json()["errors"]["file"][0]
    assert _count(services) == before  # nothing of it was kept


def test_a_scan_that_fails_stores_nothing_and_answers_503(configured, new_user, tmp_path, services):
    broken = tmp_path / "broken_scanner.py"
    broken.write_text("import sys\nsys.stdin.buffer.read()\nsys.exit(2)\n")
    for command in (f"{shlex.quote(sys.executable)} {shlex.quote(str(broken))}", str(tmp_path / "no-such-scanner")):
        before = _count(services)
        reply = send(configured(upload_scan_command=command), new_user(), minimal_pdf())
        assert reply.status_code == 503 and reply.headers["Content-Type"].startswith("application/problem+json")
        assert "病毒扫描" in reply.get_json()["detail"]
        assert _count(services) == before


def _count(services) -> int:
    with services.sessions() as session:
        return session.scalar(select(func.count(Upload.id)))


# --- where the bytes are --------------------------------------------------------------------

def test_by_default_the_bytes_are_in_the_database_once(api, new_user, services):
    applicant = new_user()
    content = minimal_pdf() + b"% database storage\n"
    first, second = uploaded(api, applicant, content), uploaded(api, new_user(), content)
    assert first["id"] != second["id"] and first["sha256"] == second["sha256"]
    with services.sessions() as session:
        rows = session.scalars(select(Upload).where(Upload.sha256 == first["sha256"])).all()
        assert {row.storage_kind for row in rows} == {"database"}
        assert session.get(UploadBlob, first["sha256"]).content == content


def test_in_a_directory_the_same_file_twice_is_one_file_named_by_its_sha256(configured, new_user, tmp_path):
    directory = tmp_path / "uploads"
    stored = configured(upload_dir=str(directory))
    applicant = new_user()
    content = one_pixel_png()
    first, second = uploaded(stored, applicant, content, "a.png"), uploaded(stored, applicant, content, "b.png")
    assert first["id"] != second["id"]
    assert [path.name for path in directory.iterdir()] == [first["sha256"]]  # no temporary file left either
    assert (directory / first["sha256"]).read_bytes() == content
    assert stored.get(f"/api/uploads/{second['id']}/content", applicant).get_data() == content


# --- who may read -------------------------------------------------------------------------

@pytest.fixture
def attached(api, services, new_user, resident, applicant_for):
    """An 85-year-old's upload, part of their 高龄补贴 application waiting for a civil-affairs
    clerk (the death register does not answer): (upload id, owner, application id, its reference)."""
    waiting = with_silent_source(services, "death_records")
    id_number = resident(85)
    owner = applicant_for(id_number)
    upload = uploaded(api, owner, minimal_pdf(), "户口簿.pdf")
    reply = waiting.post("/api/applications", owner, json={
        "matter": "elderly_subsidy", "data": {"id_number": id_number, "phone": "13700137000"},
        "uploads": [upload["reference"]]})
    assert reply.status_code == 202, reply.get_json()
    return upload["id"], owner, reply.get_json()["id"], reply.get_json()["reference"]


def test_who_may_read_an_upload(api, new_user, attached):
    upload_id, owner, application_id, reference = attached
    clerk, other_clerk, other = new_user("clerk", "civil_affairs"), new_user("clerk", "housing"), new_user()
    for path in (f"/api/uploads/{upload_id}", f"/api/uploads/{upload_id}/content"):
        assert api.get(path, owner).status_code == 200
        assert api.get(path, clerk).status_code == 200  # the handling department, now that it is attached
        assert api.get(path, other).status_code == 404
        assert api.get(path, other_clerk).status_code == 404
        assert api.get(path).status_code == 401
    assert api.get("/api/uploads/nothing-here", owner).status_code == 404
    assert api.get(f"/api/uploads/{upload_id}", owner).get_json()["attached"] is True
    # the application's uploads, listed for whoever may read the application
    assert [u["id"] for u in api.get(f"/api/applications/{reference}/uploads", owner).get_json()] == [upload_id]
    assert [u["id"] for u in api.get(f"/api/applications/{application_id}/uploads", clerk).get_json()] == [upload_id]
    assert api.get(f"/api/applications/{reference}/uploads", other).status_code == 404
    assert api.get(f"/api/applications/{application_id}/uploads", other_clerk).status_code == 404


def test_an_unattached_upload_is_its_owners_alone(api, new_user):
    owner, clerk = new_user(), new_user("clerk", "civil_affairs")
    upload = uploaded(api, owner, jpeg(), "照片.jpg")
    assert api.get(f"/api/uploads/{upload['id']}", owner).status_code == 200
    assert api.get(f"/api/uploads/{upload['id']}", clerk).status_code == 404


def test_the_content_is_served_inline_sandboxed_and_never_sniffed(api, new_user):
    owner = new_user()
    upload = uploaded(api, owner, minimal_pdf(), "营业执照 副本.pdf")
    reply = api.get(f"/api/uploads/{upload['id']}/content", owner)
    assert reply.headers["Content-Type"] == "application/pdf"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in reply.headers["Content-Security-Policy"]
    disposition = reply.headers["Content-Disposition"]
    assert disposition.startswith("inline;")
    assert "filename*=UTF-8''%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7%20%E5%89%AF%E6%9C%AC.pdf" in disposition


def test_every_staff_view_is_shown_to_the_applicant(api, new_user, attached):
    upload_id, owner, _, _ = attached
    clerk = new_user("clerk", "civil_affairs")
    assert api.get(f"/api/uploads/{upload_id}/content", owner).status_code == 200  # their own: not recorded
    assert api.get(f"/api/uploads/{upload_id}/content", clerk).status_code == 200
    views = [v for v in api.get("/api/me/data-access", owner).get_json() if f"upload:{upload_id}" in v["fields"]]
    assert [(v["viewer"], v["viewer_role"]) for v in views] == [(clerk, "clerk")]
    assert "户口簿.pdf" in views[0]["reason"]


# --- attaching ------------------------------------------------------------------------------

def test_a_submission_naming_an_upload_it_may_not_use_creates_nothing(api, services, new_user, resident,
                                                                      applicant_for):
    id_number = resident(85)
    owner = applicant_for(id_number)
    someone_elses = uploaded(api, new_user(), minimal_pdf())
    before = len(api.get("/api/applications", owner).get_json())
    reply = api.post("/api/applications", owner, json={
        "matter": "elderly_subsidy", "data": {"id_number": id_number, "phone": "13700137000"},
        "uploads": [someone_elses["id"], "upload:no-such-upload"]})
    assert reply.status_code == 422, reply.get_json()
    assert set(reply.get_json()["errors"]) == {"uploads.0", "uploads.1"}
    assert len(api.get("/api/applications", owner).get_json()) == before
    assert api.get(f"/api/uploads/{someone_elses['id']}", owner).status_code == 404


ASKED = [MATERIALS[1], MATERIALS[3]]  # what the front desk asks for (一次性告知)


@pytest.fixture
def supplement_due(api, new_user):
    """A 临时占道 application the front desk asked to hand in two materials (一次性告知):
    (applicant, application, front-desk clerk)."""
    applicant, window = new_user(), new_user("clerk", "front_desk")
    application = submit(api, applicant)
    intake = open_task(api, window, application["id"])
    complete(api, window, intake["id"], outcome="supplement", missing_materials=ASKED, comment="请补交")
    return applicant, application, window


def handing_in(*references: str) -> dict:
    return {"materials": [{"name": name, "reference": reference} for name, reference in zip(ASKED, references)]}


def test_a_supplement_answer_attaches_the_upload_it_names(api, new_user, supplement_due):
    applicant, application, window = supplement_due
    other_clerk = new_user("clerk", "culture")
    upload = uploaded(api, applicant, KINDS["ofd"], "交通安全保障方案.ofd")
    assert api.get(f"/api/uploads/{upload['id']}", window).status_code == 404  # not part of the case yet
    path = f"/api/applications/{application['reference']}/supplement"
    someone_elses = uploaded(api, new_user(), minimal_pdf())
    refused = api.post(path, applicant, json=handing_in("电子证照 460100-2026-0001", someone_elses["reference"]))
    assert refused.status_code == 422, refused.get_json()
    assert list(refused.get_json()["errors"]) == ["materials.1.reference"]
    malformed = api.post(path, applicant, json=handing_in("upload:!!", upload["reference"]))
    assert malformed.status_code == 422 and list(malformed.get_json()["errors"]) == ["materials.0.reference"]
    assert api.get(f"/api/uploads/{upload['id']}", applicant).get_json()["attached"] is False
    handed_in = api.post(path, applicant, json=handing_in("电子证照 460100-2026-0001", upload["reference"]))
    assert handed_in.status_code == 200, handed_in.get_json()
    assert api.get(f"/api/uploads/{upload['id']}", applicant).get_json()["attached"] is True
    assert api.get(f"/api/uploads/{upload['id']}/content", window).get_data() == KINDS["ofd"]
    assert api.get(f"/api/uploads/{upload['id']}/content", other_clerk).status_code == 404


def test_an_upload_is_part_of_one_application_only(api, services, supplement_due, attached):
    applicant, application, _ = supplement_due
    _, _, elsewhere, _ = attached
    used, fresh = uploaded(api, applicant, minimal_pdf()), uploaded(api, applicant, jpeg(), "照片.jpg")
    with services.sessions() as session:  # as if an earlier submission of theirs had named it
        session.scalars(select(Upload).where(Upload.public_id == used["id"])).one().application_id = elsewhere
        session.commit()
    reply = api.post(f"/api/applications/{application['reference']}/supplement", applicant,
                     json=handing_in(fresh["reference"], used["reference"]))
    assert reply.status_code == 422, reply.get_json()
    assert reply.get_json()["errors"] == {"materials.1.reference": ["这份材料已用于另一件申请，请重新上传"]}
    assert api.get(f"/api/uploads/{fresh['id']}", applicant).get_json()["attached"] is False  # all rolled back


def test_a_plain_reference_still_works(api, supplement_due):
    applicant, application, _ = supplement_due
    reply = api.post(f"/api/applications/{application['reference']}/supplement", applicant,
                     json=handing_in("电子证照 460100-2026-0001", "纸质材料 窗口收件 0002"))
    assert reply.status_code == 200, reply.get_json()


def test_the_upload_route_is_for_applicants_agents_and_clerks(api, new_user):
    for role in ("analyst", "supervisor", "admin"):
        assert send(api, new_user(role), minimal_pdf()).status_code == 403
    assert send(api, None, minimal_pdf()).status_code == 401
    assert send(api, new_user("clerk", "front_desk"), minimal_pdf()).status_code == 201


def test_the_body_holds_the_file_and_nothing_else(api, new_user):
    reply = api.post("/api/uploads", new_user(), content_type="multipart/form-data", data={
        "file": (io.BytesIO(minimal_pdf()), "a.pdf"), "note": "{}"})
    assert reply.status_code == 422 and list(reply.get_json()["errors"]) == ["note"]
