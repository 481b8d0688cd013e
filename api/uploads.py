"""Material uploads (申请材料): upload a file, read its metadata and its bytes (engine/uploads/).

A file is sent as multipart/form-data (field ``file``); its kind is read from its bytes. A
material then names it ``upload:<id>`` — in a 补正 answer's ``materials[].reference`` —
or a submission lists it in ``uploads``. Only this route takes bodies larger than the
app's MAX_CONTENT_LENGTH: up to ONEWINDOW_UPLOAD_MAX_BYTES, plus room for the multipart
framing; anything larger is 413 before it is read.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import quote

from flask import Flask, Response, current_app, g, request
from flask.views import MethodView
from flask_smorest import Blueprint
from flask_smorest.fields import Upload as UploadField
from marshmallow import Schema, fields
from werkzeug.exceptions import RequestEntityTooLarge

from api.auth import roles
from api.context import services
from api.schemas import APPLICATION_REF, UtcDateTime
from engine.config import Settings
from engine.errors import InvalidInput, UploadTooLarge
from engine.services import Services
from engine.store.models import ScanStatus, UploadKind
from engine.store.references import application_id_for
from engine.uploads.receiving import UPLOADERS, Uploads
from engine.uploads.references import PREFIX
from engine.uploads.sniffing import EXTENSIONS, MIME_TYPES

blp = Blueprint("uploads", __name__, url_prefix="/api", description="Material uploads (申请材料的文件)")

UPLOADS = "onewindow.uploads"  # the app.extensions key
MULTIPART_FRAMING = 64 * 1024  # bytes a multipart body may hold beyond the file: boundaries, part headers
UPLOAD_ID = "string(maxlength=64)"
# The bytes are shown inside the platform's pages at most, never run: no script, no plug-in,
# no form, whatever a file holds (a PDF with JavaScript, an image that is also HTML).
CONTENT_POLICY = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'"
CONTENT_EXAMPLES = {UploadKind.PDF: "%PDF-1.7 …", UploadKind.JPEG: "(JPEG bytes)", UploadKind.PNG: "(PNG bytes)",
                    UploadKind.OFD: "(OFD: a ZIP archive with OFD.xml at its root)"}


def install(app: Flask, services: Services, settings: Settings) -> None:
    """The upload use cases on the app's services and the settings' storage, scanner and limits."""
    app.extensions[UPLOADS] = Uploads.from_settings(services.sessions, settings, services.clock)


def uploads() -> Uploads:
    return current_app.extensions[UPLOADS]


def within_upload_limit(view: Callable) -> Callable:
    """Let this request's body be as large as an upload may be (the app's limit is for JSON),
    and answer a larger one with 413 in words the applicant reads."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        limit = uploads().limits.max_bytes
        request.max_content_length = limit + MULTIPART_FRAMING
        try:
            return view(*args, **kwargs)
        except RequestEntityTooLarge as exc:
            raise UploadTooLarge(f"文件超过 {limit / (1024 * 1024):g} MB 的上限，请压缩或分开上传",
                                 max_bytes=limit) from exc
    return wrapper


def refuse_other_fields() -> None:
    """The body holds the file and nothing else: text fields beside it are refused, as any
    field the schema does not name is in a JSON body."""
    extra = sorted(request.form)[:10]
    if extra:
        raise InvalidInput("只接受一个名为 file 的文件字段", {name: ["多余的字段 unknown field"] for name in extra})


class UploadFormSchema(Schema):
    class Meta:
        example = {"file": "营业执照.pdf"}

    file = UploadField(required=True, metadata={
        "description": "the file: PDF, JPEG, PNG or OFD, judged by its bytes (not its name or Content-Type)"})


class UploadSchema(Schema):
    id = fields.String(attribute="public_id", metadata={
        "description": "the upload's id: a material names it upload:<id>", "example": "Yk3pQ0sV9xT2bN7wA5Pg1h"})
    reference = fields.Function(lambda upload: PREFIX + upload.public_id, metadata={
        "description": "what a material's reference holds to name this upload",
        "example": "upload:Yk3pQ0sV9xT2bN7wA5Pg1h"})
    name = fields.String(metadata={"description": "the file's name, made safe, ending as its kind",
                                   "example": "营业执照.pdf"})
    kind = fields.String(metadata={"description": "what the bytes are", "example": UploadKind.PDF.value,
                                   "enum": [kind.value for kind in UploadKind]})
    size = fields.Integer(metadata={"description": "bytes", "example": 182044})
    sha256 = fields.String(metadata={"example": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"})
    scan = fields.String(metadata={"description": "the virus scan: clean, or not_scanned where no scanner is set",
                                   "example": ScanStatus.NOT_SCANNED.value,
                                   "enum": [ScanStatus.CLEAN.value, ScanStatus.NOT_SCANNED.value]})
    attached = fields.Function(lambda upload: upload.application_id is not None, metadata={
        "description": "part of an application (a submission or a 补正 named it)", "example": False})
    created_at = UtcDateTime(metadata={"example": "2026-03-02T01:30:00+00:00"})


@blp.route("/uploads")
class UploadedFiles(MethodView):
    @roles(*UPLOADERS)  # first: who may upload is known before the body is read
    @within_upload_limit
    @blp.arguments(UploadFormSchema, location="files")
    @blp.response(201, UploadSchema)
    @blp.alt_response(400, "BAD_REQUEST")
    @blp.alt_response(413, "REQUEST_ENTITY_TOO_LARGE")
    @blp.alt_response(422, "UNPROCESSABLE_ENTITY")
    def post(self, form: dict):
        """Upload a material file (multipart/form-data, field ``file``): PDF, JPEG, PNG or OFD by its
        bytes, at most ONEWINDOW_UPLOAD_MAX_BYTES (413), virus-scanned where a scanner is set (503
        if the scan fails: nothing is stored); a material then names it ``upload:<id>``."""
        refuse_other_fields()
        file = form["file"]
        content = file.stream.read(uploads().limits.max_bytes + 1)  # one byte more tells "too large"
        return uploads().receive(g.user, file.filename, content)


@blp.route(f"/uploads/<{UPLOAD_ID}:upload_id>")
class UploadedFile(MethodView):
    @blp.response(200, UploadSchema)
    @blp.alt_response(404, "NOT_FOUND")
    @roles()
    def get(self, upload_id: str):
        """An upload's name, kind, size, SHA-256 and scan: for its owner, and once it is part of an
        application for whoever may read that application; anyone else 404."""
        return uploads().metadata(g.user, upload_id)


@blp.route(f"/uploads/<{UPLOAD_ID}:upload_id>/content")
class UploadedFileContent(MethodView):
    @blp.doc(responses={"200": {"description": "the file's bytes, as the kind its bytes are", "content": {
        MIME_TYPES[kind]: {"schema": {"type": "string", "format": "binary"}, "example": CONTENT_EXAMPLES[kind]}
        for kind in UploadKind}}})
    @blp.alt_response(404, "NOT_FOUND")
    @roles()
    def get(self, upload_id: str):
        """An upload's bytes, shown inline with the type its bytes are, sandboxed; who may is as for
        its metadata, and every view by staff is recorded (GET /api/me/data-access shows it)."""
        upload, content = uploads().content(g.user, upload_id)
        kind = UploadKind(upload.kind)
        fallback = f"{upload.public_id}{EXTENSIONS[kind]}"  # for clients that read no filename*
        return Response(content, mimetype=MIME_TYPES[kind], headers={
            "Content-Disposition": f"inline; filename=\"{fallback}\"; filename*=UTF-8''{quote(upload.name, safe='')}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": CONTENT_POLICY,
            "X-Frame-Options": "SAMEORIGIN",
            "Cache-Control": "private, no-store",
        })


@blp.route(f"/applications/<{APPLICATION_REF}:reference>/uploads")
class ApplicationUploads(MethodView):
    @blp.response(200, UploadSchema(many=True))
    @blp.alt_response(404, "NOT_FOUND")
    @roles()
    def get(self, reference: str):
        """The uploads that are part of an application (its submission's and its 补正's), oldest
        first: for whoever may read the application (applicants by its reference); else 404."""
        with services().sessions() as session:
            found = application_id_for(session, g.user, reference)
        return uploads().of_application(g.user, found)
