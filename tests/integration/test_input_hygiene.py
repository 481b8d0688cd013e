"""Input hygiene through the API: POST /api/applications answers 422 naming the field, stores
nothing, and never answers 500 (issue 12). Every input is written out literally. What no
database can store (NUL, lone surrogates) is refused before any view: test_protection.py."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from engine.store.models import Application
from engine.store.registries import RegistryPerson

# Check characters computed with python-stdnum's cn.ric.calc_check_digit, not the product's table.
REGION_999999 = "999999198001010011"
CHONGWEN_1950 = "110103195003150024"  # 北京市崇文区: the code was abolished in 2010, its IDs stay valid
TENANT_ID = "460102196210010030"
PHONE = "13800138000"


def count_applications(services) -> int:
    with services.sessions() as session:
        return session.scalar(select(func.count()).select_from(Application))


@pytest.fixture
def registered(services) -> None:
    """The population registry knows the people the accepted submissions name, by the names
    they give (a submission is for a registered person, named as the registry names them)."""
    with services.sessions() as session:
        session.merge(RegistryPerson(id_number=CHONGWEN_1950, name="钱七", household_local=False,
                                     household_region="110101"))
        session.merge(RegistryPerson(id_number=TENANT_ID, name="林晓", household_local=True,
                                     household_region="460100"))
        session.commit()


def elderly(**data) -> dict:
    return {"matter": "elderly_subsidy",
            "data": {"applicant_name": "钱七", "id_number": CHONGWEN_1950, "phone": PHONE, **data}}


def rental(**data) -> dict:
    return {"matter": "rental_filing", "data": {
        "landlord_name": "钱七", "landlord_id_number": CHONGWEN_1950, "tenant_name": "林晓",
        "tenant_id_number": TENANT_ID, "property_cert_no": "琼（2023）海口市不动产权第0012345号",
        "address": "海口市龙华区滨海大道1号", "start_date": "2026-06-01", "end_date": "2027-05-31",
        "monthly_rent": 2500, "phone": PHONE, **data}}


def pension(**data) -> dict:
    return {"matter": "resident_pension", "data": {
        "applicant_name": "钱七", "id_number": CHONGWEN_1950, "phone": PHONE, "contribution_years": 15, **data}}


REFUSED = [
    pytest.param(elderly(applicant_name="钱\u202e七"), "applicant_name", "U+202E", id="bidi override in a name"),
    pytest.param(elderly(applicant_name="钱\u2066七"), "applicant_name", "U+2066", id="bidi isolate in a name"),
    pytest.param(elderly(applicant_name="钱\x07七"), "applicant_name", "U+0007", id="C0 control character"),
    pytest.param(elderly(applicant_name="钱\x9b七"), "applicant_name", "U+009B", id="C1 control character"),
    pytest.param(elderly(applicant_name={"first": "七", "last": "钱"}), "applicant_name", "必须是文本",
                 id="object where a string is expected"),
    pytest.param(elderly(phone=[PHONE]), "phone", "必须是文本", id="array where a string is expected"),
    pytest.param(rental(monthly_rent=10 ** 30), "monthly_rent", "10^15", id="10^30 in a number field"),
    pytest.param(rental(monthly_rent=1e30), "monthly_rent", "10^15", id="1e30 in a number field"),
    pytest.param(rental(monthly_rent=1000000.01), "monthly_rent", "不能大于1000000", id="amount above its range"),
    pytest.param(rental(monthly_rent=-1), "monthly_rent", "不能小于0", id="amount below its range"),
    pytest.param(rental(monthly_rent=2500.505), "monthly_rent", "最多保留2位小数", id="amount with a third decimal"),
    pytest.param(pension(contribution_years=81), "contribution_years", "不能大于80", id="years above their range"),
    pytest.param(elderly(id_number=REGION_999999), "id_number", "999999不是行政区划代码", id="region code 999999"),
    pytest.param(rental(tenant_id_number=REGION_999999), "tenant_id_number", "行政区划代码",
                 id="region code 999999, second ID field"),
]


@pytest.mark.parametrize("body, field, says", REFUSED)
def test_bad_input_is_refused_naming_the_field(api, services, new_user, body, field, says):
    before = count_applications(services)
    reply = api.post("/api/applications", new_user(), json=body)
    assert reply.status_code == 422, reply.get_json()
    assert reply.headers["Content-Type"] == "application/problem+json"
    errors = reply.get_json()["errors"]
    assert list(errors) == [field] and says in errors[field][0], errors
    assert count_applications(services) == before


def test_an_id_issued_under_an_abolished_region_code_is_accepted(api, registered, applicant_for):
    reply = api.post("/api/applications", applicant_for(CHONGWEN_1950), json=elderly())
    assert reply.status_code == 201, reply.get_json()


def test_an_amount_is_stored_exactly_as_given(api, services, registered, applicant_for):
    reply = api.post("/api/applications", applicant_for(CHONGWEN_1950), json=rental(monthly_rent="2500.50"))
    assert reply.status_code == 202, reply.get_json()  # smart approval: decided by a worker
    with services.sessions() as session:
        stored = session.get(Application, reply.get_json()["id"]).form_data
    assert stored["monthly_rent"] == 2500.5 and stored["tenant_id_number"] == TENANT_ID


def test_every_problem_says_what_happened_in_chinese(api, new_user):
    """A person reads ``message``: plain Chinese, whatever went wrong and whoever answered it
    (a domain error, webargs' 422, a route that does not exist)."""
    clerk = new_user("clerk", "civil_affairs")
    answers = [
        api.get("/api/no-such-route"),                                                   # werkzeug 404
        api.get("/api/applications/nonexistent-ref", new_user()),                        # domain 404
        api.post("/api/applications", clerk, json={"matter": "elderly_subsidy", "data": {}}),  # domain 403
        api.post("/api/applications", new_user(), json={"data": {}}),                    # webargs 422
        api.post("/api/applications", new_user(), json={"matter": "elderly_subsidy", "data": {}}),  # form 422
        api.get("/api/tasks"),                                                           # 401
    ]
    for reply in answers:
        body = reply.get_json()
        assert reply.status_code >= 400 and body["message"], body
        assert re.search(r"[\u4e00-\u9fff]", body["message"]) and not re.search(r"[A-Za-z]", body["message"]), body
