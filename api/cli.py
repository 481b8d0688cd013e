"""The ``onewindow`` command: serve, worker, deploy, demo, reconcile, db upgrade, rules replay."""
from __future__ import annotations

import logging
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from engine.catalogue import deploy_catalogue
from engine.config import CATALOGUE_FILE, load_settings
from engine.db import upgrade

EMBEDDED_SWEEP_EVERY = 5
PROACTIVE_EVERY = 3600
log = logging.getLogger(__name__)


@click.group()
def main() -> None:
    """OneWindow 一网通办: every matter a BPMN process, a rule set and a form."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration (Alembic) to ONEWINDOW_DATABASE_URL (or the embedded SQLite)."""
    settings = load_settings()
    upgrade(settings.database_url)
    click.echo(f"schema up to date: {_safe(settings.database_url)}")


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=CATALOGUE_FILE)
def deploy(path: Path) -> None:
    """Deploy matters: PATH is the catalogue (all matters) or one matter's BPMN file in processes/."""
    from worker.jobs import engine

    catalogue, only = (path, None) if path.suffix in (".yaml", ".yml") else (path.parent / "catalogue.yaml", path.name)
    with engine().sessions() as session:
        results = deploy_catalogue(session, set(engine().sources), "cli", catalogue, only=only)
        session.commit()
        if not results:
            raise click.ClickException(f"{path} is not named in {catalogue}")
        for definition, created in results:
            state = "deployed" if created else "unchanged"
            click.echo(f"{definition.matter_code} v{definition.version} {state} ({definition.checksum[:12]})")
            for warning in _lint_warnings(definition):  # reads the rule set: inside the session
                click.echo(f"  warning: rule {warning['element_id']}: {warning['reason']}", err=True)


def _lint_warnings(definition) -> list[dict[str, str]]:
    """What lint accepts but an analyst should look at (the API returns the same list)."""
    from engine.definitions import DefinitionUpload, upload_warnings

    return upload_warnings(DefinitionUpload(matter_code=definition.matter_code, bpmn=definition.bpmn,
                                            ruleset=definition.ruleset, form=definition.form,
                                            ruleset_name=f"{definition.matter_code}.yaml"))


@main.command()
def demo() -> None:
    """Load the demo users and registry records (password: demo-password)."""
    from engine.demo import seed
    from worker.jobs import engine

    with engine().sessions() as session:
        people = seed(session, date.today())
        session.commit()
    for key, id_number in people.items():
        click.echo(f"{key:18} {id_number}")


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
def serve(host: str, port: int) -> None:
    """Run the API. With no configuration: SQLite, in-process work, shipped matters and demo data."""
    from api import create_app
    from worker.jobs import engine

    settings = load_settings()
    upgrade(settings.database_url)
    with engine().sessions() as session:
        deploy_catalogue(session, set(engine().sources), "system")
        if settings.embedded:
            from engine.demo import seed
            seed(session, date.today())
        session.commit()
    if settings.embedded:
        _start_embedded_sweeps(settings.reconcile_after_seconds)
    click.echo(f"OneWindow on http://{host}:{port}/api/docs ({_safe(settings.database_url)})")
    create_app(engine=engine()).run(host=host, port=port, threaded=True)


def _start_embedded_sweeps(after_seconds: int) -> None:
    """What the worker's cron does in production: fire due timers, sweep deadlines,
    re-send stuck work, and (hourly) apply for eligible residents (免申即享)."""
    from worker.jobs import engine, start_proactive_benefits, sweep_deadlines

    def loop() -> None:
        last_proactive = 0.0
        while True:
            time.sleep(EMBEDDED_SWEEP_EVERY)
            try:
                engine().fire_timers()
                sweep_deadlines()
                engine().reconcile(timedelta(seconds=after_seconds))
                if time.monotonic() - last_proactive >= PROACTIVE_EVERY:
                    start_proactive_benefits()
                    last_proactive = time.monotonic()
            except SQLAlchemyError:  # the database is back next round; the work is still pending
                log.exception("embedded sweep failed; retrying in %ss", EMBEDDED_SWEEP_EVERY)

    threading.Thread(target=loop, name="onewindow-sweeps", daemon=True).start()


@main.command()
@click.option("--burst", is_flag=True, help="Run queued jobs, then exit.")
def worker(burst: bool) -> None:
    """Run an RQ worker with the scheduler, timers and the reconciler (needs ONEWINDOW_REDIS_URL)."""
    from worker.main import run_worker

    settings = load_settings()
    if settings.redis_url is None:
        raise click.ClickException("set ONEWINDOW_REDIS_URL: the embedded default runs work inside `serve`")
    run_worker(settings.redis_url, burst=burst)


@main.command()
def proactive() -> None:
    """免申即享: scan the population registry once and apply for the eligible."""
    from worker.jobs import start_proactive_benefits

    for result in start_proactive_benefits():
        click.echo(f"{result['matter']}: started {len(result['started'])}, not eligible {result['not_eligible']}")


@main.group()
def rules() -> None:
    """Rule sets and DMN tables."""


@rules.command("replay")
@click.argument("matter")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def rules_replay(matter: str, file: Path) -> None:
    """Replay FILE (a rule set .yaml or a DMN .dmn) against MATTER's recorded applications:
    which decisions would change. Reads only; nothing is deployed or written."""
    from engine.errors import OneWindowError
    from engine.replay import count_recorded, replay
    from worker.jobs import engine

    kind = "dmn" if file.suffix.lower() in (".dmn", ".xml") else "ruleset"
    try:
        with click.progressbar(length=count_recorded(engine().sessions, matter), label="replaying",
                               file=sys.stderr) as bar:
            report = replay(engine().sessions, matter, kind, file.read_text(encoding="utf-8"),
                            on_each=lambda: bar.update(1))
    except OneWindowError as exc:
        problems = [f"  {p['file']} {p['element_id']}: {p['reason']}" for p in exc.extra.get("problems", [])]
        raise click.ClickException("\n".join([exc.detail, *problems])) from exc
    for warning in report.warnings:
        click.echo(f"warning: rule {warning['element_id']}: {warning['reason']}")
    click.echo(f"{report.matter}: {len(report.changes)} of {report.replayed} decision(s) would change "
               f"(candidate {report.checksum[:12]})")
    for change in report.changes:
        click.echo(f"  {change.tracking_no} (#{change.application_id}) {_reasons(change.old)} -> {_reasons(change.new)}")


def _reasons(decision: dict) -> str:
    return f"{decision['outcome']} [{', '.join(r['rule'] for r in decision['reasons'])}]"


@main.command()
def reconcile() -> None:
    """Re-send pending work older than ONEWINDOW_RECONCILE_AFTER seconds, once."""
    from worker.jobs import reconcile as run

    ids = run()
    click.echo(f"re-sent {len(ids)} application(s): {ids}")


def _safe(url: str) -> str:
    """The database URL without a password, for messages."""
    head, sep, tail = url.partition("@")
    return (head.split(":")[0] + "://…@" + tail) if sep and ":" in head.split("//")[-1] else url
