"""The member matters of the 企业开办 and 二手房转移登记 bundles (一件事一次办), each applied for
alone through the API: the instant ones (秒批) are approved at once, the others wait in their
department's queue until that department's demo clerk approves them; a rule that refuses
refuses. All ten share processes/rules_then_review.bpmn."""
from __future__ import annotations

import re

import pytest

from tests.integration.helpers import decision_of, demo_name

OWN_FLAT = "琼(2024)海口市不动产权第0000001号"     # engine/demo.py: the demo landlord's flat
SEIZED_FLAT = "琼(2024)海口市不动产权第0000002号"  # under seizure (查封)
LICENCE_NO = "琼市监登字〔2026〕第000001号"
COMPANY = {"company_name": "海口椰风科技有限公司", "licence_no": LICENCE_NO}
UTILITY = {"property_address": "海口市龙华区滨海大道1号", "account_no": "0101234567", "property_cert_no": OWN_FLAT}


def data_of(matter: str, people) -> dict:
    """Valid answers of ``matter``'s form beyond the applicant's own (the name comes from the
    population registry: 秒填)."""
    return {
        "company_registration": {"company_name": "海口椰风科技有限公司", "company_type": "llc",
                                 "registered_capital": 100.5, "business_scope": "软件开发；信息技术咨询服务",
                                 "business_address": "海口市龙华区滨海大道1号"},
        "seal_engraving": {**COMPANY, "seal_count": 3},
        "invoice_application": {**COMPANY, "invoice_kind": "special", "monthly_quantity": 25},
        "social_insurance_registration": {**COMPANY, "employee_count": 12},
        "housing_fund_registration": {**COMPANY, "employee_count": 12, "contribution_rate": 12},
        "deed_tax": {"property_cert_no": OWN_FLAT, "transaction_price": 1500000, "floor_area": 89.5,
                     "first_home": "yes"},
        "property_transfer": {"property_cert_no": OWN_FLAT, "transaction_price": 1500000,
                              "seller_name": demo_name(people["landlord"]), "seller_id_number": people["landlord"]},
        "water_transfer": UTILITY,
        "power_transfer": UTILITY,
        "gas_transfer": UTILITY,
    }[matter]


@pytest.fixture
def submit(api, resident, applicant_for, people):
    """Apply for ``matter`` as a fresh verified resident (for themself), the form's valid
    answers changed by ``changes``; returns the reply."""
    def apply(matter: str, **changes):
        id_number = resident(40)
        data = {"id_number": id_number, "phone": "13800138000", **data_of(matter, people), **changes}
        return api.post("/api/applications", applicant_for(id_number), json={"matter": matter, "data": data})
    return apply


INSTANT = [("seal_engraving", "filed"), ("housing_fund_registration", "registered"), ("deed_tax", "declared"),
           ("water_transfer", "transferred"), ("power_transfer", "transferred"), ("gas_transfer", "transferred")]


@pytest.mark.parametrize(("matter", "rule"), INSTANT)
def test_an_instant_matter_is_approved_at_once(api, submit, matter, rule):
    reply = submit(matter)
    assert reply.status_code == 201, reply.get_json()
    body = reply.get_json()
    assert (body["status"], body["outcome"]) == ("completed", "approve")
    assert [r["rule"] for r in decision_of(api, body["id"])["reasons"]] == [rule]


MANUAL = [("company_registration", "clerk_market", "name_and_scope_review"),
          ("invoice_application", "clerk_tax", "tax_review"),
          ("social_insurance_registration", "clerk_social", "agency_review"),
          ("property_transfer", "clerk_estate", "registrar_review")]


@pytest.mark.parametrize(("matter", "clerk", "rule"), MANUAL)
def test_a_manual_matter_waits_for_its_department_clerk(api, submit, matter, clerk, rule):
    reply = submit(matter)
    assert reply.status_code == 202, reply.get_json()
    body = reply.get_json()
    assert (body["status"], body["outcome"]) == ("waiting", None)
    assert [r["rule"] for r in decision_of(api, body["id"])["reasons"]] == [rule]
    task = next(t for t in api.get("/api/tasks", clerk).get_json() if t["application_id"] == body["id"])
    assert task["element_id"] == "Task_review"
    done = api.post(f"/api/tasks/{task['id']}/complete", clerk, json={"outcome": "approve", "comment": "材料齐全"})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["outcome"] == "approve"
    final = api.get(f"/api/applications/{body['id']}", clerk).get_json()
    assert (final["status"], final["outcome"]) == ("completed", "approve")
    if matter == "company_registration":  # the business licence number the later steps name
        assert re.fullmatch(r"琼市监登字〔\d{4}〕第\d{6}号", final["result"]["licence_no"])


def test_another_department_does_not_see_the_task(api, submit):
    body = submit("company_registration").get_json()
    assert body["id"] not in [t["application_id"] for t in api.get("/api/tasks", "clerk_tax").get_json()]


def test_a_low_price_goes_to_the_tax_office_for_assessment(api, submit):
    reply = submit("deed_tax", transaction_price=50000, floor_area=89.5)
    assert reply.status_code == 202, reply.get_json()
    body = reply.get_json()
    assert [r["rule"] for r in decision_of(api, body["id"])["reasons"]] == ["low_price"]
    assert body["id"] in [t["application_id"] for t in api.get("/api/tasks", "clerk_tax").get_json()]


REJECTIONS = [("company_registration", {"company_name": "椰风"}, "name_too_short"),
              ("invoice_application", {"invoice_kind": "special", "monthly_quantity": 26}, "too_many_special"),
              ("invoice_application", {"invoice_kind": "ordinary", "monthly_quantity": 51}, "too_many_ordinary"),
              ("property_transfer", {"property_cert_no": SEIZED_FLAT}, "seized")]


@pytest.mark.parametrize(("matter", "changes", "rule"), REJECTIONS)
def test_a_rule_refuses(api, submit, matter, changes, rule):
    reply = submit(matter, **changes)
    assert reply.status_code == 201, reply.get_json()
    body = reply.get_json()
    assert (body["status"], body["outcome"]) == ("completed", "reject")
    assert [r["rule"] for r in decision_of(api, body["id"])["reasons"]] == [rule]


def test_a_seller_who_is_not_the_owner_is_pointed_out_to_the_registrar(api, submit, people):
    body = submit("property_transfer", seller_name=demo_name(people["tenant"]),
                  seller_id_number=people["tenant"]).get_json()
    assert body["status"] == "waiting"
    decision = decision_of(api, body["id"])
    assert [r["rule"] for r in decision["reasons"]] == ["seller_not_owner"]
    assert decision["facts"]["seller_is_owner"]["source"] == "property_registry"


def test_the_form_refuses_what_the_rules_never_see(submit):
    reply = submit("housing_fund_registration", contribution_rate=13, seal_count=1)
    assert reply.status_code == 422, reply.get_json()
    assert {"contribution_rate", "seal_count"} <= set(reply.get_json()["errors"])
