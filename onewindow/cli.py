"""The ``onewindow`` command: serve, worker, deploy, demo, reconcile, db upgrade, rules replay, catalogue import."""
from __future__ import annotations

import logging
import sys
import socket
import threading
import time
from datetime import date
from pathlib import Path

import click
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import OperationalError

from onewindow.users_cli import users_group
from engine.people.accounts import refuse_published_passwords
from engine.definitions.catalogue import deploy_catalogue
from engine.config import CATALOGUE_FILE, SettingsError, load_settings
from engine.store.db import upgrade
from engine.logs import configure_logging

log = logging.getLogger("onewindow")


class _OneLineErrors(click.Group):
    """A malformed setting or an unreachable database or Redis ends the command with one
    line naming it, exit 1 — not a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SettingsError as exc:
            raise click.ClickException(str(exc)) from exc
        except OperationalError as exc:
            raise click.ClickException(f"the database cannot be reached: {str(exc.orig).strip().splitlines()[0]} "
                                       "(ONEWINDOW_DATABASE_URL)") from exc
        except RedisConnectionError as exc:
            raise click.ClickException(f"Redis cannot be reached: {exc} (ONEWINDOW_REDIS_URL)") from exc


@click.group(cls=_OneLineErrors)
@click.version_option(package_name="onewindow", prog_name="onewindow")
def main() -> None:
    """OneWindow 一网通办: every matter a BPMN process, a rule set and a form."""
    configure_logging(load_settings().log_level)  # JSON lines on stderr; what a command prints stays on stdout


main.add_command(users_group)


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
    from onewindow.wiring import process_services

    catalogue, only = (path, None) if path.suffix in (".yaml", ".yml") else (path.parent / "catalogue.yaml", path.name)
    with process_services().sessions() as session:
        results = deploy_catalogue(session, set(process_services().sources), "cli", catalogue, only=only)
        session.commit()
        if not results:
            raise click.ClickException(f"{path} is not named in {catalogue}")
        for definition, state in results:
            click.echo(f"{definition.matter_code} v{definition.version} {state} ({definition.checksum[:12]}, "
                       f"by {definition.deployed_by})")
            for warning in _lint_warnings(definition):  # reads the rule set: inside the session
                click.echo(f"  warning: rule {warning.element}: {warning.reason}", err=True)


def _lint_warnings(definition) -> list:
    """What lint accepts but an analyst should look at (the API returns the same list)."""
    from engine.definitions.versions import DefinitionUpload, upload_warnings

    return upload_warnings(DefinitionUpload(matter_code=definition.matter_code, bpmn=definition.bpmn,
                                            ruleset=definition.ruleset, form=definition.form,
                                            ruleset_name=f"{definition.matter_code}.yaml"))


@main.command()
def demo() -> None:
    """Load the demo users and registry records (password: demo-password)."""
    from engine.demo import seed
    from onewindow.wiring import process_services

    with process_services().sessions() as session:
        people = seed(session, date.today())
        session.commit()
    for key, id_number in people.items():
        click.echo(f"{key:18} {id_number}")


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Requests answered at once (waitress's worker threads).")
def serve(host: str, port: int, threads: int) -> None:
    """Run the API on waitress. With no configuration: SQLite, in-process work, shipped matters and demo data."""
    import waitress

    import web
    from api import create_app
    from onewindow.wiring import process_services

    try:
        web.check_installed()
    except web.FrontEndMissing as missing:
        raise click.ClickException(str(missing)) from missing
    _check_port_free(host, port)
    settings = load_settings()
    upgrade(settings.database_url)
    with process_services().sessions() as session:
        deploy_catalogue(session, set(process_services().sources), "system")
        if settings.demo_data:  # the embedded SQLite, or ONEWINDOW_DEMO=1
            from engine.demo import seed
            seed(session, date.today())
        session.commit()
        refuse_published_passwords(session, settings)  # before anything starts (create_app asks too)
    if settings.embedded:
        _start_embedded_sweeps()
    log.info("OneWindow on http://%s:%s/ (pages; the API's documentation at /api/docs) (%s)", host, port,
             _safe(settings.database_url))
    waitress.serve(create_app(process_services(), settings), host=host, port=port, threads=threads)


def _check_port_free(host: str, port: int) -> None:
    """One line, before anything is migrated or deployed, when another process holds the port."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}; "
                                       f"another process uses it (choose one with --port)") from exc


def _start_embedded_sweeps() -> threading.Thread:
    """What the workers' cron does in production, in a thread of this process: the same
    table of periodic jobs (engine/oversight/periodic.py), each run recorded by the same wrapper.
    Every job runs once at start (as RQ's cron does), then every interval."""
    from engine.oversight.periodic import periodic_jobs, run_recorded
    from onewindow.wiring import process_services

    jobs = periodic_jobs()

    def loop() -> None:
        due = {job.name: 0.0 for job in jobs}
        while True:
            for job in jobs:
                if time.monotonic() >= due[job.name]:
                    due[job.name] = time.monotonic() + job.interval
                    try:
                        run_recorded(job, process_services())
                    except Exception:  # noqa: BLE001 — recorded and logged; the next round retries
                        pass
            time.sleep(max(0.1, min(due.values()) - time.monotonic()))

    thread = threading.Thread(target=loop, name="onewindow-periodic", daemon=True)
    thread.start()
    return thread


@main.command()
@click.option("--burst", is_flag=True, help="Run queued jobs, then exit.")
@click.option("--check", is_flag=True,
              help="Print the periodic jobs, the live cron processes and each job's last run; exit 1 if stale.")
def worker(burst: bool, check: bool) -> None:
    """Run an RQ worker with the scheduler and the periodic jobs' cron (needs ONEWINDOW_REDIS_URL).
    Exits 1 if the cron process cannot start or stops."""
    settings = load_settings()
    if check:
        sys.exit(_check_periodic(settings))
    if settings.redis_url is None:
        raise click.ClickException("set ONEWINDOW_REDIS_URL: the embedded default runs work inside `serve`")
    from worker.main import CronStopped, run_worker

    try:
        run_worker(settings.redis_url, burst=burst)
    except CronStopped as exc:
        raise click.ClickException(str(exc)) from None


def _check_periodic(settings) -> int:
    """``worker --check``: what is registered, who runs it, each job's last run; 0 if healthy.
    Embedded (no Redis), ``serve`` runs the jobs and only the table is read."""
    from engine.oversight.periodic import health, periodic_jobs
    from onewindow.wiring import process_services
    from worker.queues import QUEUE_NAME

    jobs, since, crons_ok = periodic_jobs(), None, True
    queue = QUEUE_NAME if settings.redis_url else "in-process (onewindow serve)"
    for job in jobs:
        click.echo(f"job {job.name:20} every {job.interval}s  timeout {job.timeout}s  queue {queue}  ({job.what})")
    if settings.redis_url:
        from redis import Redis

        from worker.main import live_crons

        crons = live_crons(Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=2), jobs)
        for name, created_at, registered in crons:
            click.echo(f"cron {name} up since {created_at:%Y-%m-%d %H:%M:%S}Z: {', '.join(registered)}")
        if not crons:
            click.echo("cron: none running on this Redis — no periodic job will run")
        crons_ok = bool(crons)
        since = min((created_at for _, created_at, _ in crons), default=None)
    report = health(process_services().sessions, jobs, since)
    for job in report.jobs:
        if job.runs:
            last = (f"last run {job.last_run_at:%Y-%m-%d %H:%M:%S}Z, {job.duration_ms} ms, {job.outcome}"
                    f"{': ' + job.detail if job.outcome == 'failed' else ''}, {job.runs} run(s)")
        else:
            last = f"first run started {job.last_run_at:%Y-%m-%d %H:%M:%S}Z" if job.last_run_at else "never run"
        click.echo(f"run {job.job.name:20} {last}  {'STALE: ' + job.reason if job.stale else 'ok'}")
    return 0 if report.healthy and crons_ok else 1


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
    from engine.definitions.replay import count_recorded, replay
    from onewindow.wiring import process_services

    kind = "dmn" if file.suffix.lower() in (".dmn", ".xml") else "ruleset"
    try:
        with click.progressbar(length=count_recorded(process_services().sessions, matter), label="replaying",
                               file=sys.stderr) as bar:
            report = replay(process_services().sessions, matter, kind, file.read_text(encoding="utf-8"),
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


@main.group()
def report() -> None:
    """Reports for supervisors and analysts."""


@report.command("four-reductions")
@click.option("--matter", help="one matter or bundle (default: every one)")
@click.option("--csv", "as_csv", is_flag=True, help="CSV on standard output (UTF-8 with BOM)")
def report_four_reductions(matter: str | None, as_csv: bool) -> None:
    """四减: per matter and bundle, the pre-reform baseline beside today's limits and the
    measured time, steps, materials and trips."""
    from engine.errors import OneWindowError
    from engine.oversight.four_reductions import as_csv as csv_of, count_matters, four_reductions
    from onewindow.wiring import process_services

    services = process_services()
    try:
        with services.sessions() as session, click.progressbar(
                length=1 if matter else count_matters(session), label="four reductions", file=sys.stderr) as bar:
            figures = four_reductions(session, services.calendar, matter, on_each=lambda: bar.update(1))
    except OneWindowError as exc:
        raise click.ClickException(exc.detail) from exc
    if as_csv:
        click.echo(csv_of([f.as_row() for f in figures]), nl=False)
        return
    for f in figures:
        click.echo(f"{f.name} ({f.matter}, {f.kind}, {f.finished} finished): "
                   f"time {_was(f.baseline_days)} -> promised {f.promised_days} / legal {f.legal_days} working days, "
                   f"measured avg {f.average_days} p90 {f.p90_days}; steps {_was(f.baseline_steps)} -> {f.steps} "
                   f"(avg {f.average_steps}); materials {_was(f.baseline_materials)} -> {f.materials} "
                   f"(handed in avg {f.average_materials}); trips {_was(f.baseline_trips)} -> {f.trips} "
                   f"(avg {f.average_trips})")


def _was(value: int | None) -> str:
    return "?" if value is None else str(value)


@main.group()
def catalogue() -> None:
    """The matter catalogue (事项库)."""


@catalogue.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--template", default="window", show_default=True,
              type=click.Choice(["instant", "data_comparison", "commitment", "window"]),
              help="the template each row's matter is made from (a row's 模板 column may name its own)")
@click.option("--format", "file_format", type=click.Choice(["json", "csv"]),
              help="default: from the file's ending (.json, .csv)")
def catalogue_import(file: Path, template: str, file_format: str | None) -> None:
    """Import FILE, a matter catalogue export (JSON or CSV with the national catalogue's
    columns, engine/authoring/catalogue_import.py): each row becomes a matter made from a
    template, or updates the one an earlier import made. Prints one line per row and a
    summary; exits 0 when every row went in, 1 when any was refused."""
    from engine.authoring.catalogue_import import ImportFormat, format_of, import_catalogue, read_records
    from engine.authoring.templates import Template
    from engine.errors import InvalidInput
    from onewindow.wiring import process_services

    fmt = ImportFormat(file_format) if file_format else format_of(file.name)
    if fmt is None:
        raise click.UsageError(f"{file.name}: name the format with --format json or --format csv")
    try:
        records = read_records(file.read_bytes(), fmt)
    except InvalidInput as exc:
        problems = "; ".join(message for messages in exc.errors.values() for message in messages)
        raise click.ClickException(f"{file}: {exc.detail}: {problems}") from exc
    services = process_services()
    with click.progressbar(length=len(records.rows), label="importing", file=sys.stderr) as bar:
        report = import_catalogue(services.sessions, records, Template(template), "cli", set(services.sources),
                                  on_each=lambda: bar.update(1))
    for row in report.rows:
        version = f" v{row.version}" if row.version else ""
        click.echo(f"row {row.row} {row.status}: {row.code or '-'}{version} {row.name or ''}".rstrip())
        for line in row.reasons + [f"normalised {n['from']} -> {n['to']}" for n in row.normalised] + row.notes:
            click.echo(f"  {line}")
    if report.ignored_columns:
        click.echo(f"ignored columns: {', '.join(report.ignored_columns)}")
    click.echo(report.summary())
    sys.exit(0 if report.complete else 1)


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
