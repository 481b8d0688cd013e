"""Accounts: created from the shell (`onewindow users`) and by admins (/api/users), signed
out, disabled; a change to what a person may do ends their tokens at the very next
request in every API process; a failed login costs the same whoever it names; and the
server refuses to start while an account still has the published demo password, unless
demo data is allowed (ONEWINDOW_DEMO).

Two ``create_app()`` on one database, each with its own services and connection pool, stand
for two gunicorn processes.
"""
from __future__ import annotations

import itertools
import os
import time
from dataclasses import replace
from statistics import median

import pytest
from sqlalchemy import create_engine, make_url, select, text

from api import create_app
from onewindow.wiring import web_app
from engine.people.accounts import LISTED_DEMO_ACCOUNTS, MIN_PASSWORD_LENGTH
from engine.config import Settings, SettingsError
from engine.demo import DEMO_USERS
from engine.store.models import Event
from engine.people.users import DEMO_PASSWORD
from tests.integration.helpers import ApiClient
from tests.integration.services import free_port
from tests.integration.test_worker_process import _http, answering, start, wait_for

BACKEND = os.environ.get("ONEWINDOW_TEST_BACKEND", "sqlite")
PASSWORD = "a long enough secret"
NEW_PASSWORD = "another long secret"
_unique = itertools.count(1)


@pytest.fixture(scope="module")
def admin(services, people) -> str:
    """An admin (made with the demo password: the suite runs with ONEWINDOW_DEMO=1)."""
    from engine.people import users

    name = f"accounts_admin_{os.getpid()}"
    with services.sessions() as session:
        users.create_user(session, name, DEMO_PASSWORD, "admin")
        session.commit()
    return name


@pytest.fixture(scope="module")
def two_processes(settings, services, people) -> tuple[ApiClient, ApiClient]:
    """The API twice on one database, as two gunicorn processes: separate engines, pools."""
    return ApiClient(create_app(services)), ApiClient(web_app(settings=settings))


def sign_in(client: ApiClient, username: str, password: str = PASSWORD):
    return client.http.post("/api/auth/login", json={"username": username, "password": password})


def token_of(client: ApiClient, username: str, password: str = PASSWORD) -> dict:
    reply = sign_in(client, username, password)
    assert reply.status_code == 200, reply.get_json()
    return {"Authorization": f"Bearer {reply.get_json()['token']}"}


def open_account(client: ApiClient, admin: str, role: str = "clerk", department: str | None = "civil_affairs",
                 **extra) -> str:
    name = f"acct_{role}_{next(_unique)}_{os.getpid()}"
    reply = client.post("/api/users", admin, json={"username": name, "password": PASSWORD, "role": role,
                                                   "department": department, **extra})
    assert reply.status_code == 201, reply.get_json()
    return name


def me(client: ApiClient, headers: dict) -> int:
    return client.http.get("/api/auth/me", headers=headers).status_code


# --- the admin API ----------------------------------------------------------------------

def test_an_admin_opens_an_account_that_signs_in(api, admin):
    name = open_account(api, admin, display_name="民政局窗口二")
    reply = sign_in(api, name)
    assert reply.status_code == 200
    assert {k: reply.get_json()["user"][k] for k in ("username", "role", "department", "display_name")} == {
        "username": name, "role": "clerk", "department": "civil_affairs", "display_name": "民政局窗口二"}
    listed = api.get(f"/api/users?role=clerk&department=civil_affairs&after={name[:-1]}", admin).get_json()
    assert any(account["username"] == name and account["disabled"] is False for account in listed)


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"role": "clerk", "department": "tax_bureau"}, 422, "department"),    # not a department of the catalogue
    ({"role": "clerk", "department": None}, 422, "department"),            # a clerk needs one
    ({"role": "analyst", "department": "housing"}, 422, "department"),     # only clerks have one
    ({"role": "mayor"}, 422, "role"),
    ({"role": "applicant", "password": "short"}, 422, "password"),
    ({"role": "applicant", "password": DEMO_PASSWORD}, 422, "password"),   # published
    ({"role": "applicant", "username": "bad name"}, 422, "username"),
])
def test_an_account_the_rules_refuse_is_not_opened(api, admin, body, status, field):
    name = f"refused_{next(_unique)}"
    reply = api.post("/api/users", admin, json={"username": name, "password": PASSWORD, **body})
    assert reply.status_code == status, reply.get_json()
    assert field in reply.get_json()["errors"], reply.get_json()
    assert sign_in(api, body.get("username", name), body.get("password", PASSWORD)).status_code == 401


def test_a_taken_username_is_409_and_an_unknown_one_404(api, admin):
    name = open_account(api, admin, role="applicant", department=None)
    again = api.post("/api/users", admin, json={"username": name, "password": NEW_PASSWORD, "role": "admin"})
    assert again.status_code == 409 and name in again.get_json()["detail"]
    assert sign_in(api, name, NEW_PASSWORD).status_code == 401  # the first account is untouched
    assert api.http.patch("/api/users/nobody_at_all", json={"disabled": True},
                          headers=api.headers(admin)).status_code == 404
    assert api.post("/api/users/nobody_at_all/password", admin, json={"password": NEW_PASSWORD}).status_code == 404


def test_only_an_admin_administers_accounts(api, admin, new_user):
    clerk = new_user("clerk", "civil_affairs")
    assert api.get("/api/users", clerk).status_code == 403
    assert api.post("/api/users", clerk, json={"username": "sneaky", "password": PASSWORD,
                                               "role": "admin"}).status_code == 403
    assert api.post(f"/api/users/{clerk}/password", clerk, json={"password": NEW_PASSWORD}).status_code == 403


# --- signing out and revocation -----------------------------------------------------------

def test_logout_ends_that_token_only(api, admin):
    name = open_account(api, admin)
    first, second = token_of(api, name), token_of(api, name)
    assert api.http.post("/api/auth/logout", headers=first).status_code == 204
    assert me(api, first) == 401
    assert me(api, second) == 200  # signed in elsewhere: still signed in there


def _logout(b: ApiClient, admin: str, name: str, headers: dict) -> None:
    assert b.http.post("/api/auth/logout", headers=headers).status_code == 204


def _own_password(b: ApiClient, admin: str, name: str, headers: dict) -> None:
    reply = b.http.post("/api/auth/password", headers=headers,
                        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert reply.status_code == 204, reply.get_json()


def _reset(b: ApiClient, admin: str, name: str, headers: dict) -> None:
    assert b.post(f"/api/users/{name}/password", admin, json={"password": NEW_PASSWORD}).status_code == 204


def _patch(**change):
    def trigger(b: ApiClient, admin: str, name: str, headers: dict) -> None:
        reply = b.http.patch(f"/api/users/{name}", json=change, headers=b.headers(admin))
        assert reply.status_code == 200, reply.get_json()
    return trigger


TRIGGERS = {"logout": _logout, "own password change": _own_password, "password reset": _reset,
            "role change": _patch(role="applicant"), "department change": _patch(department="housing"),
            "disabling": _patch(disabled=True)}


@pytest.mark.parametrize("trigger", list(TRIGGERS))
def test_a_token_ends_at_the_next_request_in_every_process(two_processes, admin, trigger):
    """Signed in through process A (and just used there and in B), changed through B: the
    very next request with the token fails in A too. (Before: a 30 s token cache in each
    process kept a demoted clerk's clerk access up to 30 s.)"""
    a, b = two_processes
    name = open_account(a, admin)
    headers = token_of(a, name)
    assert a.http.get("/api/tasks", headers=headers).status_code == 200  # a clerk's queue
    assert me(b, headers) == 200
    TRIGGERS[trigger](b, admin, name, headers)
    assert me(a, headers) == 401
    assert a.http.get("/api/tasks", headers=headers).status_code == 401
    assert me(b, headers) == 401


def test_a_harmless_change_keeps_the_token(api, admin):
    name = open_account(api, admin)
    headers = token_of(api, name)
    assert api.http.patch(f"/api/users/{name}", json={"display_name": "新名字"},
                          headers=api.headers(admin)).status_code == 200
    assert me(api, headers) == 200


def test_a_wrong_current_password_changes_nothing(api, admin):
    name = open_account(api, admin)
    headers = token_of(api, name)
    reply = api.http.post("/api/auth/password", headers=headers,
                          json={"current_password": "not my password", "new_password": NEW_PASSWORD})
    assert reply.status_code == 422 and "current_password" in reply.get_json()["errors"]
    assert me(api, headers) == 200 and sign_in(api, name).status_code == 200


def test_a_disabled_account_cannot_sign_in_until_enabled(api, admin):
    name = open_account(api, admin)
    assert api.http.patch(f"/api/users/{name}", json={"disabled": True},
                          headers=api.headers(admin)).status_code == 200
    refused, wrong = sign_in(api, name), sign_in(api, name, "a wrong password")
    assert refused.status_code == wrong.status_code == 401
    assert refused.get_json()["detail"] == wrong.get_json()["detail"]  # nothing tells it is disabled
    assert api.http.patch(f"/api/users/{name}", json={"disabled": False},
                          headers=api.headers(admin)).status_code == 200
    assert sign_in(api, name).status_code == 200


def test_every_account_change_is_audited(api, services, admin):
    name = open_account(api, admin)
    headers = token_of(api, name)
    api.http.patch(f"/api/users/{name}", json={"department": "housing"}, headers=api.headers(admin))
    api.post(f"/api/users/{name}/password", admin, json={"password": NEW_PASSWORD})
    headers = token_of(api, name, NEW_PASSWORD)
    api.http.post("/api/auth/password", headers=headers, json={"current_password": NEW_PASSWORD,
                                                               "new_password": PASSWORD})
    api.http.post("/api/auth/logout", headers=token_of(api, name))
    with services.sessions() as session:
        audited = [(e.kind, e.actor, e.data.get("changes")) for e in session.scalars(
            select(Event).where(Event.data["username"].as_string() == name).order_by(Event.id))]
    assert audited == [("account.created", admin, None),
                       ("account.changed", admin, {"department": ["civil_affairs", "housing"]}),
                       ("account.password_reset", admin, None),
                       ("account.password_changed", name, None),
                       ("logout", name, None)]


# --- equal cost of a failed login ---------------------------------------------------------

def test_a_failed_login_takes_as_long_for_an_unknown_or_disabled_account(settings, services, admin):
    """Before: ~107 ms for a real user, ~7 ms for an unknown one (user enumeration). Through
    the API, 50 tries each, interleaved; medians within 20% of a known user's wrong password."""
    client = ApiClient(create_app(services, settings=replace(settings, login_limit="100000 per minute")))
    known, disabled = open_account(client, admin), open_account(client, admin)
    client.http.patch(f"/api/users/{disabled}", json={"disabled": True}, headers=client.headers(admin))

    def seconds(username: str, password: str) -> float:
        started = time.perf_counter()
        assert sign_in(client, username, password).status_code == 401
        return time.perf_counter() - started

    tries = {"known, wrong password": lambda n: seconds(known, "a wrong password"),
             "unknown": lambda n: seconds(f"nobody_{n}_{os.getpid()}", "a wrong password"),
             "disabled, right password": lambda n: seconds(disabled, PASSWORD)}
    for attempt in tries.values():  # warm up: the unknown users' hash is made once per process
        attempt(-1)
    timings = {name: [] for name in tries}
    for n in range(50):
        for name, attempt in tries.items():
            timings[name].append(attempt(n))
    medians = {name: median(values) for name, values in timings.items()}
    reference = medians["known, wrong password"]
    assert all(abs(value - reference) <= 0.2 * reference for value in medians.values()), medians


# --- the shell: onewindow users -----------------------------------------------------------

def run(tmp_path, env: dict, *args: str, password: str | None = None) -> tuple[int, str]:
    """``onewindow ARGS`` as an operator runs it; the password, if any, on standard input."""
    import subprocess

    from tests.integration.test_worker_process import ONEWINDOW

    done = subprocess.run([ONEWINDOW, *args], env={**os.environ, **env}, capture_output=True, text=True,
                          input=None if password is None else password + "\n", timeout=120)
    return done.returncode, done.stdout + done.stderr


def test_an_operator_manages_accounts_with_onewindow_users(tmp_path):
    url = f"sqlite:///{tmp_path / 'accounts.db'}"
    env = {"ONEWINDOW_DATABASE_URL": url, "ONEWINDOW_REDIS_URL": ""}
    assert run(tmp_path, env, "db", "upgrade")[0] == 0
    code, output = run(tmp_path, env, "users", "create", "zhang.wei", "--role", "clerk", "--department",
                       "civil_affairs", "--display-name", "张伟", "--password-stdin", password=PASSWORD)
    assert code == 0 and PASSWORD not in output, output
    client = ApiClient(web_app(settings=Settings(database_url=url, redis_url=None)))
    headers = token_of(client, "zhang.wei")
    assert client.http.get("/api/tasks", headers=headers).status_code == 200

    refusals = {("users", "create", "zhang.wei", "--role", "analyst", "--password-stdin"): "is taken",
                ("users", "create", "li.na", "--role", "clerk", "--department", "tax_bureau", "--password-stdin"):
                    "department",
                ("users", "create", "li.na", "--role", "clerk", "--department", "civil_affairs", "--region",
                 "110100", "--password-stdin"): "unknown region '110100'",
                ("users", "disable", "zhang.wei", "nobody"): "no account 'nobody'"}
    for args, says in refusals.items():
        code, output = run(tmp_path, env, *args, password=PASSWORD)
        assert code == 1 and says in output and "Traceback" not in output, output
    code, output = run(tmp_path, env, "users", "reset-password", "zhang.wei", "--password-stdin", password="short")
    assert code == 1 and f"{MIN_PASSWORD_LENGTH} to" in output, output
    assert me(client, headers) == 200  # the refused commands changed nothing (disable: all or none)

    assert run(tmp_path, env, "users", "set-role", "zhang.wei", "analyst")[0] == 0
    assert me(client, headers) == 401
    headers = token_of(client, "zhang.wei")
    assert run(tmp_path, env, "users", "disable", "zhang.wei")[0] == 0
    assert me(client, headers) == 401 and sign_in(client, "zhang.wei").status_code == 401
    assert run(tmp_path, env, "users", "enable", "zhang.wei")[0] == 0
    code, output = run(tmp_path, env, "users", "reset-password", "zhang.wei", "--password-stdin",
                       password=NEW_PASSWORD)
    assert code == 0 and NEW_PASSWORD not in output, output
    assert sign_in(client, "zhang.wei").status_code == 401
    assert sign_in(client, "zhang.wei", NEW_PASSWORD).get_json()["user"]["role"] == "analyst"
    code, output = run(tmp_path, env, "users", "create", "wang.fang", "--role", "supervisor", "--region", "460200",
                       "--password-stdin", password=PASSWORD)
    assert code == 0 and sign_in(client, "wang.fang").get_json()["user"]["region"] == "460200", output


# --- no published password outside demo data ----------------------------------------------

def test_the_app_factory_refuses_a_database_with_demo_password_accounts(settings, services, people):
    """gunicorn runs ``create_app()``: without the demo setting it refuses (the suite's
    database has the demo users, and users made with their password)."""
    with pytest.raises(SettingsError, match=r"published demo password: .*onewindow users reset-password"):
        create_app(services, settings=replace(settings, demo=False))


@pytest.fixture
def fresh_database(settings, tmp_path):
    """An empty database of the suite's backend, and how to start `onewindow` without the
    demo setting on it (on SQLite, where demo data is the default, ONEWINDOW_DEMO=0)."""
    if BACKEND == "sqlite":
        yield {"ONEWINDOW_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}", "ONEWINDOW_DEMO": "0"}
        return
    url = make_url(settings.database_url)
    fresh = url.set(database=f"{url.database}_serve")
    server = create_engine(url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{fresh.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{fresh.database}"'))
    try:
        yield {"ONEWINDOW_DATABASE_URL": fresh.render_as_string(hide_password=False), "ONEWINDOW_DEMO": ""}
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{fresh.database}" WITH (FORCE)'))
        server.dispose()


def test_serve_refuses_demo_passwords_until_they_are_reset_or_disabled(tmp_path, fresh_database):
    env = {**fresh_database, "ONEWINDOW_REDIS_URL": ""}
    assert run(tmp_path, env, "db", "upgrade")[0] == 0
    assert run(tmp_path, env, "demo")[0] == 0  # the demo users, with the published password
    port = free_port()
    refused = start(tmp_path, "serve", ["serve", "--port", str(port)], env)
    try:
        code = refused.popen.wait(120)
    finally:
        refused.stop()
    errors = [line for line in refused.output().splitlines() if line.startswith("Error:")]
    assert code == 1 and len(errors) == 1 and "Traceback" not in refused.output(), refused.output()
    demo_names = [username for username, *_ in DEMO_USERS]
    named = errors[0].partition("published demo password: ")[2].partition(";")[0]
    more = f" and {len(demo_names) - LISTED_DEMO_ACCOUNTS} more"
    assert named.endswith(more) and len(set(named.removesuffix(more).split(", "))
                                        & set(demo_names)) == LISTED_DEMO_ACCOUNTS, errors
    assert "onewindow users reset-password" in errors[0] and "onewindow users disable" in errors[0]

    assert run(tmp_path, env, "users", "reset-password", "admin", "--password-stdin", password=PASSWORD)[0] == 0
    assert run(tmp_path, env, "users", "disable", *(name for name in demo_names if name != "admin"))[0] == 0
    server = start(tmp_path, "serve", ["serve", "--port", str(port)], env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(answering(base), 120, "serve to answer", server)
        status, body = _http(base, "POST", "/api/auth/login", body={"username": "admin", "password": PASSWORD})
        assert status == 200 and body["user"]["role"] == "admin", (body, server.output()[-3000:])
    finally:
        server.stop()
