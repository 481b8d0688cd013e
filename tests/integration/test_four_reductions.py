"""四减 on the shipped matters: one matter's and one bundle's figures against values worked
out by hand from the catalogue, the BPMN and the cases this test makes in March 2026 (the
report measures the applications submitted in a period, so nothing else counts)."""
from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import datetime

import pytest

from api import create_app
from tests.integration.helpers import BEIJING, ApiClient, MovableClock, demo_name
from tests.integration.test_bundles import housing_form
from tests.integration.test_member_matters import OWN_FLAT

MARCH = {"since": "2026-03-01T00:00:00+08:00", "until": "2026-04-01T00:00:00+08:00"}


class HeldQueue:
    """Work handed over waits here until the test advances it on the moved clock."""

    def __init__(self) -> None:
        self.sent: list[int] = []

    def enqueue_advance(self, application_id: int) -> None:
        self.sent.append(application_id)


@pytest.fixture
def march(services):
    clock = MovableClock(datetime(2026, 3, 2, 10, 0, tzinfo=BEIJING))  # Monday
    held = HeldQueue()
    timed = replace(services, clock=clock, queue=held)

    def work() -> None:
        while held.sent:
            timed.work.advance(held.sent.pop(0))
    return ApiClient(create_app(timed)), clock, work


def approve(client, clerk: str, application_id: int) -> None:
    task = next(t for t in client.get("/api/tasks", clerk).get_json() if t["application_id"] == application_id)
    reply = client.post(f"/api/tasks/{task['id']}/complete", clerk, json={"outcome": "approve", "comment": "核准"})
    assert reply.status_code == 200, reply.get_json()


def test_four_reductions_of_a_matter_and_a_bundle(march, resident, applicant_for, people):
    client, clock, work = march
    seller = people["landlord"]
    transfers = []
    for _ in range(2):  # two transfers applied for alone, Monday 2 March
        buyer = resident(40)
        reply = client.post("/api/applications", applicant_for(buyer), json={"matter": "property_transfer", "data": {
            "id_number": buyer, "phone": "13800138000", "property_cert_no": OWN_FLAT, "transaction_price": 1500000,
            "seller_name": demo_name(seller), "seller_id_number": seller}})
        assert reply.status_code == 202, reply.get_json()
        transfers.append(reply.get_json()["id"])
    buyer = resident(41)  # and one bundle: tax (instant), transfer, water (instant), delivery
    applicant = applicant_for(buyer)
    reply = client.post("/api/bundles/property_transfer_bundle/applications", applicant,
                        json={"data": housing_form(buyer, seller, transfer_gas="no")})
    assert reply.status_code == 202, reply.get_json()
    bundle = reply.get_json()
    member = next(m for m in bundle["members"] if m["matter"] == "property_transfer")
    bundle_id = client.get(f"/api/applications/{bundle['reference']}", applicant).get_json()["id"]
    clock.set(2026, 3, 3, 11, 0)  # Tuesday: the bundle's transfer (1 working day)
    with_ids = {a["tracking_no"]: a["id"] for a in client.get("/api/applications", applicant).get_json()}
    approve(client, "clerk_estate", with_ids[member["tracking_no"]])
    work()
    clock.set(2026, 3, 4, 9, 30)  # Wednesday: the first transfer (2 working days), the bundle handed out
    approve(client, "clerk_estate", transfers[0])
    delivery = next(t for t in client.get("/api/tasks", "clerk_window").get_json() if t["application_id"] == bundle_id)
    reply = client.post(f"/api/tasks/{delivery['id']}/complete", "clerk_window",
                        json={"method": "pickup", "collected_by": "买受人本人"})
    assert reply.status_code == 200, reply.get_json()
    work()
    clock.set(2026, 3, 9, 15, 0)  # next Monday: the second transfer (5 working days)
    approve(client, "clerk_estate", transfers[1])
    work()
    assert client.get(f"/api/applications/{bundle['reference']}/bundle", applicant).get_json()["outcome"] == "approve"

    reply = client.get("/api/reports/four-reductions", "supervisor", query_string={"matter": "property_transfer", **MARCH})
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json() == [{
        "matter": "property_transfer", "name": "二手房转移登记", "kind": "matter", "finished": 3,
        "baseline_days": 15, "legal_days": 30, "promised_days": 1,
        "average_days": 2.67, "p90_days": 5,  # 1, 2 and 5 working days
        "baseline_steps": 4, "steps": 1, "average_steps": 1.0,  # the registry's review
        "baseline_materials": 8, "materials": 4, "average_materials": 1.0,  # the contract; the rest is shared
        "baseline_trips": 3, "trips": 1, "average_trips": 0.0}]
    bundle_figures = client.get("/api/reports/four-reductions", "analyst",
                                query_string={"matter": "property_transfer_bundle", **MARCH}).get_json()
    assert bundle_figures == [{
        "matter": "property_transfer_bundle", "name": "二手房转移登记一窗联办", "kind": "bundle", "finished": 1,
        "baseline_days": 35, "legal_days": 30, "promised_days": 5,
        "average_days": 2.0, "p90_days": 2,  # Monday to Wednesday's delivery
        "baseline_steps": 10, "steps": 6, "average_steps": 2.0,  # 5 members' reviews + delivery; done: transfer, delivery
        "baseline_materials": 18, "materials": 8, "average_materials": 1.0,  # one contract, handed in once
        "baseline_trips": 6, "trips": 0, "average_trips": 1.0}]  # online; this buyer picked the results up
    csv_reply = client.get("/api/reports/four-reductions.csv", "supervisor",
                           query_string={"matter": "property_transfer", **MARCH})
    assert csv_reply.status_code == 200 and csv_reply.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(csv_reply.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0]["事项编码"] == "property_transfer" and rows[0]["实测平均用时（工作日）"] == "2.67"
    assert rows[0]["类型（事项/一件事）"] == "事项"  # headings and words a spreadsheet's reader reads
    assert client.get("/api/reports/four-reductions", "clerk_estate").status_code == 403
