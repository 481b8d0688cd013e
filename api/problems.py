"""The one place errors become HTTP: RFC 9457 problem+json for every failure."""
from __future__ import annotations

import logging
from http import HTTPStatus

from flask import Flask, Response, current_app, json, request
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from api.request_log import current_request_id
from api.schemas import ProblemSchema
from engine import errors

# A domain error's status; a subclass (a more specific error: a 403 of 授权代办, a 409 of a
# second registration) answers as the nearest class listed here.
STATUS = {
    errors.InvalidInput: 422,
    errors.UploadRefused: 422,
    errors.UploadNotUsable: 422,
    errors.UploadTooLarge: 413,
    errors.NotFound: 404,
    errors.Forbidden: 403,
    errors.Unauthenticated: 401,
    errors.Conflict: 409,
    errors.DeploymentRefused: 400,
    errors.SourceUnavailable: 503,
    errors.ServiceUnavailable: 503,
}
PROBLEM_JSON = "application/problem+json"
# What a person reads of an HTTP error that no domain error explains (a route that does not
# exist, webargs' 422, the rate limiter's 429, the database down): plain Chinese.
SAID_FOR_STATUS = {
    400: "请求有误", 401: errors.Unauthenticated.said, 403: errors.Forbidden.said, 404: errors.NotFound.said,
    405: "不支持这样操作", 409: errors.Conflict.said, 413: errors.UploadTooLarge.said, 415: "不支持这种内容格式",
    422: errors.InvalidInput.said, 429: "操作过于频繁，请稍后再试", 503: errors.ServiceUnavailable.said,
}
log = logging.getLogger(__name__)


# The pages (web/) answer a browser's request for a page that fails — an address that is no
# page, a character no page takes — with a page of their own: app.extensions[ERROR_PAGE] is
# a callable (status, message) -> Response. The API's own paths always answer problem+json.
ERROR_PAGE = "onewindow.error_page"
NOT_PAGES = ("/api/", "/vendor/", "/assets/", "/healthz")


def problem(status: int, title: str, detail: str = "", message: str | None = None, **extra: object) -> Response:
    """A problem+json answer; ``message`` is what a person reads (plain Chinese), by default
    the words for the status. A browser asking for a page gets the pages' error page."""
    said = message or SAID_FOR_STATUS.get(status, errors.OneWindowError.said)
    page = current_app.extensions.get(ERROR_PAGE)
    if page is not None and not request.path.startswith(NOT_PAGES) and request.accept_mimetypes.accept_html:
        return page(status, said)
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, "message": said,
            "instance": request.path, **extra}
    if current_request_id() is not None:  # api/request_log.py: set for every request the app answers
        body["request_id"] = current_request_id()
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="onewindow"'
    return response


def status_of(error: errors.OneWindowError) -> int:
    return next((STATUS[kind] for kind in type(error).__mro__ if kind in STATUS), 400)


def _domain_error(error: errors.OneWindowError) -> Response:
    return problem(status_of(error), error.title, error.detail, error.said, **error.extra)


def _database_down(error: OperationalError) -> Response:
    log.error("database unavailable", exc_info=error)
    return problem(503, "Service unavailable", "the database cannot be reached; nothing was stored, try again")


class ProblemApi(Api):
    """flask-smorest's Api with its HTTP errors (404, 405, webargs' 422…) as problems.

    The document says so too: error responses are problem+json, and each operation lists
    the statuses it answers with (no catch-all "default", so clients and the schemathesis
    fuzz test can rely on the list).
    """

    ERROR_SCHEMA = ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_responses(self) -> None:
        """components/responses/<NAME> for each error status (NOT_FOUND, CONFLICT…)."""
        for status in HTTPStatus:
            if status >= 400:
                response = {"description": status.phrase, "schema": self.ERROR_SCHEMA}
                prepare_response(response, self.spec, PROBLEM_JSON)
                self.spec.components.response(status.name, response, lazy=True)

    def handle_http_exception(self, error: HTTPException) -> Response:
        data = getattr(error, "data", None) or {}
        extra = {}
        if "messages" in data:
            extra["errors"] = _flatten_locations(data["messages"])
        return problem(error.code or 500, error.name, data.get("message") or error.description or "", **extra)


def _flatten_locations(messages: dict) -> dict:
    """webargs nests errors by location ({"json": {...}}); callers want field -> messages."""
    flat: dict = {}
    for fields in messages.values():
        flat.update(fields if isinstance(fields, dict) else {"_schema": fields})
    return flat


def register(app: Flask) -> None:
    app.register_error_handler(errors.OneWindowError, _domain_error)
    app.register_error_handler(OperationalError, _database_down)
