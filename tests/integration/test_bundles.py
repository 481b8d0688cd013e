"""一件事一次办 through the API: a bundle is a BPMN whose steps are matters; each member runs
as an application of its own matter in its own department; the one form feeds them all;
the bundle answers once, with every member's result, delivered once (一窗出件).

Also the cart (政务超市): an order of any matters runs as an ad-hoc bundle of one generic
process; an order that cannot be combined is refused naming why."""
from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from engine.config import REPO_ROOT
from engine.store.models import Application, Task
from tests.integration.helpers import authorise, demo_name, run_queued_work
from tests.integration.test_member_matters import OWN_FLAT

_codes = itertools.count(1)
STARTUP = "/api/bundles/business_startup/applications"
HOUSING = "/api/bundles/property_transfer_bundle/applications"
MEMBERS = ["company_registration", "seal_engraving", "invoice_application", "social_insurance_registration",
           "housing_fund_registration"]


def startup_form(id_number: str, **changes) -> dict:
    return {"id_number": id_number, "phone": "13800138000", "company_name": "海口椰风科技有限公司",
            "company_type": "llc", "registered_capital": 100, "business_scope": "软件开发；信息技术咨询服务",
            "business_address": "海口市龙华区滨海大道1号", "seal_count": 3, "invoice_kind": "ordinary",
            "monthly_quantity": 50, "has_employees": "yes", "employee_count": 12, "contribution_rate": 12,
            **changes}


def housing_form(id_number: str, seller: str, **changes) -> dict:
    return {"id_number": id_number, "phone": "13800138000", "property_cert_no": OWN_FLAT,
            "property_address": "海口市龙华区滨海大道1号", "transaction_price": 1500000, "floor_area": 89.5,
            "first_home": "yes", "seller_name": demo_name(seller), "seller_id_number": seller,
            "transfer_water": "yes", "water_account_no": "0101234567", "transfer_power": "no",
            "transfer_gas": "yes", "gas_account_no": "GAS-778899", **changes}


def status(api, user: str, reference: str) -> dict:
    reply = api.get(f"/api/applications/{reference}/bundle", user)
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def states(body: dict) -> dict[str, str]:
    return {m["matter"]: m["state"] for m in body["members"]}


def complete_task(api, services, clerk: str, application_id: int, answer: dict) -> None:
    """The clerk finds the member's task in their department's queue and completes it; the
    worker then settles the bundle."""
    queue = api.get("/api/tasks", clerk).get_json()
    task = next(t for t in queue if t["application_id"] == application_id)
    reply = api.post(f"/api/tasks/{task['id']}/complete", clerk, json=answer)
    assert reply.status_code == 200, reply.get_json()
    run_queued_work(services)


def member_rows(services, tracking_no: str) -> dict[str, Application]:
    with services.sessions() as session:
        bundle = session.scalars(select(Application).where(Application.tracking_no == tracking_no)).one()
        return {m.matter_code: m for m in session.scalars(select(Application).where(
            Application.bundle_id == bundle.id))}


def departments_of(services, application_id: int) -> set[str]:
    with services.sessions() as session:
        return set(session.scalars(select(Task.department).where(Task.application_id == application_id)))


def test_business_startup_one_form_five_departments_one_delivery(api, services, resident, applicant_for):
    id_number = resident(35)
    applicant = applicant_for(id_number)
    reply = api.post(STARTUP, applicant, json={"data": startup_form(id_number)})
    assert reply.status_code == 202, reply.get_json()
    body = reply.get_json()
    # the licence comes first; the rest wait for it (they need its number)
    assert states(body) == {"company_registration": "in_progress", **{m: "waiting_for_earlier" for m in MEMBERS[1:]}}
    members = member_rows(services, body["tracking_no"])
    assert list(members) == ["company_registration"]
    registration = members["company_registration"]
    assert departments_of(services, registration.id) == {"market_regulation"}

    complete_task(api, services, "clerk_market", registration.id, {"outcome": "approve", "comment": "名称、经营范围核准"})
    body = status(api, applicant, body["reference"])
    members = member_rows(services, body["tracking_no"])
    assert sorted(members) == sorted(MEMBERS)  # five applications of five matters
    licence_no = members["company_registration"].result_no
    assert licence_no and licence_no.startswith("琼市监登字")
    # 一表申请: what was entered once reached every member; the licence number came from the registration (免证办)
    for matter in MEMBERS:
        assert members[matter].form_data["company_name"] == "海口椰风科技有限公司"
        assert members[matter].form_data["id_number"] == id_number
        assert members[matter].applicant_id == members["company_registration"].applicant_id
        if matter != "company_registration":
            assert members[matter].form_data["licence_no"] == licence_no
    assert members["social_insurance_registration"].form_data["employee_count"] == 12
    # the instant ones are decided at once, the others wait in their departments' queues
    assert states(body) == {"company_registration": "done", "seal_engraving": "done", "housing_fund_registration": "done",
                            "invoice_application": "in_progress", "social_insurance_registration": "in_progress"}
    assert departments_of(services, members["invoice_application"].id) == {"tax"}
    assert departments_of(services, members["social_insurance_registration"].id) == {"social_security"}
    due = {m["matter"]: m["due_at"] for m in body["members"]}
    assert body["due_at"] == max(due.values())  # the combined deadline is the longest member's

    complete_task(api, services, "clerk_tax", members["invoice_application"].id, {"outcome": "approve"})
    assert status(api, applicant, body["reference"])["status"] == "waiting"
    complete_task(api, services, "clerk_social", members["social_insurance_registration"].id, {"outcome": "approve"})
    body = status(api, applicant, body["reference"])
    assert set(states(body).values()) == {"done"} and body["outcome"] is None  # all done; delivery waits

    bundle_id = _id_of(services, body["tracking_no"])
    assert departments_of(services, bundle_id) == {"front_desk"}
    complete_task(api, services, "clerk_window", bundle_id, {"method": "pickup", "collected_by": "王小明"})
    body = status(api, applicant, body["reference"])
    assert (body["status"], body["outcome"]) == ("completed", "approve")
    assert body["delivery"] == {"method": "pickup"}  # 一窗出件: every result at once (who collected it: not shown)
    detail = api.get(f"/api/applications/{body['reference']}", applicant).get_json()
    assert sorted(row["matter"] for row in detail["result"]["members"]) == sorted(MEMBERS)
    kinds = [e["kind"] for e in detail["history"]]
    assert kinds.count("bundle.member_started") == 5 and kinds.count("bundle.member_answered") == 5
    mine = {a["matter"] for a in api.get("/api/applications", applicant).get_json()}
    assert {"business_startup", *MEMBERS} <= mine


def test_a_refused_member_is_reported_with_the_others_results(api, services, resident, applicant_for):
    id_number = resident(36)
    applicant = applicant_for(id_number)
    body = api.post(STARTUP, applicant, json={"data": startup_form(id_number, has_employees="no")}).get_json()
    registration = member_rows(services, body["tracking_no"])["company_registration"]
    complete_task(api, services, "clerk_market", registration.id, {"outcome": "approve"})
    invoice = member_rows(services, body["tracking_no"])["invoice_application"]
    complete_task(api, services, "clerk_tax", invoice.id, {"outcome": "reject", "comment": "经营地址核查不符，暂不核定发票"})
    body = status(api, applicant, body["reference"])
    assert states(body) == {"company_registration": "done", "seal_engraving": "done", "invoice_application": "refused",
                            "social_insurance_registration": "not_selected", "housing_fund_registration": "not_selected"}
    refused = next(m for m in body["members"] if m["matter"] == "invoice_application")
    assert refused["reasons"] == ["经营地址核查不符，暂不核定发票"]
    bundle_id = _id_of(services, body["tracking_no"])
    complete_task(api, services, "clerk_window", bundle_id, {"method": "mail", "courier": "EMS",
                                                             "tracking_no": "EMS123456789", "address": "海口市滨海大道1号"})
    body = status(api, applicant, body["reference"])
    assert (body["status"], body["outcome"]) == ("completed", "partial")


def test_a_refused_registration_stops_what_needs_it(api, services, resident, applicant_for, people):
    """on_refusal: stop — the transfer refused, no utility moves to the buyer."""
    id_number = resident(37)
    applicant = applicant_for(id_number)
    reply = api.post(HOUSING, applicant, json={"data": housing_form(id_number, people["landlord"])})
    assert reply.status_code == 202, reply.get_json()
    body = reply.get_json()
    assert states(body)["deed_tax"] == "done"  # instant, in the submitting request
    assert states(body)["property_transfer"] == "in_progress"
    transfer = member_rows(services, body["tracking_no"])["property_transfer"]
    assert departments_of(services, transfer.id) == {"real_estate"}
    complete_task(api, services, "clerk_estate", transfer.id, {"outcome": "reject", "comment": "买卖合同未经网签备案"})
    body = status(api, applicant, body["reference"])
    assert states(body) == {"deed_tax": "done", "property_transfer": "refused", "water_transfer": "skipped",
                            "power_transfer": "not_selected", "gas_transfer": "skipped"}
    assert sorted(member_rows(services, body["tracking_no"])) == ["deed_tax", "property_transfer"]
    water = next(m for m in body["members"] if m["matter"] == "water_transfer")
    assert water["reasons"] == ["因二手房转移登记未获办理，本事项未启动"]


def test_the_one_form_names_the_bundle_field_and_every_member_needing_it(api, resident, applicant_for):
    id_number = resident(38)
    applicant = applicant_for(id_number)
    form = startup_form(id_number)
    del form["employee_count"], form["seal_count"]
    reply = api.post(STARTUP, applicant, json={"data": form})
    assert reply.status_code == 422, reply.get_json()
    errors = reply.get_json()["errors"]
    assert set(errors) == {"employee_count", "seal_count"}
    assert "单位参保登记" in errors["employee_count"][0] and "住房公积金单位缴存登记" in errors["employee_count"][0]
    assert "公章刻制备案" in errors["seal_count"][0]
    form = startup_form(id_number, company_name="")
    errors = api.post(STARTUP, applicant, json={"data": form}).get_json()["errors"]
    assert list(errors) == ["company_name"]  # the bundle form's own required field
    with_staff = startup_form(id_number, has_employees="no")
    del with_staff["employee_count"]
    assert api.post(STARTUP, applicant, json={"data": with_staff}).status_code == 202  # not needed: not selected


def test_a_name_the_registry_does_not_hold_is_refused_before_anything_starts(api, services, resident, applicant_for):
    id_number = resident(47)
    applicant = applicant_for(id_number)
    reply = api.post(STARTUP, applicant, json={"data": startup_form(id_number, applicant_name="王爱丽")})
    assert reply.status_code == 422, reply.get_json()
    errors = reply.get_json()["errors"]
    assert list(errors) == ["applicant_name"] and "企业设立登记" in errors["applicant_name"][0]
    mine = [a["matter"] for a in api.get("/api/applications", applicant).get_json()]
    assert "business_startup" not in mine and "company_registration" not in mine


def test_an_invalid_field_is_named_once(api, resident, applicant_for):
    id_number = resident(48)
    reply = api.post(STARTUP, applicant_for(id_number), json={"data": startup_form(id_number, company_name="名" * 101)})
    assert reply.status_code == 422
    assert len(reply.get_json()["errors"]["company_name"]) == 1  # the bundle form's own message, not "required" too


def test_the_cart_and_bundles_point_to_each_others_door(api, resident, applicant_for):
    applicant = applicant_for(resident(49))
    reply = api.post("/api/applications", applicant, json={"matter": "cart", "data": {}})
    assert reply.status_code == 422 and "/api/cart/orders" in reply.get_json()["errors"]["matter"][0]
    reply = api.post("/api/bundles/cart/applications", applicant, json={"data": {}})
    assert reply.status_code == 422 and "/api/cart/orders" in reply.get_json()["errors"]["matter"][0]
    assert api.post("/api/bundles/senior_card/applications", applicant, json={"data": {}}).status_code == 404
    for matters, says in (([], "1至200"), (["x"] * 201, "1至200"), (["事项\u202e"], "事项编码")):
        reply = api.post("/api/cart/form", applicant, json={"matters": matters})
        assert reply.status_code == 422 and says in str(reply.get_json()["errors"]), reply.get_json()


def test_a_stranger_cannot_open_a_company_in_someone_elses_name(api, resident, applicant_for, new_user):
    id_number = resident(39)
    stranger = new_user()
    reply = api.post(STARTUP, stranger, json={"data": startup_form(id_number)})
    assert reply.status_code == 403, reply.get_json()


def test_the_same_idempotency_key_gives_one_bundle(api, services, resident, applicant_for):
    id_number = resident(41)
    applicant = applicant_for(id_number)
    first = api.post(STARTUP, applicant, json={"data": startup_form(id_number)}, headers={"Idempotency-Key": "b-1"})
    again = api.post(STARTUP, applicant, json={"data": startup_form(id_number)}, headers={"Idempotency-Key": "b-1"})
    assert (first.status_code, again.status_code) == (202, 200)
    assert first.get_json()["tracking_no"] == again.get_json()["tracking_no"]
    assert len(member_rows(services, first.get_json()["tracking_no"])) == 1


CART = ["senior_card", "water_transfer"]


def test_a_cart_of_two_unrelated_matters_is_one_form_one_order_two_applications(api, services, senior, applicant_for):
    id_number = senior(66)
    applicant = applicant_for(id_number)
    form = api.post("/api/cart/form", applicant, json={"matters": CART})
    assert form.status_code == 200, form.get_json()
    keys = [c["key"] for c in form.get_json()["components"]]
    assert keys.count("id_number") == 1 and keys.count("phone") == 1  # shared fields once
    shared = next(c for c in form.get_json()["components"] if c["key"] == "id_number")
    assert shared["properties"]["needed_by"] == ["老年人优待证", "用水过户"]
    reply = api.post("/api/cart/orders", applicant, json={"matters": CART, "data": {
        "id_number": id_number, "phone": "13800138000", "property_address": "海口市龙华区滨海大道1号",
        "account_no": "0101234567", "property_cert_no": OWN_FLAT}})
    assert reply.status_code == 201, reply.get_json()  # both instant: the order is answered at once
    body = reply.get_json()
    assert (body["status"], body["outcome"]) == ("completed", "approve")
    assert states(body) == {"senior_card": "done", "water_transfer": "done"}
    members = member_rows(services, body["tracking_no"])
    assert sorted(members) == sorted(CART) and all(m.bundle_element == "Step_order" for m in members.values())
    detail = api.get(f"/api/applications/{body['reference']}", applicant).get_json()
    assert sorted(row["matter"] for row in detail["result"]["members"]) == sorted(CART)
    assert all(row["result_no"] for row in detail["result"]["members"])  # the card's and the receipt's numbers


def test_a_cart_with_one_refusal_answered_at_once_is_partial(api, services, senior, applicant_for):
    id_number = senior(45)  # too young for the senior card (its licences in the library); the water account moves
    applicant = applicant_for(id_number)
    for order in (CART, list(reversed(CART))):
        reply = api.post("/api/cart/orders", applicant, json={"matters": order, "data": {
            "id_number": id_number, "phone": "13800138000", "property_address": "海口市龙华区滨海大道1号",
            "account_no": "0101234567", "property_cert_no": OWN_FLAT}})
        assert reply.status_code == 201, reply.get_json()
        body = reply.get_json()
        assert (body["outcome"], states(body)) == ("partial", {"senior_card": "refused", "water_transfer": "done"})
        detail = api.get(f"/api/applications/{body['reference']}", applicant).get_json()
        assert {r["matter"]: r["outcome"] for r in detail["result"]["members"]} == {
            "senior_card": "reject", "water_transfer": "approve"}


def test_a_cart_order_refuses_a_field_no_chosen_matter_has(api, senior, applicant_for):
    id_number = senior(67)
    reply = api.post("/api/cart/orders", applicant_for(id_number), json={"matters": CART, "data": {
        "id_number": id_number, "phone": "13800138000", "property_address": "海口市龙华区滨海大道1号",
        "account_no": "0101234567", "property_cert_no": OWN_FLAT, "acount_no": "typo"}})
    assert reply.status_code == 422 and list(reply.get_json()["errors"]) == ["acount_no"]


def test_a_cart_that_cannot_be_combined_is_refused_naming_why(api, applicant_for, resident, company):
    person = applicant_for(resident(45))
    reply = api.post("/api/cart/orders", person, json={"matters": ["road_occupation", "road_occupation_sanya"],
                                                       "data": {}})
    assert reply.status_code == 422
    reasons = reply.get_json()["errors"]["matters"]
    assert any("同一事项" in r for r in reasons) and any("不在海口市办理" in r for r in reasons)
    reply = api.post("/api/cart/form", person, json={"matters": ["senior_card", "publication_retail_check"]})
    assert reply.status_code == 422
    assert any("个人事项与企业事项须分别下单" in r for r in reply.get_json()["errors"]["matters"])
    reply = api.post("/api/cart/form", person, json={"matters": ["senior_card", "business_startup", "nope"]})
    reasons = reply.get_json()["errors"]["matters"]
    assert any("一件事" in r for r in reasons) and any(r.startswith("nope") for r in reasons)


def test_an_agent_orders_a_cart_for_a_principal_who_sees_it(api, services, senior, applicant_for, new_user):
    principal_id = senior(70)
    principal = applicant_for(principal_id)
    agent = new_user()
    authorise(api, principal, agent, CART)
    reply = api.post("/api/cart/orders", agent, json={"matters": CART, "data": {
        "id_number": principal_id, "phone": "13800138000", "property_address": "海口市龙华区滨海大道1号",
        "account_no": "0101234567", "property_cert_no": OWN_FLAT}})
    assert reply.status_code == 201, reply.get_json()
    body = reply.get_json()
    theirs = {a["tracking_no"]: a for a in api.get("/api/applications", principal).get_json()}
    members = member_rows(services, body["tracking_no"])
    assert {body["tracking_no"], *(m.tracking_no for m in members.values())} <= set(theirs)
    assert all(theirs[m.tracking_no]["applied_as"] == "authorisation" for m in members.values())
    assert status(api, principal, body["reference"])["outcome"] == "approve"
    other_matter = api.post("/api/cart/orders", agent, json={"matters": ["senior_card", "gas_transfer"], "data": {
        "id_number": principal_id, "phone": "13800138000", "property_address": "海口市龙华区滨海大道1号",
        "account_no": "0101234567", "property_cert_no": OWN_FLAT}})
    assert other_matter.status_code == 403  # not authorised for 用气过户


def _id_of(services, tracking_no: str) -> int:
    with services.sessions() as session:
        return session.scalars(select(Application.id).where(Application.tracking_no == tracking_no)).one()


def test_a_bundle_is_not_applied_for_as_a_single_matter(api, resident, applicant_for):
    id_number = resident(42)
    reply = api.post("/api/applications", applicant_for(id_number),
                     json={"matter": "business_startup", "data": startup_form(id_number)})
    assert reply.status_code == 422 and "/api/bundles/business_startup/applications" in str(reply.get_json())


def test_two_departments_deciding_their_members_at_once_both_go_through(api, services, resident, applicant_for):
    """The tax and social-security clerks complete their members in the same instant: neither
    gets a conflict (a member's end marks its bundle without competing for it), and the
    bundle settles both."""
    from concurrent.futures import ThreadPoolExecutor

    id_number = resident(43)
    applicant = applicant_for(id_number)
    body = api.post(STARTUP, applicant, json={"data": startup_form(id_number)}).get_json()
    registration = member_rows(services, body["tracking_no"])["company_registration"]
    complete_task(api, services, "clerk_market", registration.id, {"outcome": "approve"})
    members = member_rows(services, body["tracking_no"])
    tasks = {}
    for clerk, matter in (("clerk_tax", "invoice_application"), ("clerk_social", "social_insurance_registration")):
        tasks[clerk] = next(t["id"] for t in api.get("/api/tasks", clerk).get_json()
                            if t["application_id"] == members[matter].id)
    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda clerk: api.post(f"/api/tasks/{tasks[clerk]}/complete", clerk,
                                                       json={"outcome": "approve"}).status_code, tasks))
    assert replies == [200, 200]
    run_queued_work(services)
    body = status(api, applicant, body["reference"])
    assert set(states(body).values()) == {"done"}
    assert departments_of(services, _id_of(services, body["tracking_no"])) == {"front_desk"}  # delivery waits


class _LostQueue:
    """A queue whose jobs are lost (Redis restarted empty): only the reconciler finds the work."""

    def enqueue_advance(self, application_id: int) -> None:
        pass


def test_a_bundle_step_whose_job_was_lost_is_resent_by_the_reconciler(api, services, resident, applicant_for):
    from dataclasses import replace
    from datetime import timedelta

    from api import create_app
    from tests.integration.helpers import ApiClient

    id_number = resident(44)
    applicant = applicant_for(id_number)
    body = api.post(STARTUP, applicant, json={"data": startup_form(id_number, has_employees="no")}).get_json()
    registration = member_rows(services, body["tracking_no"])["company_registration"]
    losing = ApiClient(create_app(replace(services, queue=_LostQueue())))
    task = next(t for t in losing.get("/api/tasks", "clerk_market").get_json() if t["application_id"] == registration.id)
    assert losing.post(f"/api/tasks/{task['id']}/complete", "clerk_market", json={"outcome": "approve"}).status_code == 200
    assert states(status(api, applicant, body["reference"]))["seal_engraving"] == "waiting_for_earlier"
    bundle_id = _id_of(services, body["tracking_no"])
    assert bundle_id in services.work.reconcile(older_than=timedelta(0))  # the mark is in the database
    run_queued_work(services)
    assert states(status(api, applicant, body["reference"]))["seal_engraving"] == "done"


PARALLEL_STOP_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="Definitions_{code}" targetNamespace="http://onewindow.org/bpmn">
  <bpmn:process id="{code}" isExecutable="true">
    <bpmn:startEvent id="Start_1"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="Split"><bpmn:incoming>F1</bpmn:incoming>
      <bpmn:outgoing>F2</bpmn:outgoing><bpmn:outgoing>F3</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:task id="Step_invoice"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="member" value="{first}"/></spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>F2</bpmn:incoming><bpmn:outgoing>F4</bpmn:outgoing></bpmn:task>
    <bpmn:task id="Step_social"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="member" value="{second}"/></spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>F3</bpmn:incoming><bpmn:outgoing>F5</bpmn:outgoing></bpmn:task>
    <bpmn:parallelGateway id="Join"><bpmn:incoming>F4</bpmn:incoming><bpmn:incoming>F5</bpmn:incoming>
      <bpmn:outgoing>F6</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:endEvent id="End_1"><bpmn:incoming>F6</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="Start_1" targetRef="Split"/>
    <bpmn:sequenceFlow id="F2" sourceRef="Split" targetRef="Step_invoice"/>
    <bpmn:sequenceFlow id="F3" sourceRef="Split" targetRef="Step_social"/>
    <bpmn:sequenceFlow id="F4" sourceRef="Step_invoice" targetRef="Join"/>
    <bpmn:sequenceFlow id="F5" sourceRef="Step_social" targetRef="Join"/>
    <bpmn:sequenceFlow id="F6" sourceRef="Join" targetRef="End_1"/>
  </bpmn:process>
</bpmn:definitions>"""
COMPANY_FORM = ('{"type": "default", "id": "f", "components": ['
                '{"type": "textfield", "key": "id_number", "label": "身份证号码", "validate": {"required": true},'
                ' "properties": {"format": "resident_id"}},'
                '{"type": "textfield", "key": "phone", "label": "电话", "validate": {"required": true},'
                ' "properties": {"format": "phone"}},'
                '{"type": "textfield", "key": "company_name", "label": "企业名称", "validate": {"required": true}},'
                '{"type": "textfield", "key": "licence_no", "label": "营业执照编号", "validate": {"required": true}},'
                '{"type": "number", "key": "monthly_quantity", "label": "发票数量"},'
                '{"type": "textfield", "key": "invoice_kind", "label": "发票种类"},'
                '{"type": "number", "key": "employee_count", "label": "职工人数"}]}')


def _bundle_matter(services, code: str, members: list, on_refusal: str = "stop") -> None:
    from engine.definitions.catalogue import upsert_matter

    with services.sessions() as session:
        upsert_matter(session, {"code": code, "name": f"测试一件事{code[-4:]}", "department": "front_desk",
                                "promised_days": 3, "legal_days": 10,
                                "bundle": {"on_refusal": on_refusal, "members": members}})
        session.commit()


def test_a_refusal_withdraws_the_running_members_of_a_stopping_bundle(api, services, new_user, resident,
                                                                      applicant_for):
    code = f"stop_bundle_{next(_codes)}"
    _bundle_matter(services, code, [{"matter": "invoice_application"}, {"matter": "social_insurance_registration"}])
    deployed = api.post("/api/definitions", new_user("analyst"), json={"matter": code, "files": {
        "stop.bpmn": PARALLEL_STOP_BPMN.format(code=code, first="invoice_application",
                                               second="social_insurance_registration"),
        "form.json": COMPANY_FORM}})
    assert deployed.status_code == 201, deployed.get_json()
    id_number = resident(46)
    applicant = applicant_for(id_number)
    reply = api.post(f"/api/bundles/{code}/applications", applicant, json={"data": {
        "id_number": id_number, "phone": "13800138000", "company_name": "海口椰风科技有限公司",
        "licence_no": "琼市监登字〔2026〕第000009号", "invoice_kind": "ordinary", "monthly_quantity": 10,
        "employee_count": 3}})
    assert reply.status_code == 202, reply.get_json()
    body = reply.get_json()
    members = member_rows(services, body["tracking_no"])
    social_task = next(t["id"] for t in api.get("/api/tasks", "clerk_social").get_json()
                       if t["application_id"] == members["social_insurance_registration"].id)
    complete_task(api, services, "clerk_tax", members["invoice_application"].id,
                  {"outcome": "reject", "comment": "经营场所核查不符"})
    body = status(api, applicant, body["reference"])
    assert states(body) == {"invoice_application": "refused", "social_insurance_registration": "withdrawn"}
    assert (body["status"], body["outcome"]) == ("completed", "reject")
    withdrawn = next(m for m in body["members"] if m["matter"] == "social_insurance_registration")
    assert "发票申领" in withdrawn["reasons"][0]
    assert social_task not in [t["id"] for t in api.get("/api/tasks", "clerk_social").get_json()]  # left the queue
    late = api.post(f"/api/tasks/{social_task}/complete", "clerk_social", json={"outcome": "approve"})
    assert late.status_code in (404, 409)


@pytest.mark.parametrize("members, bpmn_members, says", [
    ([{"matter": "invoice_application"}], ("invoice_application", "seal_engraving"), "is not a member of the bundle"),
    ([{"matter": "invoice_application"}, {"matter": "seal_engraving"}, {"matter": "deed_tax"}],
     ("invoice_application", "seal_engraving"), "no member step"),
    ([{"matter": "invoice_application", "fields": {"licence_no": "no_such_field"}}, {"matter": "seal_engraving"}],
     ("invoice_application", "seal_engraving"), "is not a field of the bundle's form"),
    ([{"matter": "invoice_application", "fields": {"licence_no": {"result": "nobody.licence_no"}}},
      {"matter": "seal_engraving"}], ("invoice_application", "seal_engraving"), "is not another member"),
    ([{"matter": "invoice_application"}, {"matter": "no_such_matter"}], ("invoice_application", "no_such_matter"),
     "deploy it first"),
])
def test_a_bundle_that_cannot_run_is_refused_at_deploy(api, services, new_user, members, bpmn_members, says):
    code = f"bad_bundle_{next(_codes)}"
    _bundle_matter(services, code, members)
    first, second = bpmn_members
    reply = api.post("/api/definitions", new_user("analyst"), json={"matter": code, "files": {
        "b.bpmn": PARALLEL_STOP_BPMN.format(code=code, first=first, second=second), "form.json": COMPANY_FORM}})
    assert reply.status_code == 400, reply.get_json()
    assert any(says in p["reason"] for p in reply.get_json()["problems"]), reply.get_json()


def test_a_matter_still_needs_its_rule_set(api, new_user):
    reply = api.post("/api/definitions", new_user("analyst"), json={"matter": "senior_card", "files": {
        "senior_card.bpmn": (REPO_ROOT / "processes" / "senior_card.bpmn").read_text(encoding="utf-8"),
        "form.json": (REPO_ROOT / "forms" / "senior_card.form.json").read_text(encoding="utf-8")}})
    assert reply.status_code == 400
    assert any("needs a rule set" in p["reason"] for p in reply.get_json()["problems"])


def test_a_refused_licence_leaves_the_rest_unstarted_and_nothing_to_hand_out(api, services, resident, applicant_for):
    id_number = resident(50)
    applicant = applicant_for(id_number)
    body = api.post(STARTUP, applicant, json={"data": startup_form(id_number)}).get_json()
    registration = member_rows(services, body["tracking_no"])["company_registration"]
    complete_task(api, services, "clerk_market", registration.id, {"outcome": "reject", "comment": "企业名称与已登记企业重名"})
    body = status(api, applicant, body["reference"])
    assert (body["status"], body["outcome"]) == ("completed", "reject")
    assert states(body) == {"company_registration": "refused", **{m: "not_started" for m in MEMBERS[1:]}}
    seal = next(m for m in body["members"] if m["matter"] == "seal_engraving")
    assert seal["reasons"] == ["所需的企业设立登记结果未取得，无法办理"]
    assert departments_of(services, _id_of(services, body["tracking_no"])) == set()  # no 一窗出件 of nothing


def test_the_cart_asks_each_matters_own_situation_questions(api, resident, applicant_for, company):
    applicant = applicant_for(company())  # 公共场所卫生许可 is a company's matter
    reply = api.post("/api/cart/materials", applicant, json={"matters": ["hygiene_licence"], "answers": {
        "hygiene_licence": {"central_ac": "yes", "new_venue": "no", "commitment": "no"}}})
    assert reply.status_code == 200, reply.get_json()
    (listed,) = reply.get_json()
    names = [m["name"] for m in listed["materials"]]
    assert "集中空调通风系统卫生检测或评价报告" in names and "场所平面布局图" not in names
    reply = api.post("/api/cart/materials", applicant, json={"matters": ["hygiene_licence"], "answers": {
        "hygiene_licence": {"central_ac": "maybe"}, "senior_card": {}}})
    assert reply.status_code == 422
    assert set(reply.get_json()["errors"]) == {"hygiene_licence.central_ac", "hygiene_licence.new_venue",
                                               "hygiene_licence.commitment", "senior_card"}
