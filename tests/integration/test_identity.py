"""实名认证 and company roles: registration verified against the population registry
(nothing stored when refused), one account per person, and the company roles the
market-entity registry's legal representative claims and hands out to handlers."""
from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from sqlalchemy import create_engine, func, select

from onewindow.wiring import web_app
from engine.config import Settings, load_settings
from engine.demo import demo_people
from engine.people.identity import Identity, companies_of, identity_of
from engine.store.models import CompanyRole, CompanyRoleKind, Event, User
from engine.store.registries import CompanyRecord, DeathRecord, RegistryPerson
from forms.identifiers import make_credit_code, make_resident_id
from tests.integration.helpers import ApiClient
from tests.integration.test_accounts import run

PASSWORD = "correct horse battery"
_unique = itertools.count(1)


@pytest.fixture
def person(services):
    """A fresh adult of the population registry (``dead``: with a death record): id, name."""
    def make(dead: bool = False) -> tuple[str, str]:
        n = next(_unique)
        id_number = make_resident_id("460108", date(1980, 1, 1) + timedelta(days=n), f"{n % 999:03d}")
        name = f"实名{n}"
        with services.sessions() as session:
            session.add(RegistryPerson(id_number=id_number, name=name, household_region="460100",
                                       household_local=True))
            if dead:
                session.add(DeathRecord(id_number=id_number, died_on=date(2025, 3, 1)))
            session.commit()
        return id_number, name
    return make


@pytest.fixture
def registered(api, person):
    """A verified applicant: their username, resident ID and name."""
    def make() -> tuple[str, str, str]:
        id_number, name = person()
        username = f"verified_{next(_unique)}"
        reply = api.http.post("/api/auth/register", json={
            "username": username, "password": PASSWORD, "full_name": name, "resident_id": id_number})
        assert reply.status_code == 201, reply.get_json()
        api.sign_in(username, PASSWORD)
        return username, id_number, name
    return make


@pytest.fixture
def company_of(services):
    """A fresh company of the market-entity registry whose legal representative is ``id_number``."""
    def make(id_number: str, name: str) -> str:
        credit_code = make_credit_code(f"91460100MA6X{next(_unique):05d}")
        with services.sessions() as session:
            session.add(CompanyRecord(credit_code=credit_code, name=f"测试公司{credit_code[-4:]}",
                                      legal_rep_id_number=id_number, legal_rep_name=name, region="460100"))
            session.commit()
        return credit_code
    return make


def register(api, username: str, full_name: str, resident_id: str, password: str = PASSWORD):
    return api.http.post("/api/auth/register", json={"username": username, "password": password,
                                                     "full_name": full_name, "resident_id": resident_id})


def accounts_named(services, username: str) -> int:
    with services.sessions() as session:
        return session.scalar(select(func.count()).select_from(User).where(User.username == username))


def user(session, username: str) -> User:
    return session.scalars(select(User).where(User.username == username)).one()


def test_a_person_of_the_registry_registers_a_verified_applicant_account(api, services, person):
    id_number, name = person()
    username = f"reg_ok_{next(_unique)}"
    reply = register(api, username, name, f" {id_number.lower()} ")  # as typed: spaces, a small x
    assert reply.status_code == 201, reply.get_json()
    assert reply.get_json() | {"verified_at": None} == {
        "username": username, "verified": True, "resident_id": id_number, "full_name": name,
        "verified_at": None, "companies": []}
    with services.sessions() as session:
        account = user(session, username)
        assert (account.role, account.display_name) == ("applicant", name)
        assert identity_of(session, account) == Identity(resident_id=id_number, full_name=name)
        assert session.scalars(select(Event.kind).where(Event.actor == username)).all() == ["identity.registered"]
    api.sign_in(username, PASSWORD)
    mine = api.get("/api/me/identity", username).get_json()
    assert (mine["resident_id"], mine["full_name"], mine["verified"]) == (id_number, name, True)


@pytest.mark.parametrize(("case", "field"), [
    ("wrong_name", "full_name"), ("dead", "resident_id"), ("not_in_registry", "resident_id"),
    ("bad_check_character", "resident_id")])
def test_a_registration_the_registry_does_not_bear_out_is_refused_and_nothing_is_stored(
        api, services, person, case, field):
    id_number, name = person(dead=case == "dead")
    given = {"wrong_name": (id_number, name + "某"), "dead": (id_number, name),
             "not_in_registry": (make_resident_id("460108", date(1979, 5, 5), "998"), name),
             "bad_check_character": (id_number[:17] + ("0" if id_number[17] != "0" else "1"), name)}[case]
    username = f"reg_{case}_{next(_unique)}"
    reply = register(api, username, given[1], given[0])
    assert reply.status_code == 422, reply.get_json()
    problem = reply.get_json()
    assert reply.headers["Content-Type"].startswith("application/problem+json")
    assert list(problem["errors"]) == [field] and "实名认证未通过" in problem["detail"]
    assert accounts_named(services, username) == 0
    with services.sessions() as session:
        assert session.scalars(select(Event).where(Event.actor == username)).all() == []


def test_one_account_per_person_and_per_username(api, services, registered, person):
    username, id_number, name = registered()
    again = register(api, f"second_{next(_unique)}", name, id_number)
    assert again.status_code == 409 and again.get_json()["errors"] == {"resident_id": ["已注册"]}
    other_id, other_name = person()
    taken = register(api, username, other_name, other_id)
    assert taken.status_code == 409 and taken.get_json()["errors"] == {"username": ["已被使用"]}
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(User).where(User.resident_id == other_id)) == 0


def test_an_account_opened_without_identity_verifies_it_once(api, services, person, registered, new_user):
    applicant = new_user(verified=False)
    id_number, name = person()
    wrong = api.post("/api/me/identity", applicant, json={"full_name": name + "某", "resident_id": id_number})
    assert wrong.status_code == 422 and list(wrong.get_json()["errors"]) == ["full_name"]
    _, taken_id, taken_name = registered()
    taken = api.post("/api/me/identity", applicant, json={"full_name": taken_name, "resident_id": taken_id})
    assert taken.status_code == 409 and taken.get_json()["errors"] == {"resident_id": ["已注册"]}
    with services.sessions() as session:
        assert identity_of(session, user(session, applicant)) is None
    verified = api.post("/api/me/identity", applicant, json={"full_name": name, "resident_id": id_number})
    assert verified.status_code == 200 and verified.get_json()["resident_id"] == id_number, verified.get_json()
    other_id, other_name = person()
    again = api.post("/api/me/identity", applicant, json={"full_name": other_name, "resident_id": other_id})
    assert again.status_code == 409  # an identity once verified stays
    with services.sessions() as session:
        assert identity_of(session, user(session, applicant)) == Identity(resident_id=id_number, full_name=name)
        kinds = session.scalars(select(Event.kind).where(Event.actor == applicant).order_by(Event.id)).all()
    assert kinds[-1] == "identity.verified"


def test_the_password_policy_applies_to_registration(api, services, person):
    id_number, name = person()
    for password in ("short", "demo-password"):
        username = f"weak_{next(_unique)}"
        reply = register(api, username, name, id_number, password=password)
        assert reply.status_code == 422 and "password" in reply.get_json()["errors"], reply.get_json()
        assert accounts_named(services, username) == 0


def test_registration_is_rate_limited_like_login(api, person):
    allowed = int(load_settings().login_limit.split()[0])
    id_number, name = person()
    username = f"limited_{next(_unique)}"
    statuses = [register(api, username, name + "错", id_number).status_code for _ in range(allowed + 1)]
    assert statuses == [422] * allowed + [429]


def test_a_staff_account_has_no_identity_and_no_companies(api, services, new_user):
    clerk = new_user("clerk", "civil_affairs")
    mine = api.get("/api/me/identity", clerk).get_json()
    assert (mine["verified"], mine["resident_id"], mine["companies"]) == (False, None, [])
    with services.sessions() as session:
        account = user(session, clerk)
        assert identity_of(session, account) is None and companies_of(session, account) == {}


def test_the_registrys_legal_representative_claims_the_role_and_nobody_else_may(
        api, services, registered, company_of, new_user):
    representative, id_number, name = registered()
    credit_code = company_of(id_number, name)
    stranger, _, _ = registered()
    refused = api.post(f"/api/companies/{credit_code}/roles/legal-representative", stranger)
    assert refused.status_code == 403 and "法定代表人" in refused.get_json()["detail"]
    clerk = new_user("clerk", "civil_affairs")
    assert api.post(f"/api/companies/{credit_code}/roles/legal-representative", clerk).status_code == 403
    claimed = api.post(f"/api/companies/{credit_code}/roles/legal-representative", representative)
    assert claimed.status_code == 201, claimed.get_json()
    assert (claimed.get_json()["role"], claimed.get_json()["username"]) == ("legal_representative", representative)
    again = api.post(f"/api/companies/{credit_code}/roles/legal-representative", representative)
    assert again.status_code == 409
    with services.sessions() as session:
        assert companies_of(session, user(session, representative)) == {
            credit_code: CompanyRoleKind.LEGAL_REPRESENTATIVE}
        assert companies_of(session, user(session, stranger)) == {}
    mine = api.get("/api/me/identity", representative).get_json()["companies"]
    assert [(c["credit_code"], c["role"]) for c in mine] == [(credit_code, "legal_representative")]


def test_an_unknown_company_is_404(api, registered):
    username, _, _ = registered()
    unknown = make_credit_code("91460100MA7Y00001")
    for path in (f"/api/companies/{unknown}/roles/legal-representative", "/api/companies/nonsense/handlers"):
        reply = api.post(path, username, json={"username": username})
        assert reply.status_code == 404, (path, reply.get_json())


@pytest.fixture
def represented(api, registered, company_of) -> tuple[str, str]:
    """A company and its legal representative, who has claimed the role."""
    representative, id_number, name = registered()
    credit_code = company_of(id_number, name)
    assert api.post(f"/api/companies/{credit_code}/roles/legal-representative", representative).status_code == 201
    return credit_code, representative


def test_the_legal_representative_authorises_and_revokes_a_handler(api, services, registered, represented):
    credit_code, representative = represented
    handler, _, _ = registered()
    granted = api.post(f"/api/companies/{credit_code}/handlers", representative, json={"username": handler})
    assert granted.status_code == 201, granted.get_json()
    assert granted.get_json()["granted_by"] == representative and granted.get_json()["role"] == "handler"
    duplicate = api.post(f"/api/companies/{credit_code}/handlers", representative, json={"username": handler})
    assert duplicate.status_code == 409
    with services.sessions() as session:
        assert companies_of(session, user(session, handler)) == {credit_code: CompanyRoleKind.HANDLER}
    revoke = api.http.delete(f"/api/companies/{credit_code}/handlers/{handler}", headers=api.headers(representative))
    assert revoke.status_code == 204
    with services.sessions() as session:
        assert companies_of(session, user(session, handler)) == {}
        kinds = session.scalars(select(Event.kind).where(Event.actor == representative)
                                .order_by(Event.id)).all()
    assert kinds[-2:] == ["company_role.handler_granted", "company_role.handler_revoked"]
    assert api.http.delete(f"/api/companies/{credit_code}/handlers/{handler}",
                           headers=api.headers(representative)).status_code == 404
    regranted = api.post(f"/api/companies/{credit_code}/handlers", representative, json={"username": handler})
    assert regranted.status_code == 201  # a revoked role is history, not a block


def test_only_the_legal_representative_hands_out_roles_and_only_to_verified_people(
        api, registered, represented, new_user):
    credit_code, representative = represented
    handler, _, _ = registered()
    assert api.post(f"/api/companies/{credit_code}/handlers", representative,
                    json={"username": handler}).status_code == 201
    someone, _, _ = registered()
    for caller in (handler, someone):  # a handler may not authorise others, a stranger nothing
        reply = api.post(f"/api/companies/{credit_code}/handlers", caller, json={"username": someone})
        assert reply.status_code == 403 and "法定代表人" in reply.get_json()["detail"], reply.get_json()
        reply = api.http.delete(f"/api/companies/{credit_code}/handlers/{handler}", headers=api.headers(caller))
        assert reply.status_code == 403
    unverified = new_user(verified=False)
    reply = api.post(f"/api/companies/{credit_code}/handlers", representative, json={"username": unverified})
    assert reply.status_code == 422 and list(reply.get_json()["errors"]) == ["username"]
    missing = api.post(f"/api/companies/{credit_code}/handlers", representative, json={"username": "nobody_here"})
    assert missing.status_code == 404


def test_an_operator_verifies_a_staff_account_with_onewindow_users(tmp_path):
    """The real command on a fresh database with the demo data (loaded twice: it stays one
    set): a clerk verified as the demo resident "tenant"; a wrong name changes nothing."""
    url = f"sqlite:///{tmp_path / 'identity.db'}"
    env = {"ONEWINDOW_DATABASE_URL": url, "ONEWINDOW_REDIS_URL": "", "ONEWINDOW_DEMO": "1"}
    for args in (("db", "upgrade"), ("demo",), ("demo",)):
        code, output = run(tmp_path, env, *args)
        assert code == 0, output
    tenant = demo_people(date.today())["tenant"]
    code, output = run(tmp_path, env, "users", "verify", "clerk_civil", "--full-name", "张三", "--resident-id", tenant)
    assert code == 1 and "姓名与身份证号码不一致" in output and "Traceback" not in output, output
    code, output = run(tmp_path, env, "users", "verify", "clerk_civil", "--full-name", "tenant", "--resident-id", tenant)
    assert code == 0, output
    code, output = run(tmp_path, env, "users", "verify", "clerk_civil", "--full-name", "tenant", "--resident-id", tenant)
    assert code == 1 and "已经实名认证" in output, output
    client = ApiClient(web_app(settings=Settings(database_url=url, redis_url=None)))
    mine = client.get("/api/me/identity", "clerk_civil").get_json()
    assert (mine["verified"], mine["resident_id"], mine["full_name"]) == (True, tenant, "tenant")
    alice = client.get("/api/me/identity", "alice").get_json()
    assert (alice["full_name"], [c["role"] for c in alice["companies"]]) == ("王爱丽", ["legal_representative"])
    bob = client.get("/api/me/identity", "bob").get_json()
    assert [(c["company_name"], c["role"], c["granted_by"]) for c in bob["companies"]] == [
        ("海口椰风书店有限公司", "handler", "alice")]
    database = create_engine(url)
    with database.connect() as connection:
        roles = connection.scalar(select(func.count()).select_from(CompanyRole))
        kinds = connection.scalars(select(Event.kind).where(Event.actor == "cli")).all()
    database.dispose()
    assert (roles, kinds) == (2, ["identity.verified"])
