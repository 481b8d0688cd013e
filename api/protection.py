"""What stands between the API and hostile traffic: rate limits and security headers.

Rate limits use flask-limiter, kept in Redis when it is configured (shared by every API
process) and in memory when embedded. If Redis is down the limiter falls back to memory
and logs, so a Redis outage never refuses a lawful submission.
"""
from __future__ import annotations

import hashlib
import json

from flask import Flask, Response, g, request
from flask_limiter import Limiter, RequestLimit
from flask_limiter.util import get_remote_address

import web
from api.problems import problem
from engine.config import Settings

DOCS_PREFIX = "/api/docs"
# A hung Redis must not hold requests: give up quickly and fall back to memory.
STORAGE_TIMEOUTS = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}


def _breach(limit: RequestLimit) -> Response:
    return problem(429, "Too many requests", f"limit {limit.limit} reached; try again later")


def login_key() -> str:
    """Per address and username: guessing one account's password is slowed down without
    locking a whole office behind one NAT address out."""
    username = (request.get_json(silent=True) or {}).get("username", "") if request.is_json else ""
    return f"{get_remote_address()}|{str(username)[:64]}"


def caller_key() -> str:
    """Per signed-in caller (a hash of the token), else per address."""
    header = request.headers.get("Authorization", "")
    if header:
        return hashlib.sha256(header.encode("utf-8")).hexdigest()
    return get_remote_address()


def security_headers(response: Response) -> Response:
    """Nothing from the API may be framed, sniffed or cached by a shared cache."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.blueprint == web.blp.name or "csp_nonce" in g:  # a page (web/, its error page too): scripts
        # from here or with this answer's nonce
        csp = web.content_security_policy()
    elif request.path.startswith(DOCS_PREFIX):  # Swagger UI: its own inline start-up script
        csp = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:"
    else:
        csp = "default-src 'none'; frame-ancestors 'none'"
        response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("Content-Security-Policy", csp)
    return response


def protect(app: Flask, settings: Settings) -> Limiter:
    """Limit logins and submissions and add security headers (call after the blueprints)."""
    redis_url = settings.redis_url
    limiter = Limiter(get_remote_address, app=app, storage_uri=redis_url or "memory://",
                      storage_options=STORAGE_TIMEOUTS if redis_url else {}, headers_enabled=True,
                      in_memory_fallback_enabled=True, swallow_errors=True, on_breach=_breach,
                      key_prefix="onewindow")
    limited = {  # endpoint -> (limit, key, methods)
        "auth.Login": (settings.login_limit, login_key, ["POST"]),
        "auth.Password": (settings.login_limit, caller_key, ["POST"]),  # it checks the current password
        "identity.Registration": (settings.login_limit, login_key, ["POST"]),  # it checks names against the registry
        "identity.MyIdentity": (settings.login_limit, caller_key, ["POST"]),  # so does verifying an account
        "applicants.Applications": (settings.submit_limit, caller_key, ["POST"]),
        "privacy.PersonalData": (settings.personal_data_limit, caller_key, ["POST"]),
    }
    for endpoint, (limit, key, methods) in limited.items():
        app.view_functions[endpoint] = limiter.limit(limit, key_func=key, methods=methods)(
            app.view_functions[endpoint])
    app.before_request(refuse_unstorable_input)
    app.after_request(security_headers)
    return limiter


NUL = "\x00"
MAX_NESTING = 32  # no form or API body nests deeper; json.loads itself gives up (a 500) near 1,000
TOO_DEEP = f"嵌套过深 nested deeper than {MAX_NESTING} levels"
TOO_LONG_NUMBER = "数字位数过多 a number with more digits than can be read"


def refuse_unstorable_input():
    """Input no backend can store, refused up front with 422, the same on both: NUL
    (PostgreSQL text cannot hold it: the query failed, a 500), a lone UTF-16 surrogate
    (not encodable: a 500 on either database), JSON nested deeper than any form. Each
    error is keyed by where it is: ``query: name``, ``path`` or the value's place in the
    body (``body.data.applicant_name``)."""
    found = [_unstorable(name + value, f"query: {name}") for name, value in request.args.items(multi=True)]
    found.append(_unstorable(request.path, "path"))
    if request.is_json:
        found.append(_unstorable_body(request.get_data(cache=True, as_text=True)))
    errors = {place: [reason] for place, reason in sorted(where for where in found if where)}
    if errors:
        return problem(422, "Invalid input", "the request holds characters or nesting that cannot be stored "
                                             f"({'; '.join(r[0] for r in errors.values())})", errors=errors)
    return None


def _unstorable_body(text: str) -> tuple[str, str] | None:
    try:
        return _unstorable(json.loads(text), "body") if text else None
    except RecursionError:
        return "body", TOO_DEEP
    except json.JSONDecodeError:
        return None  # not JSON: the view's own parser answers that
    except ValueError:  # an integer of more digits than Python converts (4,300): every parser fails on it
        return "body", TOO_LONG_NUMBER


def _unstorable(value: object, place: str, depth: int = 0) -> tuple[str, str] | None:
    """The first place in ``value`` no backend can store, with the reason; None if all can be."""
    if depth > MAX_NESTING:
        return place, TOO_DEEP
    if isinstance(value, str):
        reason = _unstorable_text(value)
        return (place, reason) if reason else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        reason = _unstorable_text(key) if isinstance(key, str) else None
        if reason:
            return place, reason  # a key that cannot be stored cannot be shown either: name its object
        found = _unstorable(item, f"{place}.{key}" if isinstance(key, str) else f"{place}[{key}]", depth + 1)
        if found:
            return found
    return None


def _unstorable_text(text: str) -> str | None:
    if NUL in text:
        return "不接受空字符 NUL (U+0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "不接受孤立的代理字符 a lone UTF-16 surrogate is not a character"
    return None
