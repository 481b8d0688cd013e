"""The Flask app factory: one API for applicants, clerks and analysts, OpenAPI from marshmallow."""
from __future__ import annotations

import swagger_ui_bundle
from flask import Flask, send_from_directory

from api import (accounts, analysts, applicants, audit, auth, authorisations, authoring, bundles, clerks, context,
                 identity, incidents, openapi, portal, privacy, problems, protection, ratings, request_log,
                 supervisors, uploads)
import web
from engine.people.accounts import refuse_published_passwords
from engine.config import Settings, load_settings
from engine.logs import configure_logging
from engine.oversight.periodic import health as periodic_health, periodic_jobs
from engine.store.models import utcnow
from engine.services import Services

SWAGGER_ASSETS = "/api/docs/assets/"


STARTED_AT = "onewindow.started_at"  # when this app began watching the periodic jobs


def create_app(services: Services, settings: Settings | None = None) -> Flask:
    """Build the app on the services the composition root built (onewindow/wiring.py);
    tests pass the ones their fixtures share. ``settings``: from the environment unless given."""
    app = Flask(__name__)
    app.config.update(
        API_TITLE="OneWindow 一网通办", API_VERSION="0.1.0", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api", OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs", OPENAPI_SWAGGER_UI_URL=SWAGGER_ASSETS,
        MAX_CONTENT_LENGTH=4 * 1024 * 1024, JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False
    settings = settings or load_settings()
    configure_logging(settings.log_level)  # as gunicorn runs it; serve and the commands did already
    request_log.install(app)  # first: the request id is in every answer and log line
    with services.sessions() as session:
        refuse_published_passwords(session, settings)  # unless demo data is allowed here
    app.extensions[context.SERVICES] = services
    api = openapi.DocumentedApi(app)
    for blueprint in (auth.blp, applicants.blp, clerks.blp, analysts.blp, audit.blp,
                      supervisors.blp, ratings.blp, incidents.blp, accounts.blp, authorisations.blp,
                      identity.blp, privacy.blp, bundles.blp, authoring.blp, uploads.blp, portal.blp):
        api.register_blueprint(blueprint)
    uploads.install(app, services, settings)  # storage, scanner and limits from the settings
    app.register_blueprint(web.blp)  # the pages: shells whose scripts call this same API
    problems.register(app)
    protection.protect(app, settings)

    @app.get(SWAGGER_ASSETS + "<path:filename>")
    def swagger_assets(filename: str):
        """Swagger UI served from the installed bundle: no CDN (no internet here)."""
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)

    # /healthz: each periodic job's last run (engine/oversight/periodic.py), 503 when one is stale;
    # this process's start is when it began watching (the grace a job gets after a start).
    app.extensions[STARTED_AT] = utcnow()

    @app.get("/healthz")
    def health():
        report = periodic_health(services.sessions, periodic_jobs(), since=app.extensions[STARTED_AT])
        return report.as_dict(), 200 if report.healthy else 503

    return app
