"""Count the SQL statements one straight-through approval sends (the profile's round trips).

Each statement on PostgreSQL is a network round trip and a wait; counting them per kind
shows which engine steps a fix should merge or drop. Runs Engine.submit in process:

    python bench/statements.py --backend postgres -n 50
"""
from __future__ import annotations

import argparse
import json
import re
from collections import Counter

from sqlalchemy import event

import common
from engine.store.models import User
from onewindow.wiring import build_services

SCHEMA = "bench_statements"


def _kind(statement: str) -> str:
    """'SELECT app_user', 'INSERT event', 'BEGIN'… from the statement text."""
    text = " ".join(statement.split())
    verb = text.split(" ", 1)[0].upper()
    target = re.search(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", text, re.IGNORECASE)
    return f"{verb} {target.group(1)}" if target else verb


def _listeners(seen: Counter, database, main: bool) -> dict:
    """What reaches the database server, by kind: every statement through a cursor; the
    main database's transaction commands (psycopg sends BEGIN itself; SQLite's BEGIN
    IMMEDIATE is a statement); a ping per pool checkout where ``pool_pre_ping`` is on.
    The sources' databases run in autocommit, so their begin/rollback are no-ops."""

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen[_kind(statement)] += 1

    def counter(kind: str):
        def listener(*_args) -> None:
            seen[kind] += 1
        return listener

    listeners = {"before_cursor_execute": record}
    if database.pool._pre_ping:
        listeners["checkout"] = counter("SELECT 1 (pool_pre_ping)")
    if main:
        listeners.update(commit=counter("COMMIT"), rollback=counter("ROLLBACK (session closed without commit)"))
        if database.dialect.name == "postgresql":
            listeners["begin"] = counter("BEGIN")
    return listeners


def count(backend: str, n: int) -> dict:
    settings = common.settings_for(backend, SCHEMA)
    common.prepare_database(settings.database_url)
    ids = common.resident_ids(n + 5)
    engine = build_services(settings)
    with engine.sessions() as session:
        common.register_residents(session, ids)
        applicant = session.query(User).filter_by(username=common.SUBMITTER).one()  # authorised by them all
        session.commit()
    for id_number in ids[:5]:  # warm: definition caches, pool
        engine.applications.submit(applicant, common.MATTER, common.subsidy_form(id_number))
    seen: Counter = Counter()
    main = engine.sessions.kw["bind"]
    sources = {s._sessions.kw["bind"] for s in engine.sources.values()} - {main}
    attached = [(database, name, listener) for database in (main, *sources)
                for name, listener in _listeners(seen, database, database is main).items()]
    for database, name, listener in attached:
        event.listen(database, name, listener)
    for id_number in ids[5:]:
        engine.applications.submit(applicant, common.MATTER, common.subsidy_form(id_number))
    for database, name, listener in attached:
        event.remove(database, name, listener)
    if backend == "postgres":
        common.drop_schema(SCHEMA)
    per = {kind: round(total / n, 2) for kind, total in seen.most_common()}
    return {"backend": backend, "applications": n, "statements_per_application": round(sum(seen.values()) / n, 2),
            "by_kind": per}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("-n", type=int, default=50)
    args = parser.parse_args()
    result = count(args.backend, args.n)
    common.save(f"statements_{args.backend}", result)
    print(json.dumps(result, indent=1))
