"""出版物零售业务年度核验 through the API: credit tiers and the dishonest-debtor list decide
the path and the time limit; the e-licence library supplies the licences (免证办), and
red/orange tiers may hand a missing one in after the decision (容缺后补)."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from api import create_app
from tests.integration.helpers import ApiClient, decision_of

MATTER = "publication_retail_check"
LEGAL_BASIS = "《关于对失信被执行人实施联合惩戒的合作备忘录》（发改财金〔2016〕141号）"
BUSINESS_LICENCE, PERMIT = "营业执照", "出版物经营许可证"
# Submitted Mon 28 Sep 2026, 10:00 Beijing; working days after it: 29, 30 Sep, [1–7 Oct
# National Day], 8, 9, Sat 10 (make-up day), 12, 13, 14, 15, 16 Oct.
DUE_10_DAYS = "2026-10-16T16:00:00+00:00"  # the promised 10 working days
DUE_7_DAYS = "2026-10-13T16:00:00+00:00"   # red tier's fast lane: 10 cut by 30%


def submit(client, applicant: str, credit_code: str, **overrides):
    """Submit for the company; its name and legal representative are left out (秒填 from the registry)."""
    data = {"credit_code": credit_code.lower(), "phone": "13800138000", "business_address": "海口市龙华区国贸路1号", "report_year": 2025,
            "business_area_m2": 120, "annual_sales": 85.5, "staff_count": 6, "penalties": 0, "truthful": True,
            **overrides}
    return client.post("/api/applications", applicant, json={"matter": MATTER, "data": data})


def detail(client, applicant: str, reference: str) -> dict:
    return client.get(f"/api/applications/{reference}", applicant).get_json()


def open_steps(client, applicant: str, reference: str) -> list[tuple[str, str]]:
    return [(s["title"], s["candidate_role"]) for s in detail(client, applicant, reference)["steps"]
            if s["status"] in ("open", "claimed")]


def kinds(client, applicant: str, reference: str) -> list[str]:
    return [e["kind"] for e in detail(client, applicant, reference)["history"]]


# --- the tiers, each with all its licences in the library ---------------------------------

@pytest.mark.parametrize("tier, due_at, allows", [
    ("red", DUE_7_DAYS, {"tolerate_missing": True, "commitment": True, "fast_lane": True}),
    ("orange", DUE_10_DAYS, {"tolerate_missing": True, "commitment": True, "fast_lane": False}),
    (None, DUE_10_DAYS, {"tolerate_missing": False, "commitment": False, "fast_lane": False}),
])
def test_red_orange_and_blue_pass_at_once_with_their_time_limit(clocked, company, applicant_for, tier, due_at,
                                                                 allows):
    client, _, _ = clocked
    credit_code = company(tier)
    applicant = applicant_for(credit_code)
    reply = submit(client, applicant, credit_code)
    assert reply.status_code == 201, reply.get_json()
    body = reply.get_json()
    assert (body["status"], body["outcome"]) == ("completed", "approve")
    assert body["due_at"] == due_at
    decision = decision_of(client, body["id"])
    credit = decision["credit"]
    assert (credit["subject"], credit["tier"], credit["path"], credit["debtor"]) == (
        credit_code, tier or "blue", "normal", {"listed": False})
    assert credit["allows"] == allows
    assert credit["sources"]["credit_registry"]["status"] == "ok" and credit["sources"]["credit_registry"]["read_at"]
    assert [r["rule"] for r in decision["reasons"]] == ["passed"]
    assert body["result"]["verdict"] == "年度核验合格" and body["result"]["credit_tier"] == (tier or "blue")
    assert body["materials"]["avoided"] == 2 and body["materials"]["requested"] == []
    assert ("credit.fast_lane" in kinds(client, applicant, body["reference"])) is (tier == "red")


def test_the_fast_lane_is_recorded_with_the_limit_it_replaced(clocked, company, applicant_for):
    client, _, _ = clocked
    credit_code = company("red")
    applicant = applicant_for(credit_code)
    body = submit(client, applicant, credit_code).get_json()
    history = detail(client, applicant, body["reference"])["history"]
    assert next(e["data"] for e in history if e["kind"] == "credit.fast_lane") == {"promised_days": 7,
                                                                                   "instead_of": 10}


@pytest.mark.parametrize("tier, debtor, who", [("black", False, "信用等级为黑色"), (None, True, "失信被执行人"),
                                               ("red", True, "失信被执行人")])
def test_black_tier_and_debtors_are_refused_quoting_the_legal_basis(clocked, company, applicant_for, tier, debtor,
                                                                     who):
    client, _, _ = clocked
    credit_code = company(tier, debtor=debtor)
    applicant = applicant_for(credit_code)
    reply = submit(client, applicant, credit_code)
    assert reply.status_code == 201, reply.get_json()
    body = reply.get_json()
    assert (body["status"], body["outcome"]) == ("completed", "reject")
    result = body["result"]
    assert result["stage"] == "credit" and who in result["reason"] and LEGAL_BASIS in result["reason"]
    assert result["tier"] == (tier or "blue")
    assert result["sources"]["credit_registry"]["status"] == result["sources"]["debtor_list"]["status"] == "ok"
    if debtor:
        assert result["debtor"]["case_no"] == "（2026）琼0106执99号"
    assert body["due_at"] == DUE_10_DAYS  # a refused red tier gets no fast lane
    # refused before anything else: no licences fetched, no rules run, nobody asked
    assert body["materials"] is None and decision_of(client, body["id"]) is None
    assert open_steps(client, applicant, body["reference"]) == []


# --- missing licences: 容缺后补 for red and orange, asked first for blue ---------------------

@pytest.mark.parametrize("tier", ["red", "orange"])
def test_red_and_orange_with_a_missing_licence_pass_at_once_and_hand_it_in_afterwards(clocked, company,
                                                                                      applicant_for, tier):
    client, clock, _ = clocked
    credit_code = company(tier, licences=("publication_permit",))
    applicant = applicant_for(credit_code)
    reply = submit(client, applicant, credit_code)
    assert reply.status_code == 201, reply.get_json()
    body = reply.get_json()
    assert (body["status"], body["outcome"]) == ("waiting", "approve")
    assert body["result"]["outstanding"] == [BUSINESS_LICENCE]
    assert body["materials"]["requested"] == [BUSINESS_LICENCE] and body["materials"]["avoided"] == 1
    decision = decision_of(client, body["id"])
    assert decision["outcome"] == "approve" and decision["credit"]["allows"]["tolerate_missing"]
    assert open_steps(client, applicant, body["reference"]) == [("容缺后补材料", "applicant")]
    assert body["due_at"] is None and body["clock_pauses"][0]["reason"] == "supplement"

    clock.set(2026, 9, 30, 9, 0)
    path = f"/api/applications/{body['reference']}/supplement"
    wrong = client.post(path, applicant, json={"materials": [{"name": PERMIT, "reference": "upload-1"}]})
    assert wrong.status_code == 422
    done = client.post(path, applicant, json={"materials": [{"name": BUSINESS_LICENCE, "reference": "upload-2"}]})
    assert done.status_code == 200, done.get_json()
    final = done.get_json()
    assert (final["status"], final["outcome"]) == ("completed", "approve")
    assert final["result"]["outstanding"] == [] and final["result"]["verdict"] == "年度核验合格"
    assert final["result"]["supplemented"] == [{"name": BUSINESS_LICENCE, "reference": "upload-2"}]
    assert kinds(client, applicant, body["reference"]).count("application.decided") == 1


def test_blue_with_a_missing_licence_is_asked_for_it_before_the_decision(clocked, company, applicant_for):
    client, clock, _ = clocked
    credit_code = company(licences=("publication_permit",))
    applicant = applicant_for(credit_code)
    reply = submit(client, applicant, credit_code)
    assert reply.status_code == 202, reply.get_json()
    body = reply.get_json()
    assert (body["status"], body["outcome"], decision_of(client, body["id"])) == ("waiting", None, None)
    assert body["materials"]["requested"] == [BUSINESS_LICENCE]
    assert open_steps(client, applicant, body["reference"]) == [("申请人补正材料", "applicant")]
    assert body["due_at"] is None

    clock.set(2026, 9, 30, 9, 0)  # two days paused: 29 and 30 Sep do not count
    path = f"/api/applications/{body['reference']}/supplement"
    wrong = client.post(path, applicant, json={"materials": [{"name": PERMIT, "reference": "upload-1"}]})
    assert wrong.status_code == 422 and BUSINESS_LICENCE in str(wrong.get_json()["errors"])
    done = client.post(path, applicant, json={"materials": [{"name": BUSINESS_LICENCE, "reference": "upload-2"}]})
    assert done.status_code == 200, done.get_json()
    final = done.get_json()
    assert (final["status"], final["outcome"]) == ("completed", "approve")
    assert decision_of(client, final["id"])["credit"]["tier"] == "blue" and final["result"]["outstanding"] == []
    assert final["due_at"] == "2026-10-20T16:00:00+00:00"  # 16 Oct + the two paused working days


# --- the rules ------------------------------------------------------------------------------

def test_an_expired_permit_in_the_library_fails_the_check(clocked, company, applicant_for):
    client, _, _ = clocked
    # red tolerates the (invalid, so not attached) permit and lets the rules judge it at once
    credit_code = company("red", permit_valid_until=date(2026, 6, 30))
    body = submit(client, applicant_for(credit_code), credit_code).get_json()
    assert (body["status"], body["outcome"]) == ("completed", "reject")
    decision = decision_of(client, body["id"])
    assert [r["rule"] for r in decision["reasons"]] == ["permit_expired"]
    assert body["result"]["reasons"] == [decision["reasons"][0]["message"]]


def test_penalties_in_the_year_go_to_the_culture_department(clocked, company, applicant_for, new_user):
    client, _, _ = clocked
    credit_code = company("orange")
    applicant = applicant_for(credit_code)
    reply = submit(client, applicant, credit_code, penalties=1)
    assert reply.status_code == 202
    body = reply.get_json()
    decision = decision_of(client, body["id"])
    assert decision["outcome"] == "manual" and decision["credit"]["tier"] == "orange"
    assert [r["rule"] for r in decision["reasons"]] == ["penalised"]

    clerk, other = new_user("clerk", "culture"), new_user("clerk", "civil_affairs")
    task = next(t for t in client.get("/api/tasks", clerk).get_json() if t["application_id"] == body["id"])
    assert (task["title"], task["due_at"]) == ("部门审核", DUE_10_DAYS)
    assert body["id"] not in [t["application_id"] for t in client.get("/api/tasks", other).get_json()]
    no_reason = client.post(f"/api/tasks/{task['id']}/complete", clerk, json={"outcome": "reject"})
    assert no_reason.status_code == 422
    done = client.post(f"/api/tasks/{task['id']}/complete", clerk,
                       json={"outcome": "reject", "comment": "销售非法出版物，暂缓核验"})
    assert done.status_code == 200, done.get_json()
    final = detail(client, applicant, body["reference"])
    assert (final["status"], final["outcome"]) == ("completed", "reject")
    assert final["result"] == {"stage": "review", "reason": "销售非法出版物，暂缓核验"}


# --- sources that do not answer never refuse ------------------------------------------------

def _with_slow(services, clock, source: str) -> ApiClient:
    slow = services.sources[source].slowed(delay=0.5, timeout=0.05)
    return ApiClient(create_app(replace(services, clock=clock, sources={**services.sources, source: slow})))


def test_an_unreadable_credit_registry_grants_nothing_and_handles_the_case_normally(services, clocked, company,
                                                                                      applicant_for):
    _, clock, _ = clocked
    client = _with_slow(services, clock, "credit_registry")
    credit_code = company("red", licences=("publication_permit",))
    applicant = applicant_for(credit_code)
    body = submit(client, applicant, credit_code).get_json()
    assert (body["status"], body["outcome"], decision_of(client, body["id"])) == ("waiting", None, None)
    assert open_steps(client, applicant, body["reference"]) == [("申请人补正材料", "applicant")]  # no 容缺 without a tier
    done = client.post(f"/api/applications/{body['reference']}/supplement", applicant,
                       json={"materials": [{"name": BUSINESS_LICENCE, "reference": "upload-1"}]}).get_json()
    assert done["outcome"] == "approve"
    credit = decision_of(client, done["id"])["credit"]
    assert (credit["tier"], credit["path"]) == ("unknown", "normal")
    assert credit["sources"]["credit_registry"]["status"] == "unavailable"
    assert "credit.fast_lane" not in kinds(client, applicant, body["reference"])


def test_an_unreadable_debtor_list_sends_the_case_to_a_clerk_not_to_refusal(services, clocked, company, applicant_for,
                                                                           new_user):
    _, clock, _ = clocked
    client = _with_slow(services, clock, "debtor_list")
    credit_code = company("blue")
    applicant = applicant_for(credit_code)
    reply = submit(client, applicant, credit_code)
    assert reply.status_code == 202, reply.get_json()
    body = reply.get_json()
    assert body["outcome"] is None
    clerk = new_user("clerk", "culture")
    task = next(t for t in client.get("/api/tasks", clerk).get_json() if t["application_id"] == body["id"])
    assert task["title"] == "信用人工审核"
    done = client.post(f"/api/tasks/{task['id']}/complete", clerk, json={"outcome": "approve", "comment": "已电话核实法院"})
    assert done.status_code == 200, done.get_json()
    final = detail(client, applicant, body["reference"])
    assert (final["status"], final["outcome"]) == ("completed", "approve")
    credit = decision_of(client, final["id"])["credit"]
    assert credit["path"] == "manual" and credit["sources"]["debtor_list"]["status"] == "unavailable"


def test_an_unreadable_licence_library_asks_for_the_licences(services, clocked, company, applicant_for):
    _, clock, _ = clocked
    client = _with_slow(services, clock, "licence_library")
    credit_code = company()
    applicant = applicant_for(credit_code)
    reply = submit(client, applicant, credit_code)
    assert reply.status_code == 202, reply.get_json()
    body = reply.get_json()
    assert body["outcome"] is None and body["materials"]["library"] == "unavailable"
    assert sorted(body["materials"]["requested"]) == sorted([BUSINESS_LICENCE, PERMIT])
    assert open_steps(client, applicant, body["reference"]) == [("申请人补正材料", "applicant")]
