"""The pages (web/): server-rendered shells whose small scripts call the same JSON API
with the same bearer tokens as any other client — a page adds no second way in.

Front-end libraries come from the npm registry, pinned in web/package-lock.json and
installed into web/node_modules (``npm ci --ignore-scripts`` in web/, run by the README's
first command and by CI); they are served from there under /vendor/, never from a CDN
and never copied into the repository. Text a person reads is Chinese.
"""
from __future__ import annotations

import secrets
from pathlib import Path

from flask import Blueprint, Response, abort, g, make_response, redirect, render_template, send_from_directory, url_for

from api.problems import ERROR_PAGE

WEB_ROOT = Path(__file__).resolve().parent
NODE_MODULES = WEB_ROOT / "node_modules"

# What /vendor/ serves: npm package -> the folder of it a page may load. bpmn-auto-layout
# and the modules it imports are ES modules, loaded through the import map in base.html.
VENDOR_FOLDERS = {
    "bpmn-js": "dist",
    "dmn-js": "dist",
    "@bpmn-io/form-js": "dist",
    "bpmn-auto-layout": "dist",
    "bpmn-moddle": "dist",
    "moddle": "dist",
    "moddle-xml": "dist",
    "min-dash": "dist",
    "saxen": "dist",
    "chart.js": "dist",
}

blp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/assets")


def csp_nonce() -> str:
    """This answer's nonce: the pages' inline scripts (and the import map) carry it."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def content_security_policy() -> str:
    """A page loads scripts only from this server (or inline with this answer's nonce);
    bpmn-js and form-js draw with inline styles and data: fonts and images. A clerk's page shows an
    uploaded PDF or a printed receipt, fetched with the bearer token, in a frame of a blob: URL."""
    return (f"default-src 'self'; script-src 'self' 'nonce-{csp_nonce()}'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; frame-src 'self' blob:; "
            "object-src 'none'; "
            "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


@blp.app_context_processor
def _template_helpers() -> dict:
    return {"csp_nonce": csp_nonce}


class FrontEndMissing(RuntimeError):
    """web/node_modules is not installed: the pages cannot load their libraries."""


def check_installed() -> None:
    """``onewindow serve`` refuses to start without the front-end libraries, naming the fix."""
    missing = [name for name, folder in VENDOR_FOLDERS.items() if not (NODE_MODULES / name / folder).is_dir()]
    if missing:
        raise FrontEndMissing(f"the pages' libraries are not installed ({', '.join(missing)}): "
                              f"run `npm ci --ignore-scripts` in {WEB_ROOT}")


@blp.record_once
def _pages_answer_their_errors(state) -> None:
    state.app.extensions[ERROR_PAGE] = error_page


def error_page(status: int, message: str) -> Response:
    """A page that could not be shown, said in Chinese (api/problems.py calls it)."""
    return make_response(render_template("error.html", status=status, message=message), status)


@blp.get("/vendor/<path:path>")
def vendor(path: str):
    """A file of an installed front-end package, only from its allowed folder."""
    for name, folder in VENDOR_FOLDERS.items():
        prefix = f"{name}/{folder}/"
        if path.startswith(prefix):
            return send_from_directory(NODE_MODULES / name / folder, path[len(prefix):], max_age=3600)
    abort(404)


@blp.get("/")
def home():
    """The portal is the public front door; signed-in staff are sent on to their own
    area by the login page (OneWindow.home in app.js)."""
    return redirect(url_for("web.portal_home"))


@blp.get("/login")
def login():
    return render_template("login.html")


@blp.get("/analyst/matters")
def matters():
    return render_template("analyst/matters.html")


@blp.get("/analyst/matters/<code>")
def matter(code: str):
    return render_template("analyst/matter.html", code=code)


@blp.get("/analyst/modeller/<code>")
def modeller(code: str):
    return render_template("analyst/modeller.html", code=code)


@blp.get("/analyst/new")
def new_matter():
    return render_template("analyst/new_matter.html")


@blp.get("/analyst/import")
def catalogue_import():
    return render_template("analyst/import.html")


@blp.get("/analyst/incidents")
def incidents():
    return render_template("analyst/incidents.html")


# The areas' pages, one module each: the applicant portal (网上办事大厅), the clerk's
# workbench (工作台) and the supervision dashboard (电子监察); the analyst's are above.
from web import applicant, clerk, supervisor  # noqa: E402,F401  (they add routes to blp)
